"""Hot queries: one read-only SELECT sent straight to the driver, outside any transaction.

The authenticated hot path is one indexed SELECT per request. Through an ``AsyncConnection``
it also costs a pool checkout, ``BEGIN``, ``ROLLBACK`` and a greenlet switch per step, and
through the ORM a statement compiled again on every request; here it costs the query alone:

* a :class:`HotQuery` is a SELECT with named ``bindparam``\\ s, built once at import. A reader
  compiles it once for its dialect — the driver's SQL, the positional order of its parameters
  and SQLAlchemy's own type processors — so rows come back as SQLAlchemy would give them
  (aware datetimes, booleans, decoded JSON), as named tuples.
* PostgreSQL (:class:`PostgresReader`): up to ``db_pool_size`` asyncpg connections of its
  own (:mod:`sessionary.core.pg_connections`); asyncpg prepares each statement once per
  connection and runs it without a transaction.
* SQLite (:class:`SQLiteReader`): one stdlib ``sqlite3`` connection in autocommit, refusing
  writes (``query_only``), called on the event loop. An indexed point read of a WAL database
  takes tens of microseconds and never waits for a writer: less than a hop to aiosqlite's
  worker thread and back.

Driver errors are raised as SQLAlchemy's, so ``sessionary.errors`` maps them like any other
(a locked file or an unreachable server is 503, a value the driver cannot bind 422). Only
:class:`sessionary.core.db.Database` uses this module, from
:meth:`~sessionary.core.db.Database.fetch` — the seam the test toolkit redirects to the
test's own connection.
"""

from __future__ import annotations

import json
import sqlite3
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncpg
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Select

from sessionary.core.pg_connections import ConnectionSet

# What sqlite3 raises, bare, for a value it cannot bind: an int past 64 bits, a string with a
# lone surrogate (no UTF-8 form). The engine (core/db.py) and the reader here make it a 422.
UNBINDABLE_SQLITE_VALUE = (OverflowError, UnicodeEncodeError)

Processor = Callable[[Any], Any]

# SQLAlchemy's name for asyncpg's statement cache option in a URL (``=0`` behind PgBouncer).
_STATEMENT_CACHE = "prepared_statement_cache_size"
_MEMORY = {"", ":memory:"}
_REQUIRED = object()
# A reader never waits long on the loop: WAL readers are not blocked by writers, and anything
# else (recovery after a crash) is answered 503 rather than stalling every request.
_READER_BUSY_TIMEOUT_MS = 100


@dataclass(frozen=True, eq=False)
class HotQuery:
    """A read-only SELECT with named bind parameters, built once and run on the driver."""

    statement: Select[*tuple[Any, ...]]
    name: str

    def __repr__(self) -> str:
        return f"HotQuery({self.name})"


@dataclass(frozen=True)
class CompiledQuery:
    """A :class:`HotQuery` for one dialect: SQL, parameter order and type processors."""

    sql: str
    # Per positional parameter: its name, the value written into the statement (a literal)
    # or _REQUIRED (a bindparam the caller fills), and SQLAlchemy's bind processor.
    parameters: tuple[tuple[str, Any, Processor | None], ...]
    # (column index, processor) for the columns SQLAlchemy converts (datetimes, JSON…).
    result_processors: tuple[tuple[int, Processor], ...]
    row: Callable[[Sequence[Any]], Any]

    @classmethod
    def of(cls, query: HotQuery, dialect: Dialect) -> CompiledQuery:
        compiled = query.statement.compile(dialect=dialect)
        names = tuple(compiled.positiontup or ())
        if "__[POSTCOMPILE" in compiled.string:
            raise ValueError(f"{query!r}: expanding (IN) parameters cannot be prebuilt")
        columns = list(query.statement.selected_columns)
        result_type = namedtuple(  # type: ignore[misc]
            f"{query.name}_row", [str(column.key) for column in columns], rename=True
        )
        return cls(
            sql=compiled.string,
            parameters=tuple(
                (
                    name,
                    _REQUIRED if bind.required else bind.effective_value,
                    bind.type.dialect_impl(dialect).bind_processor(dialect),
                )
                for name, bind in ((name, compiled.binds[name]) for name in names)
            ),
            result_processors=tuple(
                (index, process)
                for index, column in enumerate(columns)
                if (process := column.type.dialect_impl(dialect).result_processor(dialect, None))
            ),
            row=result_type._make,
        )

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        arguments = []
        for name, constant, process in self.parameters:
            value = params[name] if constant is _REQUIRED else constant
            arguments.append(value if process is None else process(value))
        return arguments

    def rows(self, records: Sequence[Sequence[Any]]) -> list[Any]:
        # A join repeats the session's and user's columns on every (role, permission) row:
        # convert each distinct value once (processors are pure functions of the value).
        last: dict[int, tuple[Any, Any]] = {}
        rows = []
        for record in records:
            values = list(record)
            for index, process in self.result_processors:
                raw = values[index]
                seen = last.get(index)
                if seen is not None and seen[0] == raw:
                    values[index] = seen[1]
                else:
                    values[index] = converted = process(raw)
                    last[index] = (raw, converted)
            rows.append(self.row(values))
        return rows


class HotReader(Protocol):
    async def fetch(self, query: HotQuery, params: Mapping[str, Any]) -> list[Any]: ...

    async def close(self) -> None: ...


@dataclass
class _Compiler:
    dialect: Dialect
    cache: dict[HotQuery, CompiledQuery] = field(default_factory=dict)

    def __call__(self, query: HotQuery) -> CompiledQuery:
        compiled = self.cache.get(query)
        if compiled is None:
            compiled = self.cache[query] = CompiledQuery.of(query, self.dialect)
        return compiled


class SQLiteReader:
    """One read-only autocommit ``sqlite3`` connection, used on the event loop that made it."""

    def __init__(self, path: str, dialect: Dialect) -> None:
        self._path = path
        self._compile = _Compiler(dialect)
        self._connection: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=True)
        try:
            connection.execute(f"PRAGMA busy_timeout={_READER_BUSY_TIMEOUT_MS}")
            # Only in WAL mode does a reader never wait for a writer. The engine's connections
            # set it too, but the file may come from elsewhere in rollback-journal mode.
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA query_only=ON")
        except BaseException:
            connection.close()
            raise
        return connection

    async def fetch(self, query: HotQuery, params: Mapping[str, Any]) -> list[Any]:
        compiled = self._compile(query)
        try:
            connection = self._connection or self._connect()
            self._connection = connection
            # fetchall() ends the statement, so no read snapshot outlives the call.
            records = connection.execute(compiled.sql, compiled.arguments(params)).fetchall()
        except UNBINDABLE_SQLITE_VALUE as exc:
            # An int past 64 bits, a lone surrogate: the client's value, as in the engine.
            raise DataError(compiled.sql, None, exc, hide_parameters=True) from exc
        except sqlite3.Error as exc:
            raise OperationalError(compiled.sql, None, exc) from exc
        return compiled.rows(records)

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


async def _decode_json(connection: asyncpg.Connection) -> None:
    # What SQLAlchemy's asyncpg dialect does on connect: JSON columns arrive decoded.
    for type_name in ("json", "jsonb"):
        await connection.set_type_codec(
            type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


# A lost connection (server restart, idle timeout) is noticed only when used: a hot read is
# an idempotent SELECT, so it is sent once more on another connection.
# (Not OSError: TimeoutError is one, and a pool timeout must not wait twice.)
_CONNECTION_LOST = (asyncpg.ConnectionDoesNotExistError, ConnectionError)


class PostgresReader:
    """Up to ``size`` asyncpg connections of its own for hot reads, beside the engine's pool."""

    def __init__(self, engine: AsyncEngine, size: int, acquire_timeout: float) -> None:
        dialect = engine.dialect
        _, options = dialect.create_connect_args(engine.url)
        options.pop("prepared_statement_name_func", None)  # SQLAlchemy's own; asyncpg refuses it
        if _STATEMENT_CACHE in options:
            options["statement_cache_size"] = int(options.pop(_STATEMENT_CACHE))
        self.options = {**options, "timeout": 5, "command_timeout": 30}
        self._compile = _Compiler(dialect)
        # Opened on first use, so a server can start (and answer /health/live) while the
        # database is still coming up.
        self.connections = ConnectionSet(self._connect, size=size, timeout=acquire_timeout)

    async def _connect(self) -> asyncpg.Connection:
        connection = await asyncpg.connect(**self.options)
        try:
            await _decode_json(connection)
        except BaseException:
            connection.terminate()
            raise
        return connection

    async def fetch(self, query: HotQuery, params: Mapping[str, Any]) -> list[Any]:
        compiled = self._compile(query)
        arguments = compiled.arguments(params)
        try:
            try:
                records = await self._run(compiled.sql, arguments)
            except _CONNECTION_LOST:
                records = await self._run(compiled.sql, arguments)
        except TimeoutError as exc:
            raise PoolTimeoutError("no hot-read connection free in time") from exc
        except ValueError as exc:
            # asyncpg's DataError (an InterfaceError too): a parameter its type cannot encode.
            raise DataError(compiled.sql, None, exc, hide_parameters=True) from exc
        except (asyncpg.InterfaceError, asyncpg.PostgresConnectionError) as exc:
            # The connection broke under the query (twice): the database is unavailable.
            raise OperationalError(compiled.sql, None, exc) from exc
        except asyncpg.PostgresError as exc:
            raise DBAPIError(compiled.sql, None, exc) from exc
        return compiled.rows(records)

    async def _run(self, sql: str, arguments: list[Any]) -> list[asyncpg.Record]:
        connection = await self.connections.take()
        try:
            records: list[asyncpg.Record] = await connection.fetch(sql, *arguments)
        except BaseException:
            # Failed or interrupted mid-query: its state is unknown, so it is not reused.
            self.connections.discard(connection)
            raise
        self.connections.give(connection)
        return records

    async def close(self) -> None:
        await self.connections.close()


def hot_reader(engine: AsyncEngine, *, pool_size: int, pool_timeout: float) -> HotReader | None:
    """The reader for ``engine``'s database, or None where the engine itself must read
    (an in-memory SQLite database lives only in the engine's own connection)."""
    url = engine.url
    if url.get_backend_name() == "postgresql":
        return PostgresReader(engine, pool_size, pool_timeout)
    path = url.database or ""
    if path in _MEMORY or path.startswith("file:") or url.query.get("uri"):
        return None
    return SQLiteReader(path, engine.dialect)
