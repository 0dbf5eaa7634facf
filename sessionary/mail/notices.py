"""Security notices (ASVS V2.2.3): a mail telling a user that something changed on their
account, so that a change they did not make does not go unnoticed.

Each notice has its switch in the settings (``SESSIONARY_NOTIFY_<NOTICE>``, on by default)
and its template of the same name; like every mail it goes only if the unit's transaction
commits.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sessionary import clock
from sessionary.config import Settings
from sessionary.mail.service import MailUnit


class Notice(StrEnum):
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - a template name, not a secret
    EMAIL_CHANGED = "email_changed"  # to the old address
    API_KEY_CREATED = "api_key_created"
    NEW_DEVICE = "new_device"  # a login from a browser not seen before


def notice_enabled(settings: Settings, notice: Notice) -> bool:
    enabled: bool = getattr(settings, f"notify_{notice.value}")
    return enabled


def send_notice(ctx: MailUnit, notice: Notice, *, to: str, username: str, **details: Any) -> None:
    """Mail ``notice`` to ``to`` after the commit, unless its setting turns it off."""
    if not notice_enabled(ctx.settings, notice):
        return
    context = {"username": username, "when": f"{clock.now():%Y-%m-%d %H:%M} UTC", **details}
    ctx.mail.schedule(ctx.db, ctx.mail.compose(ctx.settings, notice.value, to=to, context=context))
