"""Schemathesis hooks for ``.ci/schemathesis``: who the fuzzed requests act as.

``SESSIONARY_ST_AUTH`` picks the mode of one run:

- ``none``: no credentials (every guarded operation must answer its documented 401);
- ``cookie``: the admin's session cookie plus an ``Origin`` naming the server, as a browser on
  the API's own origin sends it; a request that ends the session (logout, password change,
  revoking it by id) is followed by a fresh login, on the 401 that comes next;
- ``bearer``: ``Authorization: Bearer <key>``, a key of the admin's made by :func:`create_key`.

Run as a script, it logs in and creates that key (printed on stdout).
"""

from __future__ import annotations

import os
import sys

import requests

BASE_URL = os.environ["SESSIONARY_ST_BASE_URL"]
USERNAME = os.environ["SESSIONARY_ST_USERNAME"]
PASSWORD = os.environ["SESSIONARY_ST_PASSWORD"]
COOKIE = os.environ.get("SESSIONARY_SESSION_COOKIE_NAME", "session_cookie")
TIMEOUT = 10


def login(session: requests.Session) -> str:
    response = session.post(
        f"{BASE_URL}/auth/login",
        json={"username": USERNAME, "password": PASSWORD},
        timeout=TIMEOUT,
    )
    response.raise_for_status()
    return response.cookies[COOKIE]


def create_key() -> str:
    """A key with every scope but ``api_keys:write``: the fuzzer, guessing small ids, would
    otherwise revoke the very key it runs with (the cookie run covers that permission)."""
    with requests.Session() as session:
        token = login(session)
        me = session.get(f"{BASE_URL}/users/me", cookies={COOKIE: token}, timeout=TIMEOUT)
        me.raise_for_status()
        scopes = [scope for scope in me.json()["permissions"] if scope != "api_keys:write"]
        response = session.post(
            f"{BASE_URL}/api-keys",
            json={"name": "schemathesis", "scopes": scopes},
            cookies={COOKIE: token},
            headers={"Origin": BASE_URL},
            timeout=TIMEOUT,
        )
        response.raise_for_status()
        key: str = response.json()["key"]
        return key


if __name__ == "__main__":
    sys.stdout.write(create_key() + "\n")
else:
    import schemathesis

    MODE = os.environ.get("SESSIONARY_ST_AUTH", "none")

    if MODE == "cookie":

        @schemathesis.auth(retry_on=[401])
        class SessionCookie:
            def get(self, _case: schemathesis.Case, _context: schemathesis.AuthContext) -> str:
                with requests.Session() as session:
                    return login(session)

            def set(
                self, case: schemathesis.Case, data: str, _context: schemathesis.AuthContext
            ) -> None:
                # A generated Authorization header would win over the cookie (SPEC §4).
                headers = {
                    name: value
                    for name, value in (case.headers or {}).items()
                    if name.lower() != "authorization"
                }
                case.headers = {**headers, "Origin": BASE_URL}
                case.cookies = {**(case.cookies or {}), COOKIE: data}

    elif MODE == "bearer":
        KEY = os.environ["SESSIONARY_ST_API_KEY"]

        @schemathesis.auth(retry_on=[])
        class ApiKey:
            def get(self, _case: schemathesis.Case, _context: schemathesis.AuthContext) -> str:
                return KEY

            def set(
                self, case: schemathesis.Case, data: str, _context: schemathesis.AuthContext
            ) -> None:
                case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    elif MODE != "none":
        raise SystemExit(f"SESSIONARY_ST_AUTH must be none, cookie or bearer, not {MODE!r}")
