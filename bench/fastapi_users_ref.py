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

``bench/run.py`` drives it (``reference_apps.py``); ``bench/run.py --quick --only requests``
is the quick check that it still installs, serves and logs in.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.parse
from pathlib import Path

import httpx2
from harness import uvicorn_argv

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
    return uvicorn_argv(bin_dir / "uvicorn", REFERENCE, "app:app", port)


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
