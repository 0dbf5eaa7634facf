"""The permission catalogue: ``"resource:action"`` strings.

A feature package adds its permissions here and ships a migration that
inserts them and grants them to ``admin``
(:func:`sessionary.migrations.helpers.grant_to_admin`). A test checks that
the database's catalogue equals this one and that ``admin`` holds all of it.
"""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    NOTES_READ = "notes:read"
    NOTES_WRITE = "notes:write"
    NOTES_READ_ALL = "notes:read_all"
    NOTES_WRITE_ALL = "notes:write_all"
    API_KEYS_WRITE = "api_keys:write"
    USERS_READ = "users:read"
    USERS_WRITE = "users:write"
    USERS_DELETE = "users:delete"
    ROLES_READ = "roles:read"
    ROLES_WRITE = "roles:write"
    ROLES_ASSIGN = "roles:assign"
    AUDIT_READ = "audit:read"


ADMIN = "admin"
MEMBER = "member"
BUILTIN_ROLES: dict[str, frozenset[Permission]] = {
    ADMIN: frozenset(Permission),
    MEMBER: frozenset({Permission.NOTES_READ, Permission.NOTES_WRITE, Permission.API_KEYS_WRITE}),
}
