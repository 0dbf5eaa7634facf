"""Usernames and emails: how they are shown and how uniqueness is decided."""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email
from pydantic import JsonValue

from sessionary.errors import InvalidInput

USERNAME_MAX = 64
EMAIL_MAX = 254
_USERNAME_SYMBOLS = frozenset("._-@+")

# The OpenAPI patterns are supersets of what the server accepts, never narrower: a client or
# fuzzer holding to the schema must not be told that a name the server takes is invalid. The
# server decides after NFKC (and IDNA for domains), which a pattern cannot express: "e" followed
# by U+0301, or U+FF20 for "@", make valid usernames, and U+3002 is a dot in a valid domain. So
# each pattern refuses only characters that no normalisation makes valid (the rest of ASCII, C1
# controls, whitespace), written so ECMA-262 and Python read it alike. Held by
# tests/core/test_openapi.py::TestPatternsNeverRefuseWhatTheServerTakes.
USERNAME_SCHEMA: dict[str, JsonValue] = {
    # ASCII letters, digits and ._-@+, or anything beyond ASCII but C1 controls and whitespace.
    "pattern": r"^[^\x00-\x2a\x2c\x2f\x3a-\x3f\x5b-\x5e\x60\x7b-\x9f\s]+$",
    # No maxLength of 64 here: NFKC may shorten ("e" + U+0301 is one letter), so the raw bound
    # stands (the fields' max_length, four times as many code points).
    "description": f"1-{USERNAME_MAX} letters, digits and ._-@+ (after NFKC normalisation).",
}
# The syntax is email-validator's (RFC 5322's dot-atom, internationalised domains, a dot in
# the domain, a top-level label that is not all digits): the pattern below states its shape
# and the server has the last word (422). Local part: dot-separated runs of atext or non-ASCII;
# domain: labels of ASCII letters, digits, "-" or non-ASCII, split by any IDNA full stop
# (. U+3002 U+FF0E U+FF61); around it, whitespace the server trims (Python's, which counts
# U+001C-U+001F).
_ATEXT = r"[^\x00-\x20\x22\x28\x29\x2c\x2e\x3a-\x3c\x3e\x40\x5b-\x5d\x7f-\x9f\s]"
_LABEL = r"[^\x00-\x2c\x2e\x2f\x3a-\x40\x5b-\x60\x7b-\x9f\s\u3002\uff0e\uff61]"
_NOT_DIGIT = r"[^\x00-\x2c\x2e-\x40\x5b-\x60\x7b-\x9f\s\u3002\uff0e\uff61]"
_STOP = r"[.\u3002\uff0e\uff61]"
_TRIMMED = r"[\s\x1c-\x1f]*"
EMAIL_SCHEMA: dict[str, JsonValue] = {
    "pattern": (
        rf"^{_TRIMMED}{_ATEXT}+(\.{_ATEXT}+)*"
        rf"@({_LABEL}+{_STOP})+{_LABEL}*{_NOT_DIGIT}{_LABEL}*{_TRIMMED}$"
    ),
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
