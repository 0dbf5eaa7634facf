"""Usernames and emails: how they are shown and how uniqueness is decided."""

from __future__ import annotations

import re
import unicodedata

from sessionary.errors import BadRequest

USERNAME_MAX = 64
EMAIL_MAX = 254
_USERNAME_SYMBOLS = frozenset("._-@+")
# Deliberately loose: one @, something on each side, no spaces. Deliverability is not ours to judge.
_EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+")


class InvalidUsername(BadRequest):
    pass


def normalize_username(username: str) -> str:
    """NFKC form, as shown; raises InvalidUsername when it breaks the rules."""
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
    """Trimmed; raises BadRequest unless it looks like ``local@domain`` and fits in 254."""
    shown = email.strip()
    if not 3 <= len(shown) <= EMAIL_MAX or not _EMAIL_SHAPE.fullmatch(shown):
        raise BadRequest(f"Email must look like name@example.com (at most {EMAIL_MAX} characters)")
    return shown


def email_key(email: str) -> str:
    """Emails are unique case-insensitively."""
    return email.strip().casefold()
