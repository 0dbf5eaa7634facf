"""Usernames and emails: how they are shown and how uniqueness is decided."""

from __future__ import annotations

import re
import unicodedata

from pydantic import JsonValue

from sessionary.errors import InvalidInput

USERNAME_MAX = 64
EMAIL_MAX = 254
_USERNAME_SYMBOLS = frozenset("._-@+")
# Deliberately loose: one @, something on each side, no spaces. Deliverability is not ours to judge.
_EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+")

# The same rules as the OpenAPI document states them (JSON Schema counts code points before
# NFKC, so the server checks the exact rule after it; Python's \w is "alphanumeric or _").
USERNAME_SCHEMA: dict[str, JsonValue] = {
    "pattern": r"^[\w.@+-]+$",
    "maxLength": USERNAME_MAX,
    "description": f"1-{USERNAME_MAX} letters, digits and ._-@+ (after NFKC normalisation).",
}
EMAIL_SCHEMA: dict[str, JsonValue] = {"pattern": r"^\s*[^@\s]+@[^@\s]+\s*$"}


class InvalidUsername(InvalidInput):
    field = "username"


class InvalidEmail(InvalidInput):
    field = "email"


def normalize_username(username: str) -> str:
    """NFKC form, as shown; raises InvalidUsername (422) when it breaks the rules."""
    shown = unicodedata.normalize("NFKC", username)
    if not 1 <= len(shown) <= USERNAME_MAX:
        raise InvalidUsername(f"Username must be 1-{USERNAME_MAX} characters")
    if not all(char.isalnum() or char in _USERNAME_SYMBOLS for char in shown):
        raise InvalidUsername("Username may contain only letters, digits and ._-@+")
    return shown


def username_key(username: str) -> str:
    """What uniqueness is decided on: NFKC, then case-folded."""
    return unicodedata.normalize("NFKC", username).casefold()


def normalize_email(email: str) -> str:
    """Trimmed; raises InvalidEmail (422) unless it looks like ``local@domain`` and fits in 254."""
    shown = email.strip()
    if not 3 <= len(shown) <= EMAIL_MAX or not _EMAIL_SHAPE.fullmatch(shown):
        raise InvalidEmail(
            f"Email must look like name@example.com (at most {EMAIL_MAX} characters)"
        )
    return shown


def email_key(email: str) -> str:
    """Emails are unique case-insensitively."""
    return email.strip().casefold()
