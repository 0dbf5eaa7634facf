"""Response bodies of the user routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class ProtectedData(BaseModel):
    """The original example's view of the current user."""

    user_id: int
    username: str
    email: str


class UserMe(BaseModel):
    user_id: int
    username: str
    email: str
    roles: list[str]
    permissions: list[str]
    is_active: bool
    created_at: datetime
