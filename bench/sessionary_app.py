"""Sessionary as the bench runs it: a migrated scratch database, its users, a server, credentials.

Two users are created with the CLI (``sessionary users create``, default role ``member``,
which holds ``api_keys:write``):

- ``bench`` — the user whose session cookie and API key every GET row loads;
- ``bench-login`` — the user the login scenarios log in as, back to back. A separate user
  because each login opens a session, and beyond ``max_sessions_per_user`` (100) the
  oldest sessions of that user are revoked: logging in as ``bench`` would revoke the very
  session wrk is loading after 100 logins.

The server is ``sessionary serve --no-access-log`` (one uvicorn worker) with the product's
default settings, except a plain-HTTP cookie (``SESSIONARY_SESSION_COOKIE_SECURE=false``)
and warnings-only logging.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2
from harness import BIN, COOKIE_NAME, BenchError, free_port, server

USER = "bench"
LOGIN_USER = "bench-login"
LOGIN_PATH = "/auth/login"
# The key acts with what the member role holds, so /users/me answers the same permissions.
KEY_SCOPES = ("api_keys:write", "notes:read", "notes:write")


@dataclass(frozen=True)
class Users:
    """The passwords of the two bench users of one database."""

    password: str
    login_password: str

    def login_body(self) -> str:
        return json.dumps({"username": LOGIN_USER, "password": self.login_password})


def environment(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONARY_")}
    env |= {
        "SESSIONARY_DATABASE_URL": database_url,
        "SESSIONARY_SESSION_COOKIE_SECURE": "false",
        "SESSIONARY_LOG_LEVEL": "WARNING",
    }
    return env


def _cli(argv: list[str], env: dict[str, str], cwd: Path, stdin: str | None = None) -> None:
    done = subprocess.run(  # noqa: S603 - our own CLI
        [str(BIN / "sessionary"), *argv],
        input=stdin,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"sessionary {' '.join(argv[:2])} failed:\n{done.stdout}{done.stderr}")


def prepare(database_url: str, cwd: Path) -> Users:
    """Migrate an empty database and create the two bench users."""
    env = environment(database_url)
    users = Users(secrets.token_urlsafe(24), secrets.token_urlsafe(24))
    _cli(["db", "upgrade"], env, cwd)
    for name, password in ((USER, users.password), (LOGIN_USER, users.login_password)):
        create = ["users", "create", name, "--email", f"{name}@example.com", "--password-stdin"]
        _cli(create, env, cwd, password + "\n")
    return users


@contextmanager
def serve(name: str, database_url: str, cwd: Path) -> Iterator[str]:
    """``sessionary serve`` on the server core; yields its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [str(BIN / "sessionary"), "serve", "--no-access-log", "--host", "127.0.0.1"]
    argv += ["--port", str(port)]
    with server(name, argv, environment(database_url), cwd, base + "/health/live"):
        yield base


def login(base: str, password: str, username: str = USER) -> str:
    """Log in; the session cookie's value."""
    response = httpx2.post(
        base + LOGIN_PATH, json={"username": username, "password": password}, timeout=30
    )
    token = response.cookies.get(COOKIE_NAME)
    if response.status_code != 200 or not token:
        raise BenchError(f"login failed: {response.status_code} {response.text}")
    return token


def create_api_key(base: str, cookie: str) -> str:
    """A Bearer key for the cookie's user through ``POST /api-keys`` (the secret ``sk_…``)."""
    response = httpx2.post(
        base + "/api-keys",
        json={"name": "bench", "scopes": list(KEY_SCOPES)},
        cookies={COOKIE_NAME: cookie},
        timeout=30,
    )
    if response.status_code != 201:
        raise BenchError(f"POST /api-keys failed: {response.status_code} {response.text}")
    key = response.json().get("key")
    if not isinstance(key, str) or not key.startswith("sk_"):
        raise BenchError(f"POST /api-keys answered no key: {response.text}")
    return key
