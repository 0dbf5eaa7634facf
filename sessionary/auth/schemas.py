"""Request and response bodies of the authentication routes."""

from __future__ import annotations

import unicodedata
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from sessionary.core.inputs import RequestBody
from sessionary.core.password_policy import MAX_LENGTH as PASSWORD_MAX
from sessionary.core.password_policy import MIN_LENGTH as PASSWORD_MIN
from sessionary.users.usernames import EMAIL_MAX, EMAIL_SCHEMA, USERNAME_MAX, USERNAME_SCHEMA


def _at_most_max_after_nfkc(value: str) -> str:
    if len(unicodedata.normalize("NFKC", value)) > PASSWORD_MAX:
        raise ValueError(f"at most {PASSWORD_MAX} characters")
    return value


# NFKC can expand a character (up to 18 code points), so the raw bound is loose and the
# exact one is checked after normalisation.
_RAW_PASSWORD_MAX = PASSWORD_MAX * 18

# What the OpenAPI document states is the rule itself, counted after NFKC (JSON Schema counts
# raw code points: a client that keeps within these is never refused for the length alone).
PRESENTED_PASSWORD: dict[str, JsonValue] = {
    "maxLength": PASSWORD_MAX,
    "description": f"At most {PASSWORD_MAX} code points after NFKC normalisation.",
}
NEW_PASSWORD: dict[str, JsonValue] = {
    # No minLength: NFKC can lengthen a password ("¾" is three code points after it).
    "maxLength": PASSWORD_MAX,
    "description": f"{PASSWORD_MIN}-{PASSWORD_MAX} code points after NFKC normalisation; not a "
    "common password, not the username (else 422 saying why).",
}


class LoginRequest(RequestBody):
    model_config = ConfigDict(extra="forbid")

    # Only the maximums: any other rule here would tell an attacker what exists.
    username: str = Field(min_length=1, max_length=USERNAME_MAX * 4)
    password: str = Field(
        min_length=1, max_length=_RAW_PASSWORD_MAX, json_schema_extra=PRESENTED_PASSWORD
    )

    _password = field_validator("password")(_at_most_max_after_nfkc)


class LoginResponse(BaseModel):
    message: str = "Login successful"
    user_id: int
    username: str
    expires_at: datetime


class ReauthRequest(RequestBody):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(
        min_length=1, max_length=_RAW_PASSWORD_MAX, json_schema_extra=PRESENTED_PASSWORD
    )

    _password = field_validator("password")(_at_most_max_after_nfkc)


class RegisterRequest(RequestBody):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(
        min_length=1, max_length=USERNAME_MAX * 4, json_schema_extra=USERNAME_SCHEMA
    )
    email: str = Field(min_length=3, max_length=EMAIL_MAX, json_schema_extra=EMAIL_SCHEMA)
    # The policy (8-128 after NFKC, not common, not the username) answers 422 with its reason.
    password: str = Field(
        min_length=1, max_length=_RAW_PASSWORD_MAX, json_schema_extra=NEW_PASSWORD
    )


class SessionRead(BaseModel):
    """One of my sessions (never its token or hash)."""

    id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str | None
    current: bool


# Our tokens are 43 characters; anything past this is not one (422 before any lookup).
TOKEN_MAX = 128


class EmailRequest(RequestBody):
    """An address to mail a link to (a password reset, a new verification link)."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=EMAIL_MAX, json_schema_extra=EMAIL_SCHEMA)


class PasswordResetConfirm(RequestBody):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=TOKEN_MAX, description="From the mailed link.")
    new_password: str = Field(
        min_length=1, max_length=_RAW_PASSWORD_MAX, json_schema_extra=NEW_PASSWORD
    )


class EmailVerification(RequestBody):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=TOKEN_MAX, description="From the mailed link.")
