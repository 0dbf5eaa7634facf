"""Password policy per NIST SP 800-63B: length and a common-password list, no composition rules."""

from __future__ import annotations

import unicodedata
from functools import cache

MIN_LENGTH = 8
MAX_LENGTH = 128


@cache
def _common_passwords() -> frozenset[str]:
    # zxcvbn ships Dropbox's 30 000 most common passwords, lower-case.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def policy_violation(password: str, *, username: str | None = None) -> str | None:
    """Why ``password`` is not acceptable, or None when it is."""
    normalized = unicodedata.normalize("NFKC", password)
    length = len(normalized)
    if length < MIN_LENGTH:
        return f"Password must be at least {MIN_LENGTH} characters"
    if length > MAX_LENGTH:
        return f"Password must be at most {MAX_LENGTH} characters"
    folded = normalized.casefold()
    if folded in _common_passwords():
        return "Password is too common"
    if username is not None and folded == unicodedata.normalize("NFKC", username).casefold():
        return "Password must not be the username"
    return None
