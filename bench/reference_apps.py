"""The references Sessionary is measured against, served like it (core 0, one process, no log).

- ``bare`` — a FastAPI JSON endpoint, no database: the ceiling of the stack;
- ``raw`` — the one-query reference of the database (``raw_aiosqlite`` / ``raw_asyncpg`` in
  ``bench/references/``), on Sessionary's own scratch database, loaded with Sessionary's own
  session cookie and API key;
- ``fastapi-users`` — CookieTransport/BearerTransport + DatabaseStrategy on a scratch
  database of its own, in its own venv (``bench/fastapi_users_ref.py``, which installs it
  from ``bench/references/fastapi_users/uv.lock``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import fastapi_users_ref
from databases import Database
from harness import BIN, REFERENCES, BenchError, free_port, server, uvicorn_argv


@contextmanager
def serve_bare(workdir: Path) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = uvicorn_argv(BIN / "uvicorn", REFERENCES, "bare:app", port)
    with server("bare", argv, os.environ, workdir, base + "/"):
        yield base


@contextmanager
def serve_raw(database: Database, database_url: str, workdir: Path) -> Iterator[str]:
    """The raw one-query reference reading ``database_url`` (Sessionary's schema and rows)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = uvicorn_argv(BIN / "uvicorn", REFERENCES, f"{database.raw_app}:app", port)
    env = {**os.environ, **database.raw_env(database_url)}
    with server(f"{database.raw_app}-{database.slug}", argv, env, workdir, base + "/"):
        yield base


@dataclass(frozen=True)
class FastAPIUsers:
    """A running fastapi-users reference and its bench user's credentials."""

    base: str
    cookie: str
    bearer: str

    @property
    def login_url(self) -> str:
        return self.base + fastapi_users_ref.LOGIN_PATH

    @property
    def login_body(self) -> str:
        body = fastapi_users_ref.LOGIN_BODY
        return body.decode("ascii") if isinstance(body, bytes) else str(body)

    @property
    def login_content_type(self) -> str:
        return fastapi_users_ref.LOGIN_CONTENT_TYPE


def fastapi_users_env() -> Path:
    """Install the fastapi-users reference's own lock; its venv's bin directory."""
    try:
        return fastapi_users_ref.ensure_env()
    except RuntimeError as error:
        raise BenchError(str(error)) from error


@contextmanager
def serve_fastapi_users(bin_dir: Path, database: Database, workdir: Path) -> Iterator[FastAPIUsers]:
    """fastapi-users on its own scratch database, its user registered and logged in twice."""
    with database.scratch("fastapi_users") as database_url:
        try:
            fastapi_users_ref.create_schema(bin_dir, database_url)
        except RuntimeError as error:
            raise BenchError(str(error)) from error
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        argv = fastapi_users_ref.server_argv(bin_dir, port)
        env = fastapi_users_ref.server_env(database_url)
        with server(f"fastapi-users-{database.slug}", argv, env, workdir, base + "/docs"):
            try:
                cookie = fastapi_users_ref.login_cookie(base)
                bearer = fastapi_users_ref.login_bearer(base)
            except RuntimeError as error:
                raise BenchError(str(error)) from error
            yield FastAPIUsers(base, cookie, bearer)
