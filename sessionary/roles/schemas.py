"""Bodies of the role routes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from sessionary.core.inputs import RequestBody
from sessionary.core.pagination import Page
from sessionary.roles.permissions import Permission

# The catalogue is small; this only bounds the body.
MAX_PERMISSIONS = 256


class RoleRead(BaseModel):
    name: str
    permissions: list[str]
    builtin: bool


class RoleCreate(RequestBody):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")
    permissions: list[Permission] = Field(max_length=MAX_PERMISSIONS)


class RoleUpdate(RequestBody):
    model_config = ConfigDict(extra="forbid")

    permissions: list[Permission] = Field(max_length=MAX_PERMISSIONS)


RolePage = Page[RoleRead]
