"""Bodies of the role routes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from sessionary.core.inputs import RequestBody
from sessionary.core.pagination import Page
from sessionary.identity.permissions import LIST_MAX, DeclaredPermission


class RoleRead(BaseModel):
    name: str
    permissions: list[str]
    builtin: bool


class RoleCreate(RequestBody):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")
    permissions: list[DeclaredPermission] = Field(max_length=LIST_MAX)


class RoleUpdate(RequestBody):
    model_config = ConfigDict(extra="forbid")

    permissions: list[DeclaredPermission] = Field(max_length=LIST_MAX)


RolePage = Page[RoleRead]
