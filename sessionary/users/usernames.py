"""Usernames and emails: how they are shown and how uniqueness is decided."""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email
from pydantic import JsonValue

from sessionary.errors import InvalidInput

USERNAME_MAX = 64
EMAIL_MAX = 254
_USERNAME_SYMBOLS = frozenset("._-@+")

# The same rules as the OpenAPI document states them (JSON Schema counts code points before
# NFKC, so the server checks the exact rule after it; Python's \w is "alphanumeric or _").
USERNAME_SCHEMA: dict[str, JsonValue] = {
    "pattern": r"^[\w.@+-]+$",
    "maxLength": USERNAME_MAX,
    "description": f"1-{USERNAME_MAX} letters, digits and ._-@+ (after NFKC normalisation).",
}
# The syntax is email-validator's (RFC 5322's dot-atom, internationalised domains, a dot in
# the domain): a pattern can only approximate it; the server has the last word (422).
EMAIL_SCHEMA: dict[str, JsonValue] = {
    "pattern": r"^\s*[^@\s\u0000]+@[^@\s\u0000]+\.[^@\s\u0000]+\s*$",
    "description": f"An email address (at most {EMAIL_MAX} characters), like name@example.com.",
}


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
    """Trimmed, kept as given; raises InvalidEmail (422) unless it is an address by
    email-validator's syntax rules and fits in 254 characters.

    Syntax only: no DNS lookup (an answer must not depend on, or wait for, a resolver), and
    no special-use names (``.test``, ``localhost``) since no mail can reach them.
    """
    shown = email.strip()
    if not 3 <= len(shown) <= EMAIL_MAX:
        raise InvalidEmail(
            f"Email must look like name@example.com (at most {EMAIL_MAX} characters)"
        )
    try:
        validate_email(shown, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(f"Email must look like name@example.com: {exc}") from None
    return shown


def email_key(email: str) -> str:
    """Emails are unique case-insensitively."""
    return email.strip().casefold()
