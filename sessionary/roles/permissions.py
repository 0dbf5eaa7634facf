"""Sessionary's own permissions and built-in roles, declared like an app declares its own
(:mod:`sessionary.identity.permissions`). ``admin`` holds every declared permission, the
app's included; ``member`` holds what a self-registered user needs."""

from __future__ import annotations

from sessionary.identity.permissions import PermissionSet, declare_role


class Permission(PermissionSet):
    NOTES_READ = "notes:read", "Read own notes"
    NOTES_WRITE = "notes:write", "Create, edit and delete own notes"
    NOTES_READ_ALL = "notes:read_all", "Read everyone's notes"
    NOTES_WRITE_ALL = "notes:write_all", "Edit and delete everyone's notes"
    API_KEYS_WRITE = "api_keys:write", "Create and revoke own API keys"
    USERS_READ = "users:read", "List and read users"
    USERS_WRITE = "users:write", "Create and update users"
    USERS_DELETE = "users:delete", "Delete users"
    ROLES_READ = "roles:read", "List and read roles"
    ROLES_WRITE = "roles:write", "Create, edit and delete roles"
    ROLES_ASSIGN = "roles:assign", "Assign roles to users"
    AUDIT_READ = "audit:read", "Read the audit log"


ADMIN = "admin"
MEMBER = "member"
# Sessionary's own roles only: admin's set grows with the app's declarations (catalogue sync).
BUILTIN_ROLES: dict[str, frozenset[Permission]] = {
    ADMIN: frozenset(Permission),
    MEMBER: frozenset({Permission.NOTES_READ, Permission.NOTES_WRITE, Permission.API_KEYS_WRITE}),
}
declare_role(MEMBER, BUILTIN_ROLES[MEMBER])
