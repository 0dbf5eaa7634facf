"""Which database a test run uses, and the rules that keep it away from real data."""

from __future__ import annotations

import os
from pathlib import Path

from dotenv import dotenv_values
from sqlalchemy.engine import URL, make_url

from sessionary.core.db import check_database_url


class UnsafeTestDatabase(Exception):
    """The configured test database could be someone's real data."""


def operator_database_url(env_file: Path = Path(".env")) -> str | None:
    """SESSIONARY_DATABASE_URL as the operator set it: environment first, then ``.env``."""
    if url := os.environ.get("SESSIONARY_DATABASE_URL"):
        return url
    if env_file.is_file():
        value = dotenv_values(env_file).get("SESSIONARY_DATABASE_URL")
        return value or None
    return None


def database_name(url: URL) -> str:
    if url.get_backend_name() == "sqlite":
        return Path(url.database or "").name
    return url.database or ""


def check_safe(test_url: str, operator_url: str | None) -> None:
    """Refuse an unnamed database, the operator's, and any whose name lacks "test"."""
    check_database_url(test_url)
    parsed = make_url(test_url)
    if not database_name(parsed):
        raise UnsafeTestDatabase(
            f"the test database URL {parsed.render_as_string(hide_password=True)} names no "
            "database; name one that contains 'test' (…/myapp_test)"
        )
    if operator_url and _same_database(parsed, operator_url):
        raise UnsafeTestDatabase(
            f"the test database {parsed.render_as_string(hide_password=True)} is "
            "SESSIONARY_DATABASE_URL, the operator's database; set a separate "
            "SESSIONARY_TEST_DATABASE_URL or --db-url"
        )
    if "test" not in database_name(parsed).lower():
        raise UnsafeTestDatabase(
            f"refusing test database {database_name(parsed)!r}: its name must contain 'test'"
        )


def _same_database(test: URL, operator_url: str) -> bool:
    try:
        operator = make_url(operator_url)
    except Exception:
        return False
    if test.get_backend_name() != operator.get_backend_name():
        return False
    if test.get_backend_name() == "sqlite":
        return Path(test.database or "").resolve() == Path(operator.database or "").resolve()
    return (_host(test.host), test.port or 5432, test.database) == (
        _host(operator.host),
        operator.port or 5432,
        operator.database,
    )


_LOOPBACK = {"", "localhost", "127.0.0.1", "::1", "[::1]"}


def _host(host: str | None) -> str:
    """Loopback spelled any way is one server."""
    return "localhost" if (host or "") in _LOOPBACK else (host or "").lower()


def worker_url(base_url: str, worker_id: str | None) -> str:
    """One database per xdist worker: ``<name>_gw0``… (the base name without xdist)."""
    if worker_id is None:
        return base_url
    url = make_url(base_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        url = url.set(database=str(path.with_name(f"{path.stem}_{worker_id}{path.suffix}")))
    else:
        url = url.set(database=f"{url.database}_{worker_id}")
    return url.render_as_string(hide_password=False)
