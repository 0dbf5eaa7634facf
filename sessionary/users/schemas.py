"""Bodies of the user routes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from sessionary.users.models import User
from sessionary.users.usernames import EMAIL_MAX


class ProtectedData(BaseModel):
    """The original example's view of the current user."""

    user_id: int
    username: str
    email: str


class UserRead(BaseModel):
    user_id: int
    username: str
    email: str
    roles: list[str]
    is_active: bool
    created_at: datetime


class UserMe(UserRead):
    permissions: list[str]


class UserMeUpdate(BaseModel):
    """What a user may change about themselves: only the email (roles and activity are not
    theirs to set; any other field is a 422)."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=EMAIL_MAX)


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=128 * 18)
    new_password: str = Field(min_length=1, max_length=128 * 18)


def user_read(user: User, roles: Iterable[str]) -> UserRead:
    return UserRead(
        user_id=user.id,
        username=user.username,
        email=user.email,
        roles=sorted(roles),
        is_active=user.is_active,
        created_at=user.created_at,
    )
