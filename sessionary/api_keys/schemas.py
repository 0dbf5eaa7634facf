"""Bodies of the API-key routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sessionary import clock
from sessionary.core.inputs import Moment, RequestBody
from sessionary.core.pagination import Page
from sessionary.identity.permissions import LIST_MAX, DeclaredPermission


class ApiKeyCreate(RequestBody):
    """A new key: a name, scopes from the permission catalogue (an unknown one is 422) and an
    optional expiry in the future."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    scopes: list[DeclaredPermission] = Field(max_length=LIST_MAX)
    expires_at: Moment | None = None

    @field_validator("expires_at")
    @classmethod
    def _in_the_future(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value <= clock.now():
            raise ValueError("expires_at must be in the future")
        return value


class ApiKeyRead(BaseModel):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    expires_at: datetime | None
    created_at: datetime
    last_used_at: datetime | None


class ApiKeyCreated(BaseModel):
    """The new key; ``key`` is the secret, shown this once."""

    id: int
    key: str
    prefix: str
    name: str
    scopes: list[str]
    expires_at: datetime | None
    created_at: datetime


ApiKeyPage = Page[ApiKeyRead]
