"""Request and response bodies of the authentication routes."""

from __future__ import annotations

import unicodedata
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sessionary.core.password_policy import MAX_LENGTH as PASSWORD_MAX
from sessionary.users.usernames import USERNAME_MAX


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Only the maximums: any other rule here would tell an attacker what exists.
    username: str = Field(min_length=1, max_length=USERNAME_MAX * 4)
    password: str = Field(min_length=1, max_length=PASSWORD_MAX * 4)

    @field_validator("password")
    @classmethod
    def _password_length(cls, value: str) -> str:
        if len(unicodedata.normalize("NFKC", value)) > PASSWORD_MAX:
            raise ValueError(f"at most {PASSWORD_MAX} characters")
        return value


class LoginResponse(BaseModel):
    message: str = "Login successful"
    user_id: int
    username: str
    expires_at: datetime
