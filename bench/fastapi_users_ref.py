"""The fastapi-users reference (SPEC §8), driven from Sessionary's venv.

fastapi-users pins an older pwdlib and SQLAlchemy < 2.1, so it lives in its own uv project,
``bench/references/fastapi_users/`` (``pyproject.toml`` + ``uv.lock`` + ``app.py``), installed
into that folder's ``.venv`` by :func:`ensure_env`. This module never imports fastapi-users: it
runs that venv's Python and uvicorn as subprocesses and talks to the app over HTTP.

What a bench run does with it::

    bin_dir = ensure_env()
    create_schema(bin_dir, url)            # its own database: see below
    # start server_argv(bin_dir, port) with server_env(url), under taskset, then:
    cookie = login_cookie(base)            # -H "Cookie: session_cookie=<cookie>"
    token = login_bearer(base)             # -H "Authorization: Bearer <token>"

The app cannot read Sessionary's tables, so it gets a database of its own: a separate SQLite
file (``sqlite+aiosqlite:///<path>``), or on PostgreSQL a scratch database the caller creates
and drops, named :data:`SCRATCH_DATABASE`
(``postgresql+asyncpg://…/sessionary_bench_fastapi_users``).

``python bench/fastapi_users_ref.py [--pg-url URL]`` is a smoke run: schema, server on core 0,
both logins, a short ``wrk`` on core 1 per endpoint and credential (PostgreSQL in a scratch
database ``sessionary_bench_fu_dev``, dropped after).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx2
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "bench" / "references" / "fastapi_users"
VENV = REFERENCE / ".venv"
SCRATCH_DATABASE = "sessionary_bench_fastapi_users"
COOKIE_NAME = "session_cookie"
EMAIL = "bench@example.com"
PASSWORD = "bench-fastapi-users-password"  # noqa: S105 - a throwaway user in a scratch database
LOGIN_PATH = "/auth/cookie/login"
BEARER_LOGIN_PATH = "/auth/bearer/login"
REGISTER_PATH = "/auth/register"
LOGIN_CONTENT_TYPE = "application/x-www-form-urlencoded"
LOGIN_FORM = {"username": EMAIL, "password": PASSWORD}
LOGIN_BODY = urllib.parse.urlencode(LOGIN_FORM).encode("ascii")
ENDPOINTS = ("/users/me", "/protected_data/")
TIMEOUT = 30.0


class FastAPIUsersRefError(RuntimeError):
    """The reference could not be installed, set up or logged into."""


def _uv() -> str:
    bundled = ROOT / ".uv" / "bin" / "uv"
    if bundled.is_file():
        return str(bundled)
    found = shutil.which("uv")
    if found is None:
        raise FastAPIUsersRefError(f"uv not found: neither {bundled} nor on PATH (make install)")
    return found


def ensure_env() -> Path:
    """Install the reference's lock into its own venv (``uv sync --frozen``); its ``bin`` dir."""
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env |= {"UV_PROJECT_ENVIRONMENT": str(VENV), "UV_PYTHON_DOWNLOADS": "never"}
    argv = [_uv(), "sync", "--frozen", "--project", str(REFERENCE), "--python", sys.executable]
    done = subprocess.run(  # noqa: S603 - our own uv and arguments
        argv, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        raise FastAPIUsersRefError(
            f"uv sync of {REFERENCE} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        )
    return VENV / "bin"


def server_env(database_url: str) -> dict[str, str]:
    """The environment of the reference app: this one plus ``BENCH_FU_DATABASE_URL``."""
    return {**os.environ, "BENCH_FU_DATABASE_URL": database_url}


def create_schema(bin_dir: Path, database_url: str) -> None:
    """Create the app's tables (``metadata.create_all``) in ``database_url``, an empty database."""
    done = subprocess.run(  # noqa: S603 - the reference venv's python on our own script
        [str(bin_dir / "python"), str(REFERENCE / "app.py")],
        env=server_env(database_url),
        cwd=REFERENCE,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise FastAPIUsersRefError(
            f"creating the fastapi-users schema failed ({done.returncode}):\n"
            f"{done.stdout}{done.stderr}"
        )


def server_argv(bin_dir: Path, port: int) -> list[str]:
    """The uvicorn command line serving the reference on 127.0.0.1:``port``, access log off."""
    return [
        str(bin_dir / "uvicorn"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
        "--app-dir",
        str(REFERENCE),
        "app:app",
    ]


def login_path() -> str:
    """Where a login throughput scenario POSTs :data:`LOGIN_BODY` (:data:`LOGIN_CONTENT_TYPE`)."""
    return LOGIN_PATH


def register(base_url: str) -> None:
    """Register the bench user; one that already exists is fine."""
    response = httpx2.post(
        base_url + REGISTER_PATH, json={"email": EMAIL, "password": PASSWORD}, timeout=TIMEOUT
    )
    if response.status_code == 201:
        return
    if response.status_code == 400 and "ALREADY_EXISTS" in response.text:
        return
    raise FastAPIUsersRefError(
        f"fastapi-users register failed: {response.status_code} {response.text}"
    )


def login_cookie(base_url: str) -> str:
    """Register the bench user if needed and log in through the cookie backend; the cookie."""
    register(base_url)
    response = httpx2.post(base_url + LOGIN_PATH, data=LOGIN_FORM, timeout=TIMEOUT)
    cookie = response.cookies.get(COOKIE_NAME)
    if response.status_code not in (200, 204) or not cookie:
        raise FastAPIUsersRefError(
            f"fastapi-users cookie login failed: {response.status_code} {response.text}"
        )
    return cookie


def login_bearer(base_url: str) -> str:
    """Register the bench user if needed and log in through the bearer backend; the token."""
    register(base_url)
    response = httpx2.post(base_url + BEARER_LOGIN_PATH, data=LOGIN_FORM, timeout=TIMEOUT)
    token = response.json().get("access_token") if response.status_code == 200 else None
    if not isinstance(token, str) or not token:
        raise FastAPIUsersRefError(
            f"fastapi-users bearer login failed: {response.status_code} {response.text}"
        )
    return token


# -- smoke run ---------------------------------------------------------------------------

_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise FastAPIUsersRefError(f"{name} is not installed")
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def _serve(bin_dir: Path, database_url: str, log_path: Path) -> Iterator[str]:
    """The reference on core 0 in its own process group; the whole group is stopped after."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own executables and arguments
            [_tool("taskset"), "-c", "0", *server_argv(bin_dir, port)],
            env=server_env(database_url),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + TIMEOUT
            while True:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise FastAPIUsersRefError(f"server did not start:\n{log_path.read_text()}")
                try:
                    if httpx2.get(base + "/protected_data/", timeout=1.0).status_code < 500:
                        break
                except httpx2.HTTPError:
                    pass
                time.sleep(0.1)
            yield base
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)


def _wrk(url: str, header: str, seconds: int) -> float:
    argv = [_tool("taskset"), "-c", "1", _tool("wrk"), "-t1", "-c64", f"-d{seconds}s"]
    done = subprocess.run(  # noqa: S603 - our own arguments
        [*argv, "-H", header, url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
    )
    rps = _RPS.search(done.stdout)
    if done.returncode != 0 or rps is None:
        raise FastAPIUsersRefError(f"wrk failed ({done.returncode}): {done.stderr}{done.stdout}")
    if bad := _NON_2XX.search(done.stdout):
        raise FastAPIUsersRefError(f"{bad.group(1)} non-2xx responses from {url}")
    return float(rps.group(1))


def _smoke_one(label: str, bin_dir: Path, database_url: str, workdir: Path, seconds: int) -> None:
    create_schema(bin_dir, database_url)
    with _serve(bin_dir, database_url, workdir / f"fastapi-users-{label}.log") as base:
        headers = {
            "cookie": f"Cookie: {COOKIE_NAME}={login_cookie(base)}",
            "bearer": f"Authorization: Bearer {login_bearer(base)}",
        }
        for path in ENDPOINTS:
            for kind, header in headers.items():
                rps = _wrk(base + path, header, seconds)
                print(f"  {label:<10} {path:<17} {kind:<6} {rps:8.0f} req/s")  # noqa: T201


async def _admin(server_url: str, statement: str) -> None:
    url = make_url(server_url).set(drivername="postgresql", database="postgres")
    connection = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Smoke run of the fastapi-users reference.")
    parser.add_argument("--pg-url", help="a PostgreSQL server URL (its database is replaced)")
    parser.add_argument("--pg-database", default="sessionary_bench_fu_dev")
    parser.add_argument("--seconds", type=int, default=3, help="wrk seconds per row (3)")
    args = parser.parse_args()
    try:
        bin_dir = ensure_env()
        with tempfile.TemporaryDirectory(prefix="fastapi-users-ref-") as temp:
            workdir = Path(temp)
            sqlite_url = f"sqlite+aiosqlite:///{workdir / 'fastapi_users.db'}"
            _smoke_one("SQLite", bin_dir, sqlite_url, workdir, args.seconds)
            if args.pg_url:
                name = args.pg_database
                drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
                asyncio.run(_admin(args.pg_url, drop))
                asyncio.run(_admin(args.pg_url, f'CREATE DATABASE "{name}"'))
                try:
                    url = make_url(args.pg_url).set(drivername="postgresql+asyncpg", database=name)
                    pg_url = url.render_as_string(hide_password=False)
                    _smoke_one("PostgreSQL", bin_dir, pg_url, workdir, args.seconds)
                finally:
                    asyncio.run(_admin(args.pg_url, drop))
    except FastAPIUsersRefError as error:
        sys.exit(f"fastapi-users reference failed: {error}")


if __name__ == "__main__":
    main()
