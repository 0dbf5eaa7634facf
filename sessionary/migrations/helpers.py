"""Data helpers for migrations: a feature's new permissions join the catalogue and ``admin``."""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa
from alembic import op

_permissions = sa.table("permissions", sa.column("name"), sa.column("description"))
_role_permissions = sa.table("role_permissions", sa.column("role_name"), sa.column("permission"))


def add_permissions(
    permissions: Mapping[str, str], *, grant_to: tuple[str, ...] = ("admin",)
) -> None:
    """Insert ``{name: description}`` into the catalogue and grant them to ``grant_to``."""
    op.bulk_insert(
        _permissions, [{"name": name, "description": text} for name, text in permissions.items()]
    )
    op.bulk_insert(
        _role_permissions,
        [{"role_name": role, "permission": name} for role in grant_to for name in permissions],
    )


def remove_permissions(names: list[str]) -> None:
    """The inverse of :func:`add_permissions` (grants go with them by cascade)."""
    op.execute(_role_permissions.delete().where(_role_permissions.c.permission.in_(names)))
    op.execute(_permissions.delete().where(_permissions.c.name.in_(names)))
