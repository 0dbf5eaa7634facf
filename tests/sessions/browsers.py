"""What the session tests share: cookies by hand, session rows by token, the listing."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

import httpx2
from fastapi.testclient import TestClient
from sqlalchemy import select

from sessionary.sessions.models import LoginSession
from sessionary.testing import SyncDB

IDLE = 3600
ABSOLUTE = 86400
SESSION_FIELDS = {"id", "created_at", "last_seen_at", "expires_at", "ip", "user_agent", "current"}
THEFT = "session.revoked_token_presented"
NOT_AUTHENTICATED = {"detail": "Not authenticated"}


def token_of(browser: TestClient) -> str:
    token: str = browser.cookies["session_cookie"]
    return token


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def by_hand(token: str, **headers: str) -> dict[str, str]:
    return {"Cookie": f"session_cookie={token}", **headers}


def session_id(db: SyncDB, browser: TestClient) -> int:
    found: int | None = db.scalar(
        select(LoginSession.id).where(LoginSession.token_hash == digest(token_of(browser)))
    )
    assert found is not None
    return found


def is_alive(client: TestClient, token: str) -> bool:
    status = client.get("/users/me", headers=by_hand(token)).status_code
    assert status in {200, 401}
    return status == 200


def listing(browser: TestClient, **params: Any) -> dict[str, Any]:
    response = browser.get("/auth/sessions", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def listed_ids(browser: TestClient, **params: Any) -> list[int]:
    return [item["id"] for item in listing(browser, **params)["items"]]


def instant(value: str) -> datetime:
    assert value.endswith(("Z", "+00:00")), value
    moment = datetime.fromisoformat(value)
    assert moment.utcoffset() == timedelta(0)
    return moment


def set_cookie(response: httpx2.Response, name: str = "session_cookie") -> dict[str, str]:
    """The attributes of the one Set-Cookie for ``name``: lower-cased keys, ``""`` for flags,
    the cookie's own value under ``"value"``."""
    found = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert len(found) == 1, response.headers.get_list("set-cookie")
    first, *attributes = (part.strip() for part in found[0].split(";"))
    parsed = {"value": first.partition("=")[2]}
    for attribute in attributes:
        key, _, value = attribute.partition("=")
        parsed[key.lower()] = value
    return parsed
