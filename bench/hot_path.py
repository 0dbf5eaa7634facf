"""SPEC §8 scenarios 1 and 2: authenticated ``GET /users/me`` and ``GET /protected_data/``.

Each app on each endpoint, with a session cookie (``Cookie: session_cookie=…``) and with a
Bearer credential (``Authorization: Bearer …``: a Sessionary API key made through
``POST /api-keys``; for fastapi-users a BearerTransport token of the same DatabaseStrategy),
under the run's wrk load (``-t1 -c64`` by default): a warm-up, then ``--runs`` samples,
medians. Sessionary and the raw reference share one scratch database, one session cookie
and one API key; fastapi-users has a database of its own with one registered user.
"""

from __future__ import annotations

from collections.abc import Mapping

from harness import Load, Row, Wrk, bearer_header, cookie_header, measure

ENDPOINTS = ("/users/me", "/protected_data/")
COOKIE = "session cookie"
BEARER = "API key"


def credentials(cookie: str, bearer: str) -> dict[str, str]:
    """The two scenarios' request headers: the cookie and the Bearer credential."""
    return {COOKIE: cookie_header(cookie), BEARER: bearer_header(bearer)}


def measure_app(
    database: str, app: str, base: str, headers: Mapping[str, str], load: Load
) -> list[Row]:
    """One row per credential and endpoint of one running app."""
    return [
        measure(scenario, database, app, path, Wrk(base + path, (header,)), load)
        for scenario, header in headers.items()
        for path in ENDPOINTS
    ]
