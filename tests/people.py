"""The cast of the administration tests (users, roles, audit): a member, admins, and a user
manager below admin, with the constants and helpers they share. Its fixtures are loaded
by ``tests/conftest.py``."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sessionary.roles.models import Role
from sessionary.testing import LoginAs, RoleFactory, SessionaryTestClient, UserFactory
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


@pytest.fixture
def user_manager_role(role_factory: RoleFactory) -> Role:
    role: Role = role_factory(name="user-manager", permissions=USER_MANAGER_PERMISSIONS)
    return role


@pytest.fixture
def user_manager(user_factory: UserFactory, user_manager_role: Role) -> User:
    created: User = user_factory(username="manager", roles=[user_manager_role.name])
    return created


@pytest.fixture
def manager_client(login_as: LoginAs, user_manager: User) -> SessionaryTestClient:
    """The user manager, freshly re-authenticated."""
    return login_as(user_manager)


@pytest.fixture
def member(user_factory: UserFactory) -> User:
    created: User = user_factory(username="bob", email="bob@example.com")
    return created


@pytest.fixture
def make_admin(user_factory: UserFactory) -> MakeAdmin:
    def make() -> User:
        created: User = user_factory(roles=["admin"])
        return created

    return make
