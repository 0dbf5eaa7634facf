"""``sessionary.errors.database_error``: what a database failure tells the client.

503 ("try again later") only for a database that is locked, unreachable or out of pooled
connections; a value the database or its driver refused is the client's own mistake (422);
a constraint is 409. Then the drivers for real: a value past what SQLite or asyncpg can bind
arrives as a ``DBAPIError`` that maps to 422, through the engine and the hot path alike.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from asyncpg.exceptions._base import DataError as AsyncpgClientDataError
from sqlalchemy import select
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from sessionary.errors import database_error
from sessionary.testing import SyncDB
from sessionary.users.models import User


class _PostgresError(Exception):
    """What asyncpg (and SQLAlchemy's adapter of it) raise: the SQLSTATE on ``sqlstate``."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"SQLSTATE {sqlstate}")
        self.sqlstate = sqlstate


def _adapted(cause: BaseException) -> Exception:
    # SQLAlchemy's asyncpg adapter raises its own error "from" asyncpg's.
    adapter_error = Exception("adapter error")
    adapter_error.__cause__ = cause
    return adapter_error


def _no_active_connection() -> Exception:
    # aiosqlite's "no active connection", which SQLAlchemy's adapter turns into an
    # OperationalError raised from the ValueError.
    return _adapted(ValueError("no active connection"))


CLIENT_DATA = [
    pytest.param(DataError("SELECT", {}, Exception("x")), id="dbapi-data-error"),
    pytest.param(DBAPIError("SELECT", {}, _PostgresError("22021")), id="pg-nul-in-text"),
    pytest.param(DBAPIError("SELECT", {}, _PostgresError("22003")), id="pg-numeric-range"),
    pytest.param(DBAPIError("SELECT", {}, _PostgresError("22P02")), id="pg-invalid-text"),
    pytest.param(DBAPIError("SELECT", {}, _PostgresError("22008")), id="pg-datetime-overflow"),
    pytest.param(
        InterfaceError("SELECT", {}, _adapted(AsyncpgClientDataError("out of int32 range"))),
        id="asyncpg-cannot-encode",
    ),
    pytest.param(
        DBAPIError("SELECT", {}, AsyncpgClientDataError("out of int32 range")),
        id="asyncpg-cannot-encode-hot-path",
    ),
    pytest.param(
        DataError("SELECT", {"title": "database is locked"}, OverflowError("too large")),
        id="client-words-saying-locked",
    ),
]
TROUBLE = [
    pytest.param(OperationalError("SELECT", {}, Exception("server closed")), id="operational"),
    pytest.param(InterfaceError("SELECT", {}, Exception("connection closed")), id="interface"),
    pytest.param(
        DBAPIError("SELECT", {}, Exception("lost"), connection_invalidated=True), id="invalidated"
    ),
    pytest.param(PoolTimeoutError("QueuePool limit reached"), id="pool-timeout"),
    pytest.param(
        OperationalError("COMMIT", {}, sqlite3.OperationalError("database is locked")),
        id="sqlite-locked",
    ),
    pytest.param(
        OperationalError("SELECT", {}, _no_active_connection()), id="aiosqlite-no-connection"
    ),
    pytest.param(DBAPIError("SELECT", {}, _PostgresError("57P01")), id="pg-admin-shutdown"),
    pytest.param(DBAPIError("SELECT", {}, _PostgresError("53300")), id="pg-too-many-clients"),
]


@pytest.mark.no_db
class TestTheMapping:
    @pytest.mark.parametrize("error", CLIENT_DATA)
    def test_a_value_the_database_refused_is_422(self, error: DBAPIError) -> None:
        assert database_error(error).status_code == 422

    @pytest.mark.parametrize(
        "error",
        [
            pytest.param(IntegrityError("INSERT", {}, Exception("dup")), id="integrity"),
            pytest.param(DBAPIError("INSERT", {}, _PostgresError("23505")), id="pg-unique"),
        ],
    )
    def test_a_constraint_is_409(self, error: DBAPIError) -> None:
        assert database_error(error).status_code == 409

    @pytest.mark.parametrize("error", TROUBLE)
    def test_a_database_in_trouble_is_503_with_retry_after(
        self, error: DBAPIError | PoolTimeoutError
    ) -> None:
        mapped = database_error(error)

        assert mapped.status_code == 503
        assert int(mapped.headers["Retry-After"]) >= 1


def _refused(db: SyncDB, statement: Any) -> DBAPIError | None:
    try:
        db.execute(statement)
    except DBAPIError as exc:
        return exc
    return None


class TestValuesTheDriversCannotBind:
    """Through the engine, on the run's database (SQLite: OverflowError or UnicodeEncodeError;
    asyncpg: its own DataError) — both arrive as a DBAPIError that is 422."""

    @pytest.mark.parametrize("value", [2**63, 2**64], ids=["2**63", "2**64"])
    def test_an_integer_past_64_bits(self, db: SyncDB, value: int) -> None:
        refused = _refused(db, select(User.id).where(User.id == value))

        assert refused is not None
        assert database_error(refused).status_code == 422

    def test_a_lone_surrogate_in_text(self, db: SyncDB) -> None:
        # Text no encoding carries (sqlite3: UnicodeEncodeError; asyncpg: its DataError).
        refused = _refused(db, select(User.id).where(User.username == "a\ud800"))

        assert refused is not None
        assert database_error(refused).status_code == 422

    def test_nul_in_text_is_422_where_the_database_refuses_it(self, db: SyncDB) -> None:
        # PostgreSQL refuses it (SQLSTATE 22021); SQLite stores it — the schemas stop it first.
        refused = _refused(db, select(User.id).where(User.username == "a\x00b"))

        if refused is not None:
            assert isinstance(refused.orig, Exception)
            assert database_error(refused).status_code == 422
