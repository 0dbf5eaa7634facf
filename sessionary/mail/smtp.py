"""The ``smtp`` backend: aiosmtplib, one connection per message.

TLS from the first byte (``smtps://``), STARTTLS required (``?starttls=true``), never
(``false``) or when offered (unset); a login when the URL names a user. Every wait is
bounded by ``SESSIONARY_SMTP_TIMEOUT``. Any failure becomes :class:`DeliveryFailed` with a
one-line reason (no message content, no password); a 5xx answer is permanent.
"""

from __future__ import annotations

import ssl
from email.message import EmailMessage

import aiosmtplib

from sessionary.config import SMTPSecurity, SMTPServer
from sessionary.mail.mailers import DeliveryFailed

# aiosmtplib's start_tls: True requires it, False never, None when the server offers it.
_START_TLS: dict[SMTPSecurity, bool | None] = {
    SMTPSecurity.TLS: False,
    SMTPSecurity.STARTTLS: True,
    SMTPSecurity.NONE: False,
    SMTPSecurity.OPPORTUNISTIC: None,
}


class SMTPMailer:
    """Sends through one SMTP server; ``tls_context`` replaces the system's trust store
    (tests, a private CA; ``SSL_CERT_FILE`` does the same for the default context)."""

    def __init__(
        self, server: SMTPServer, *, timeout: float, tls_context: ssl.SSLContext | None = None
    ) -> None:
        self.server = server
        self.timeout = timeout
        self.tls_context = tls_context

    async def send(self, message: EmailMessage) -> None:
        server = self.server
        try:
            await aiosmtplib.send(
                message,
                hostname=server.host,
                port=server.port,
                username=server.username,
                password=server.password.get_secret_value() if server.password else None,
                use_tls=server.security is SMTPSecurity.TLS,
                start_tls=_START_TLS[server.security],
                tls_context=self.tls_context,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPTimeoutError:
            raise DeliveryFailed(
                f"{server.host}:{server.port} did not answer within {self.timeout:g} s"
            ) from None
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refusal.code for refusal in exc.recipients]
            reasons = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
            raise DeliveryFailed(
                f"{server.host} refused the recipient: {reasons}",
                permanent=all(code >= 500 for code in codes),
            ) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryFailed(
                f"{server.host} answered {exc.code} {exc.message}", permanent=exc.code >= 500
            ) from None
        except aiosmtplib.SMTPNotSupported as exc:
            # The server lacks what the message needs (SMTPUTF8 for a non-ASCII local part):
            # asking again cannot help.
            raise DeliveryFailed(
                f"cannot send through {server.host}:{server.port}: {_first_line(exc)}",
                permanent=True,
            ) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(
                f"cannot send through {server.host}:{server.port}: {_first_line(exc)}"
            ) from None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
