"""Roles in tests: ``role_factory``, the ``{custom_role}`` matrix object, and the matrix's
``RolePrincipal(name, permissions)`` principals.

A feature helper of ``sessionary.testing``, written with the calls an app uses for its own
(:class:`~sessionary.testing.Factory`, a fixture, :func:`~sessionary.testing.matrix_object`,
:func:`~sessionary.testing.matrix_principal`) and loaded by the plugin from its list of helpers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from sessionary.roles import service as roles_service
from sessionary.roles.models import Role
from sessionary.testing.factories import Factory, FactoryContext
from sessionary.testing.matrix import MatrixContext, matrix_object, matrix_principal


class RoleFactory(Factory[Role]):
    """Custom roles: ``role_factory(name=…, permissions=[…])`` (names ``role1``, ``role2``…)."""

    async def acreate(self, *, name: str | None = None, permissions: Iterable[str] = ()) -> Role:
        name = name or f"role{self.next_number()}"
        async with self.transaction() as session:
            return await roles_service.create_role(session, name=name, permissions=permissions)


@pytest.fixture
def role_factory(factory_context: FactoryContext) -> RoleFactory:
    """Make custom roles: ``role_factory(name=…, permissions=[…])``, ``await …acreate()``."""
    return RoleFactory(factory_context)


@dataclass(frozen=True)
class RolePrincipal:
    """A user holding only a custom role made for the test, with exactly ``permissions``:
    ``RolePrincipal("auditor", ["audit:read"])``."""

    name: str
    permissions: Sequence[str] = ()

    def __str__(self) -> str:
        return f"role {self.name}"


@matrix_principal(RolePrincipal)
def _custom_role_client(context: MatrixContext) -> Any:
    principal = context.principal
    assert isinstance(principal, RolePrincipal)
    role = context.fixture("role_factory")(name=principal.name, permissions=principal.permissions)
    return context.fixture("login_as")(role.name)


@matrix_object("custom_role")
def _custom_role(context: MatrixContext) -> str:
    role: Role = context.fixture("role_factory")(permissions=["notes:read"])
    return role.name
