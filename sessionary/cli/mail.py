"""``sessionary mail``: check the mail configuration."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from sessionary.cli._runtime import fail, load_settings
from sessionary.config import MailBackend
from sessionary.core.logging import configure_logging
from sessionary.errors import SessionaryError
from sessionary.mail.mailers import DeliveryFailed
from sessionary.mail.service import Mail
from sessionary.mail.templates import MailTemplatesNotFound
from sessionary.users.usernames import normalize_email

app = typer.Typer(help="Check the mail configuration.", no_args_is_help=True)


@app.command("test")
def send_test(address: Annotated[str, typer.Argument(help="Where to send it.")]) -> None:
    """Send the test message to ADDRESS through the configured backend (SESSIONARY_MAIL_*)."""
    settings = load_settings()
    configure_logging(settings)  # the console backend's message is a log line
    try:
        address = normalize_email(address)
        mail = Mail.from_settings(settings)
    except (SessionaryError, MailTemplatesNotFound) as exc:
        fail(str(exc))
    message = mail.compose(settings, "test", to=address)
    try:
        # Sent here and now, not through the outbox: the operator wants the failure.
        asyncio.run(mail.mailer.send(message))
    except DeliveryFailed as exc:
        fail(f"not sent: {exc}")
    where = {
        MailBackend.CONSOLE: "logged it (console backend)",
        MailBackend.MEMORY: "kept it in memory (memory backend: nothing leaves this process)",
        MailBackend.SMTP: "sent it through SESSIONARY_SMTP_URL",
    }[settings.mail_backend]
    typer.echo(f"test message to {address}: {where}")
