"""Fixtures of the administration tests: a member, admins, a user manager below admin."""

from __future__ import annotations

import pytest

from sessionary.roles.models import Role
from sessionary.testing import LoginAs, RoleFactory, SessionaryTestClient, UserFactory
from sessionary.users.models import User
from tests.admin.helpers import USER_MANAGER_PERMISSIONS, MakeAdmin


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
