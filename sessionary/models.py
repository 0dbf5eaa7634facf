"""Every table, imported in one place so ``Base.metadata`` is complete (Alembic, drift test)."""

from sessionary.auth.models import LoginSession
from sessionary.core.models import Base
from sessionary.roles.models import PermissionRecord, Role, RolePermission, UserRole
from sessionary.users.models import User

__all__ = ["Base", "LoginSession", "PermissionRecord", "Role", "RolePermission", "User", "UserRole"]
