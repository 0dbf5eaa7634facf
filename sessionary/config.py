"""Typed settings (env prefix ``SESSIONARY_``, optional ``.env``).

No instance is made at import time: ``install(app, settings)`` (and so
``create_app(settings)``) stores one in the app's runtime (``app.state.sessionary``) and
everything reads it from there, so tests can swap it.
"""

from __future__ import annotations

import json
from enum import StrEnum
from functools import cached_property
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./sessionary.db"


class LogFormat(StrEnum):
    CONSOLE = "console"
    JSON = "json"


def _split_list(value: Any) -> Any:
    """Accept a comma-separated string or a JSON list for list settings."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [item.strip() for item in text.split(",") if item.strip()]
    return value


StrList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SESSIONARY_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
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

    log_level: str = "INFO"
    log_format: LogFormat = LogFormat.CONSOLE

    @field_validator("trusted_origins", "trusted_proxies", "cors_origins", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("redis_url", "migrations", mode="before")
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

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
