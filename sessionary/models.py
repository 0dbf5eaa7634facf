"""Every table, imported in one place so ``Base.metadata`` is complete (Alembic, drift test)."""

from sessionary.api_keys.models import ApiKey
from sessionary.audit.models import AuditEvent
from sessionary.auth.models import LoginDevice
from sessionary.core.models import Base
from sessionary.notes.models import Note
from sessionary.roles.models import PermissionRecord, Role, RolePermission, UserRole
from sessionary.sessions.models import LoginSession
from sessionary.users.models import User

__all__ = [
    "ApiKey",
    "AuditEvent",
    "Base",
    "LoginDevice",
    "LoginSession",
    "Note",
    "PermissionRecord",
    "Role",
    "RolePermission",
    "User",
    "UserRole",
]
