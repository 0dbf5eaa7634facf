"""Building a message: headers, a plain-text part and its HTML alternative, and links.

Every message is a standard library :class:`~email.message.EmailMessage` made once, so
each backend handles the same bytes (the memory backend holds what SMTP would carry).
"""

from __future__ import annotations

from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any
from urllib.parse import urlencode

from email_validator import EmailNotValidError, validate_email

from sessionary import clock
from sessionary.config import Settings
from sessionary.mail.templates import MailTemplates


def link(settings: Settings, path: str, token: str) -> str:
    """``SESSIONARY_PUBLIC_URL`` + ``path``, the token as its ``token`` query parameter."""
    if not path.startswith("/") or "?" in path or "#" in path:
        raise ValueError(f"link path {path!r}: use a path like '/reset-password'")
    return f"{settings.public_url}{path}?{urlencode({'token': token})}"


def compose(
    templates: MailTemplates,
    settings: Settings,
    template: str,
    *,
    to: str,
    context: Mapping[str, Any] | None = None,
) -> EmailMessage:
    """The mail ``template`` for ``to``; templates also see ``to`` and ``public_url``."""
    rendered = templates.render(
        template, {"to": to, "public_url": settings.public_url, **(context or {})}
    )
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = deliverable_address(to)
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(clock.now())
    # The sender's domain, not socket.getfqdn(): that may wait on DNS, and names this host.
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2]
    message["Message-ID"] = make_msgid(domain=domain)
    # RFC 3834: no vacation replies or auto-forwards back to a no-reply address.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


def deliverable_address(address: str) -> str:
    """``address`` with an internationalised domain in its ASCII (IDNA) form, so that any SMTP
    server takes it; a non-ASCII local part stays as it is and needs a server that offers
    SMTPUTF8 (else the delivery fails, permanently)."""
    if address.isascii():
        return address
    try:
        checked = validate_email(address, check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        return address  # not ours to refuse here: the server will say
    return checked.ascii_email or address


def text_of(message: EmailMessage) -> str:
    """The plain-text part."""
    return _part(message, "plain")


def html_of(message: EmailMessage) -> str:
    """The HTML part."""
    return _part(message, "html")


def _part(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_subtype() != subtype:
        raise LookupError(f"the message has no text/{subtype} part")
    content: str = part.get_content()
    return content
