"""Typed settings (env prefix ``SESSIONARY_``, optional ``.env``).

No instance is made at import time: ``install(app, settings)`` (and so
``create_app(settings)``) stores one in the app's runtime (``app.state.sessionary``) and
everything reads it from there, so tests can swap it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from email.utils import parseaddr
from enum import StrEnum
from functools import cached_property
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Annotated, Any
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./sessionary.db"


class LogFormat(StrEnum):
    CONSOLE = "console"
    JSON = "json"


class MailBackend(StrEnum):
    CONSOLE = "console"
    SMTP = "smtp"
    MEMORY = "memory"


class SMTPSecurity(StrEnum):
    """How the SMTP connection is protected: ``smtps://`` is TLS from the first byte;
    ``smtp://`` upgrades with STARTTLS when ``?starttls=true``, never with ``false``, and
    when the server offers it otherwise."""

    TLS = "tls"
    STARTTLS = "starttls"
    OPPORTUNISTIC = "opportunistic"
    NONE = "none"


_SMTP_PORTS = {"smtp": 25, "smtps": 465}
_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


@dataclass(frozen=True)
class SMTPServer:
    """``SESSIONARY_SMTP_URL`` read: where and how to send (the password never in a repr)."""

    host: str
    port: int
    security: SMTPSecurity
    username: str | None = None
    password: SecretStr | None = field(default=None, repr=False)


def parse_smtp_url(url: str) -> SMTPServer:
    """``smtp://user:pass@host:587?starttls=true`` or ``smtps://host``; ValueError otherwise.

    The messages never quote the URL: it may hold a password.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in _SMTP_PORTS:
        raise ValueError("must start with smtp:// or smtps://")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise ValueError("the port must be a number from 1 to 65535") from None
    if not host:
        raise ValueError("names no host (smtp://host:587)")
    query = parse_qs(parts.query, keep_blank_values=True)
    if unknown := set(query) - {"starttls"}:
        raise ValueError(f"unknown option(s) {', '.join(sorted(unknown))}; only starttls")
    security = SMTPSecurity.TLS if parts.scheme == "smtps" else SMTPSecurity.OPPORTUNISTIC
    if "starttls" in query:
        choice = _BOOLEANS.get(query["starttls"][-1].lower())
        if choice is None:
            raise ValueError("starttls must be true or false")
        if parts.scheme == "smtps":
            raise ValueError("starttls applies to smtp:// (smtps:// is TLS from the start)")
        security = SMTPSecurity.STARTTLS if choice else SMTPSecurity.NONE
    return SMTPServer(
        host=host,
        port=port or _SMTP_PORTS[parts.scheme],
        security=security,
        username=unquote(parts.username) if parts.username else None,
        password=SecretStr(unquote(parts.password)) if parts.password else None,
    )


def _split_list(value: Any) -> Any:
    """Accept a comma-separated string or a JSON list for list settings."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [item.strip() for item in text.split(",") if item.strip()]
    return value


StrList = Annotated[list[str], NoDecode]
# A page's path on SESSIONARY_PUBLIC_URL; a link adds ``?token=…``.
_LINK_PATH = r"^/[A-Za-z0-9/._~-]*$"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SESSIONARY_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        # A value may be a secret (a database or SMTP URL with a password): errors name the
        # setting and the rule, never the value.
        hide_input_in_errors=True,
    )

    database_url: str = DEFAULT_DATABASE_URL
    # An app's Alembic migrations (a directory, package:dir or an alembic.ini), run with
    # Sessionary's own by `sessionary db`; see sessionary.migrations.
    migrations: str | None = None
    # Throttle counters live here when set (shared by every worker and instance).
    redis_url: str | None = None
    redis_key_prefix: str = "sessionary:"
    # Per pool: on PostgreSQL the hot path holds as many asyncpg connections again
    # (core/pg_connections.py).
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=0, ge=0, le=200)
    db_pool_timeout: float = Field(default=10.0, gt=0)
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)

    session_cookie_name: str = Field(default="session_cookie", pattern=r"^[A-Za-z0-9_\-]+$")
    session_cookie_secure: bool = True
    session_idle_timeout: int = Field(default=3600, ge=60)
    session_absolute_timeout: int = Field(default=86400, ge=60)
    reauth_window: int = Field(default=900, ge=0)
    max_sessions_per_user: int = Field(default=100, ge=1)

    # Brute-force throttling: failed logins per (account, client) and per client.
    login_failures_per_account: int = Field(default=10, ge=1)
    login_failures_per_client: int = Field(default=100, ge=1)
    login_failure_window: int = Field(default=900, ge=1)
    # A remembered login device (its own throttle bucket) expires unused for this long.
    login_device_ttl: int = Field(default=30 * 86400, ge=60)
    # Sign-ups per client (each one can confirm that a username or email is taken).
    registrations_per_client: int = Field(default=20, ge=1)
    registration_window: int = Field(default=3600, ge=1)
    # Requests that mail a token (password reset, verification resend), per address and per
    # client: each one can put a mail in someone's inbox.
    mail_requests_per_address: int = Field(default=5, ge=1)
    mail_requests_per_client: int = Field(default=50, ge=1)
    mail_request_window: int = Field(default=3600, ge=1)

    # Request size limits (413 / 431).
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_header_bytes: int = Field(default=8 * 1024, ge=1024)

    # Strict-Transport-Security max-age in seconds; off unless set (only behind HTTPS: a
    # browser then refuses plain HTTP to this host for that long).
    hsts: int | None = Field(default=None, ge=0)
    hsts_include_subdomains: bool = False

    trusted_origins: StrList = Field(default_factory=list)
    trusted_proxies: StrList = Field(default_factory=list)
    cors_origins: StrList = Field(default_factory=list)
    allow_registration: bool = False

    # argon2id at OWASP's minimum by default; operators may raise these.
    password_memory_cost: int = Field(default=19_456, ge=19_456)
    password_time_cost: int = Field(default=2, ge=2)
    password_parallelism: int = Field(default=1, ge=1)
    password_hash_threads: int = Field(default=2, ge=1, le=32)

    # Mail (sessionary.mail, docs/email.md). Links in mail are public_url + a path.
    mail_backend: MailBackend = MailBackend.CONSOLE
    mail_from: str = "Sessionary <no-reply@localhost>"
    smtp_url: SecretStr | None = None
    smtp_timeout: float = Field(default=10.0, gt=0, le=300)
    public_url: str = "http://localhost:8000"
    # Directories (or package:directory) searched for mail templates before Sessionary's own.
    mail_templates: StrList = Field(default_factory=list)

    # Account recovery and verification (docs/security.md): how long a mailed link works, and
    # the path of the page (on public_url) that receives its token.
    password_reset_ttl: int = Field(default=1800, ge=60, le=7 * 86400)
    password_reset_path: str = Field(default="/reset-password", pattern=_LINK_PATH)
    email_verification_ttl: int = Field(default=86400, ge=60, le=30 * 86400)
    email_verification_path: str = Field(default="/verify-email", pattern=_LINK_PATH)
    # Login refuses a right password while the account's address is unverified.
    require_verified_email: bool = False
    # Security notices (ASVS V2.2.3), each mailed to the account's address.
    notify_password_changed: bool = True
    notify_email_changed: bool = True
    notify_api_key_created: bool = True
    notify_new_device: bool = True

    log_level: str = "INFO"
    log_format: LogFormat = LogFormat.CONSOLE

    @field_validator(
        "trusted_origins", "trusted_proxies", "cors_origins", "mail_templates", mode="before"
    )
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("redis_url", "migrations", "smtp_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return value or None

    @field_validator("trusted_origins", "cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        return [origin.rstrip("/").lower() for origin in value]

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: list[str]) -> list[str]:
        for item in value:
            ip_network(item, strict=False)  # raises ValueError with a clear message
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_smtp_url(value.get_secret_value())
        return value

    @field_validator("mail_from")
    @classmethod
    def _mail_from(cls, value: str) -> str:
        _, address = parseaddr(value)
        if "@" not in address or any(char in value for char in "\r\n"):
            raise ValueError("must be an address, like 'Example <no-reply@example.com>'")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an http(s) URL, like https://app.example.com")
        if parts.query or parts.fragment:
            raise ValueError("must have no query or fragment (links add their own)")
        return value.strip().rstrip("/")

    @model_validator(mode="after")
    def _smtp_needs_server_and_sender(self) -> Settings:
        if self.mail_backend is MailBackend.SMTP:
            if self.smtp_url is None:
                raise ValueError("SESSIONARY_MAIL_BACKEND=smtp needs SESSIONARY_SMTP_URL")
            if "mail_from" not in self.model_fields_set:
                raise ValueError("SESSIONARY_MAIL_BACKEND=smtp needs SESSIONARY_MAIL_FROM")
        return self

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @cached_property
    def trusted_proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return tuple(ip_network(item, strict=False) for item in self.trusted_proxies)

    @cached_property
    def smtp_server(self) -> SMTPServer | None:
        url = self.smtp_url
        return None if url is None else parse_smtp_url(url.get_secret_value())

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
