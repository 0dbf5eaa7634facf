"""Writing the declared permissions and roles into the database, idempotently.

Run at the end of every ``db upgrade`` (and so by the test plugin's migration): it inserts
each declared permission the ``permissions`` table lacks, each declared role ``roles`` lacks
(as built-in: code relies on it, so the API may not delete it), and each missing grant —
``admin`` gets every declared permission. It never removes or changes a row, so grants an
administrator added stay, and several instances may run it at once (conflicts are skipped).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, select
from sqlalchemy.dialects import postgresql, sqlite

from sessionary.identity.permissions import declared, declared_roles
from sessionary.roles.models import PermissionRecord, Role, RolePermission
from sessionary.roles.permissions import ADMIN


def _insert_missing(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert ``rows``, skipping any another instance inserted meanwhile; returns len(rows)."""
    if rows:
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        connection.execute(dialect.insert(table).on_conflict_do_nothing(), list(rows))
    return len(rows)


def sync_catalogue(connection: Connection) -> dict[str, int]:
    """Insert what is declared and missing; returns how many rows of each kind were missing."""
    permissions = declared()
    roles = {
        ADMIN: frozenset(permissions),
        **{n: r.permissions for n, r in declared_roles().items()},
    }
    have_permissions = set(connection.scalars(select(PermissionRecord.name)))
    have_roles = set(connection.scalars(select(Role.name)))
    have_grants = {
        (row.role_name, row.permission)
        for row in connection.execute(select(RolePermission.role_name, RolePermission.permission))
    }
    added = {
        "permissions": _insert_missing(
            connection,
            PermissionRecord.__table__,  # type: ignore[arg-type]
            [
                {"name": name, "description": description}
                for name, description in sorted(permissions.items())
                if name not in have_permissions
            ],
        ),
        "roles": _insert_missing(
            connection,
            Role.__table__,  # type: ignore[arg-type]
            [
                {"name": name, "is_builtin": True}
                for name in sorted(roles)
                if name not in have_roles
            ],
        ),
    }
    added["grants"] = _insert_missing(
        connection,
        RolePermission.__table__,  # type: ignore[arg-type]
        [
            {"role_name": role, "permission": permission}
            for role, granted in sorted(roles.items())
            for permission in sorted(granted)
            if (role, permission) not in have_grants
        ],
    )
    return added
