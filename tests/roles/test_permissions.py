"""The permission catalogue and the built-in roles as code declares them (the database side is
checked in tests/test_migrations.py)."""

from __future__ import annotations

import re

import pytest

from sessionary.roles.permissions import ADMIN, BUILTIN_ROLES, MEMBER, Permission

pytestmark = pytest.mark.no_db

SPEC_PERMISSIONS = {
    "notes:read",
    "notes:write",
    "notes:read_all",
    "notes:write_all",
    "api_keys:write",
    "users:read",
    "users:write",
    "users:delete",
    "roles:read",
    "roles:write",
    "roles:assign",
    "audit:read",
}


class TestCatalogue:
    def test_holds_at_least_the_specified_set(self) -> None:
        assert {p.value for p in Permission} >= SPEC_PERMISSIONS

    def test_every_name_is_resource_colon_action(self) -> None:
        shape = re.compile(r"^[a-z][a-z_]*:[a-z][a-z_]*$")
        assert [p.value for p in Permission if not shape.fullmatch(p.value)] == []

    def test_names_fit_the_column(self) -> None:
        assert max(len(p.value) for p in Permission) <= 64


class TestBuiltinRoles:
    def test_are_admin_and_member(self) -> None:
        assert set(BUILTIN_ROLES) == {ADMIN, MEMBER} == {"admin", "member"}

    def test_admin_holds_everything(self) -> None:
        assert BUILTIN_ROLES[ADMIN] == frozenset(Permission)

    def test_member_holds_own_notes_and_keys_only(self) -> None:
        assert {p.value for p in BUILTIN_ROLES[MEMBER]} == {
            "notes:read",
            "notes:write",
            "api_keys:write",
        }
