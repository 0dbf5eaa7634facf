"""What the raw one-query references share: the queries and the answers built from their rows.

:data:`QUERY` is the one Sessionary's ``PRINCIPAL_QUERY`` runs — session → user → roles →
permissions, found by the unique index on ``sessions.token_hash``; :data:`KEY_QUERY` the one
of ``API_KEY_PRINCIPAL_QUERY`` — API key → user → roles → permissions, found by the unique
index on ``api_keys.key_hash``. Both are plain SQL for the driver, with the driver's own
placeholder. The apps do the same checks a real lookup must (token shape, revoked, inactive,
expired; a key acts with its scopes ∩ its owner's permissions) and answer the same JSON as
``GET /users/me`` and ``GET /protected_data/``; nothing else (no last-seen or last-used
writes, no middleware, no response models).

A request with ``Authorization: Bearer sk_…`` is looked up by its key, any other by its
session cookie.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

COOKIE = os.environ.get("BENCH_COOKIE_NAME", "session_cookie")
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_\-]{43}")
KEY_SHAPE = re.compile(r"sk_[A-Za-z0-9_\-]{43}")

QUERY = """
SELECT s.revoked_at, s.absolute_expires_at, u.id, u.username, u.email, u.is_active,
       u.created_at, ur.role_name, rp.permission
FROM sessions AS s
JOIN users AS u ON u.id = s.user_id
LEFT OUTER JOIN user_roles AS ur ON ur.user_id = u.id
LEFT OUTER JOIN role_permissions AS rp ON rp.role_name = ur.role_name
WHERE s.token_hash = {placeholder}
"""

KEY_QUERY = """
SELECT k.revoked_at, k.expires_at, u.id, u.username, u.email, u.is_active,
       u.created_at, ur.role_name, rp.permission, k.scopes
FROM api_keys AS k
JOIN users AS u ON u.id = k.owner_id
LEFT OUTER JOIN user_roles AS ur ON ur.user_id = u.id
LEFT OUTER JOIN role_permissions AS rp ON rp.role_name = ur.role_name
WHERE k.key_hash = {placeholder}
"""


def token_hash(cookie: str | None) -> bytes | None:
    """The SHA-256 to look up, or None for a missing or malformed token."""
    if cookie is None or not TOKEN_SHAPE.fullmatch(cookie):
        return None
    return hashlib.sha256(cookie.encode("ascii")).digest()


def bearer_key_hash(authorization: str | None) -> bytes | None:
    """The SHA-256 of a well-formed ``Bearer sk_…`` key, else None."""
    if authorization is None:
        return None
    scheme, _, key = authorization.partition(" ")
    if scheme.lower() != "bearer" or not KEY_SHAPE.fullmatch(key):
        return None
    return hashlib.sha256(key.encode("ascii")).digest()


def _aware(value: Any) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, datetime)  # noqa: S101 - a schema invariant
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def user_me(rows: Sequence[Sequence[Any]]) -> dict[str, Any] | None:
    """The ``GET /users/me`` body for these session rows, or None when they grant nothing."""
    if not rows:
        return None
    expires_at = rows[0][1]
    if expires_at is None or _aware(expires_at) <= datetime.now(UTC):
        return None
    return _me(rows)


def key_user_me(rows: Sequence[Sequence[Any]]) -> dict[str, Any] | None:
    """The ``GET /users/me`` body for these API-key rows, or None when they grant nothing."""
    if not rows:
        return None
    expires_at, scopes = rows[0][1], rows[0][9]
    if expires_at is not None and _aware(expires_at) <= datetime.now(UTC):
        return None
    me = _me(rows)
    if me is not None:
        granted = set(json.loads(scopes) if isinstance(scopes, str) else scopes or ())
        me["permissions"] = [p for p in me["permissions"] if p in granted]
    return me


def _me(rows: Sequence[Sequence[Any]]) -> dict[str, Any] | None:
    revoked_at, _, user_id, username, email, is_active, created_at = rows[0][:7]
    if revoked_at is not None or not is_active:
        return None
    return {
        "user_id": user_id,
        "username": username,
        "email": email,
        "roles": sorted({row[7] for row in rows if row[7] is not None}),
        "permissions": sorted({row[8] for row in rows if row[8] is not None}),
        "is_active": bool(is_active),
        "created_at": _aware(created_at).isoformat(),
    }


def protected_data(me: dict[str, Any]) -> dict[str, Any]:
    return {"user_id": me["user_id"], "username": me["username"], "email": me["email"]}
