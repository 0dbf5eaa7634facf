"""Constants and helpers shared by the administration tests."""

from __future__ import annotations

from collections.abc import Callable

from sessionary.testing import SessionaryTestClient
from sessionary.users.models import User

# Everything a member holds, plus user management and role assignment, but not audit:read:
# so it may assign `member` yet never `admin`.
USER_MANAGER_PERMISSIONS = [
    "api_keys:write",
    "notes:read",
    "notes:write",
    "roles:assign",
    "users:delete",
    "users:read",
    "users:write",
]
NEW_USER_BODY = {"username": "Carol", "email": "carol@example.com", "password": "plum-harbour-42"}

MakeAdmin = Callable[[], User]


def user_id_of(client: SessionaryTestClient) -> int:
    response = client.get("/users/me")
    assert response.status_code == 200
    user_id: int = response.json()["user_id"]
    return user_id
