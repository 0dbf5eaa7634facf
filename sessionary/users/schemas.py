"""Bodies of the user routes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from sessionary.auth.schemas import NEW_PASSWORD, PRESENTED_PASSWORD
from sessionary.core.inputs import RequestBody
from sessionary.core.pagination import Page
from sessionary.identity.permissions import NAME_MAX
from sessionary.users.models import User
from sessionary.users.usernames import EMAIL_MAX, EMAIL_SCHEMA, USERNAME_MAX, USERNAME_SCHEMA

# Before NFKC a code point may expand (up to 18 times); the policy checks the normalised form.
_RAW_PASSWORD_MAX = 128 * 18
_ROLES_MAX = 64
# A role as declared (1-64 characters): bounded like every other string of a body, so a huge
# name or one with a lone surrogate is the usual 422 before any query.
RoleName = Annotated[str, Field(min_length=1, max_length=NAME_MAX)]


class ProtectedData(BaseModel):
    """The original example's view of the current user."""

    user_id: int
    username: str
    email: str


class UserRead(BaseModel):
    user_id: int
    username: str
    email: str
    # The address was proven to reach the user (a verification or reset link was opened).
    email_verified: bool
    roles: list[str]
    is_active: bool
    created_at: datetime


class UserMe(UserRead):
    permissions: list[str]


class UserMeUpdated(UserMe):
    # A new address waiting for its verification link to be opened.
    pending_email: str | None = None


class UserMeUpdate(RequestBody):
    """What a user may change about themselves: only the email (roles and activity are not
    theirs to set; any other field is a 422)."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=EMAIL_MAX, json_schema_extra=EMAIL_SCHEMA)


class PasswordChange(RequestBody):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(
        min_length=1, max_length=_RAW_PASSWORD_MAX, json_schema_extra=PRESENTED_PASSWORD
    )
    new_password: str = Field(
        min_length=1, max_length=_RAW_PASSWORD_MAX, json_schema_extra=NEW_PASSWORD
    )


class UserCreate(RequestBody):
    """``POST /users``: ``roles`` omitted means ``member`` when the creator may grant it, else
    no role (setting any needs roles:assign)."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(
        min_length=1, max_length=USERNAME_MAX * 4, json_schema_extra=USERNAME_SCHEMA
    )
    email: str = Field(min_length=3, max_length=EMAIL_MAX, json_schema_extra=EMAIL_SCHEMA)
    password: str = Field(
        min_length=1, max_length=_RAW_PASSWORD_MAX, json_schema_extra=NEW_PASSWORD
    )
    roles: list[RoleName] | None = Field(default=None, max_length=_ROLES_MAX)
    # True: the administrator vouches for the address; else a verification link is mailed.
    email_verified: bool = False


class UserUpdate(RequestBody):
    """``PATCH /users/{id}``: exactly the fields an administrator may change."""

    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(
        default=None, min_length=3, max_length=EMAIL_MAX, json_schema_extra=EMAIL_SCHEMA
    )
    is_active: bool | None = None
    roles: list[RoleName] | None = Field(default=None, max_length=_ROLES_MAX)
    # Mark the address proven (or not); a new email without it is mailed a verification link.
    email_verified: bool | None = None


UserPage = Page[UserRead]


def user_read(user: User, roles: Iterable[str]) -> UserRead:
    return UserRead(
        user_id=user.id,
        username=user.username,
        email=user.email,
        email_verified=user.email_verified_at is not None,
        roles=sorted(roles),
        is_active=user.is_active,
        created_at=user.created_at,
    )
