"""The open permission catalogue: every feature, and every app, declares its own in code.

A permission is a ``"resource:action"`` string. Declare a set by subclassing
:class:`PermissionSet` (an ``enum.StrEnum``, so members *are* their strings and pass anywhere a
``str`` does, mypy included)::

    class ProjectPermission(PermissionSet):
        READ = "projects:read", "See every project"
        WRITE = "projects:write", "Create, change and delete projects"

and roles that grant them with :func:`declare_role`. ``sessionary db upgrade`` writes what is
declared into the database, idempotently (:mod:`sessionary.roles.catalogue`); a route guarded
by a permission nobody declared fails the app's startup (:func:`check_routes`), not a request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

# The columns' widths (permissions.name, permissions.description, roles.name).
NAME_MAX = 64
DESCRIPTION_MAX = 200
_SHAPE = re.compile(r"[a-z][a-z0-9_]*:[a-z][a-z0-9_]*")

# Set on a require() guard: the permission it checks.
GUARDS = "__sessionary_permission__"


class UndeclaredPermission(RuntimeError):
    """A permission used without being declared, or a declaration that cannot be stored."""


def _check_name(value: str) -> None:
    if len(value) > NAME_MAX or not _SHAPE.fullmatch(value):
        raise UndeclaredPermission(
            f"{value!r} is not a permission name: 'resource:action', lowercase letters, "
            f"digits and _, at most {NAME_MAX} characters"
        )


class PermissionSet(StrEnum):
    """Subclass to declare permissions: ``NAME = "resource:action", "description"``."""

    description: str

    def __new__(cls, value: str, description: str = "") -> Self:
        _check_name(value)
        if len(description) > DESCRIPTION_MAX:
            raise UndeclaredPermission(
                f"the description of {value!r} is over {DESCRIPTION_MAX} characters"
            )
        member = str.__new__(cls, value)
        member._value_ = value
        member.description = description
        return member

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _sets.append(cls)  # its members exist by the time anyone asks


_sets: list[type[PermissionSet]] = []


def declared() -> dict[str, str]:
    """Every declared permission (of every :class:`PermissionSet` imported so far) and its
    description. Declaring one name twice is an error unless the descriptions agree."""
    found: dict[str, str] = {}
    for permission_set in _sets:
        for member in permission_set:
            if found.get(member.value, member.description) != member.description:
                raise UndeclaredPermission(f"{member.value!r} is declared twice, differently")
            found[member.value] = member.description
    return found


@dataclass(frozen=True, slots=True)
class RoleDeclaration:
    name: str
    permissions: frozenset[str]


_roles: dict[str, RoleDeclaration] = {}


def declare_role(name: str, permissions: Iterable[str]) -> RoleDeclaration:
    """A role the app's code relies on: created by ``db upgrade`` when missing, and given
    these permissions when it lacks them (grants an administrator adds are kept). It cannot
    be deleted through the API. Declaring the same role again must name the same set."""
    if not 1 <= len(name) <= NAME_MAX:
        raise UndeclaredPermission(f"a role name is 1 to {NAME_MAX} characters: {name!r}")
    role = RoleDeclaration(name, frozenset(str(permission) for permission in permissions))
    if _roles.get(name, role) != role:
        raise UndeclaredPermission(f"role {name!r} is declared twice, differently")
    _roles[name] = role
    return role


def declared_roles() -> Mapping[str, RoleDeclaration]:
    return dict(_roles)


def check_declared(names: Iterable[str]) -> None:
    """Raise :class:`UndeclaredPermission` naming every one of ``names`` nobody declared."""
    known = declared()
    unknown = sorted(set(names) - known.keys())
    if unknown:
        raise UndeclaredPermission(
            f"undeclared permission(s): {', '.join(unknown)} — declare them in a "
            "PermissionSet (sessionary.PermissionSet) imported before the app starts"
        )


def _calls(dependant: Any) -> Iterable[Any]:
    yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def guarded_permissions(routes: Iterable[Any]) -> set[str]:
    """The permissions the ``require()`` guards of ``routes`` check."""
    return {
        getattr(call, GUARDS)
        for route in routes
        if getattr(route, "dependant", None) is not None
        for call in _calls(route.dependant)
        if hasattr(call, GUARDS)
    }


def check_routes(routes: Iterable[Any]) -> None:
    """Fail (at startup) when a route is guarded by an undeclared permission, or a declared
    role grants one."""
    check_declared(guarded_permissions(routes))
    for role in _roles.values():
        check_declared(role.permissions)


# A request body names at most this many permissions (the catalogue is far smaller).
LIST_MAX = 256


def _validate_declared(value: str) -> str:
    if value not in declared():
        raise ValueError("Unknown permission")
    return value


class _Declared:
    """Pydantic metadata: a declared permission name; in OpenAPI, the enum of every declared
    permission, read when the document is built (after the app's declarations)."""

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            _validate_declared, core_schema.str_schema()
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "enum": sorted(declared())}


DeclaredPermission = Annotated[str, _Declared]
"""A request field holding a declared permission's name (anything else is 422)."""
