"""Mailing a single-use link: ``SESSIONARY_PUBLIC_URL`` + a page's path + ``?token=…``."""

from __future__ import annotations

from typing import Any

from sessionary.mail.message import link
from sessionary.mail.service import MailUnit


def send_link(
    ctx: MailUnit, template: str, *, to: str, path: str, token: str, **context: Any
) -> None:
    """Mail ``template`` to ``to`` with ``link`` (to ``path``, carrying ``token``) in its
    context, after the unit's transaction commits."""
    message = ctx.mail.compose(
        ctx.settings,
        template,
        to=to,
        context={"link": link(ctx.settings, path, token), **context},
    )
    ctx.mail.schedule(ctx.db, message)
