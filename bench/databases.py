"""The two databases a bench run covers, and their scratch databases.

SQLite: each scratch database is a file in the run's temporary directory, removed after.
PostgreSQL: each is a database ``sessionary_bench[_<label>]`` created on the server of
``--pg-url`` and dropped after (``DROP DATABASE … WITH (FORCE)``), so a run never touches
anything else on that server.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness import asyncpg_dsn, scratch_postgres
from sqlalchemy.engine import make_url

SCRATCH_PREFIX = "sessionary_bench"


@dataclass(frozen=True)
class Database:
    """SQLite (files under ``workdir``) or PostgreSQL (databases on ``pg_server``)."""

    name: str
    workdir: Path
    pg_server: str | None = None

    @property
    def slug(self) -> str:
        return self.name.lower()

    @property
    def raw_app(self) -> str:
        """The raw one-query reference for this database (a module of bench/references)."""
        return "raw_asyncpg" if self.pg_server else "raw_aiosqlite"

    @contextmanager
    def scratch(self, label: str = "") -> Iterator[str]:
        """An empty scratch database; yields its SQLAlchemy URL (async driver)."""
        name = f"{SCRATCH_PREFIX}_{label}" if label else SCRATCH_PREFIX
        if self.pg_server:
            with scratch_postgres(self.pg_server, name) as url:
                yield url.render_as_string(hide_password=False)
            return
        path = self.workdir / f"{name}.db"
        try:
            yield f"sqlite+aiosqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm", "-journal"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)

    def raw_env(self, database_url: str) -> dict[str, str]:
        """What the raw reference needs to find ``database_url``."""
        url = make_url(database_url)
        if self.pg_server:
            return {"BENCH_ASYNCPG_DSN": asyncpg_dsn(url)}
        return {"BENCH_SQLITE_PATH": str(url.database)}


def sqlite_path(database_url: str) -> Path:
    return Path(str(make_url(database_url).database))
