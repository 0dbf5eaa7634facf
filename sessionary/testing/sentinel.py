"""The secret-leak sentinel: a test fails when a secret minted during it shows up where it
must not — a log record, or any response body other than the one that issued it.

Secrets are learnt as the test runs: passwords given to factories or sent to the
app (any JSON field whose name contains "password"), session tokens (from
``Set-Cookie`` or ``login_as``) and keys or tokens a response hands out (JSON
fields ``key``/``token``). Values shorter than 8 characters are not tracked.

Test helpers feed it through two public calls, Sessionary's feature helpers and an app's
alike: :func:`track_secret` for a secret minted outside a request (a factory's password),
:func:`scan_for_secrets` for text the app stored (an audit row), read when the test ends.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

MIN_LENGTH = 8


@dataclass
class SecretSentinel:
    secrets: dict[str, tuple[str, object]] = field(default_factory=dict)  # value -> (kind, issuer)
    leaks: list[str] = field(default_factory=list)
    stored: list[tuple[str, str]] = field(default_factory=list)  # (text, where), read at the end

    def add(self, value: object, kind: str, *, issuer: object = None) -> None:
        if isinstance(value, str) and len(value) >= MIN_LENGTH and value not in self.secrets:
            self.secrets[value] = (kind, issuer)

    def scan(self, text: str, where: str, *, issuer: object = None) -> None:
        """Record every known secret found in ``text`` (except those ``issuer`` handed out)."""
        for value, (kind, issued_by) in self.secrets.items():
            if issued_by is not None and issued_by is issuer:
                continue
            if value in text:
                self.leaks.append(f"a {kind} appeared in {where}")

    def learn_from_request(self, body: bytes) -> None:
        for name, value in _json_fields(body):
            if "password" in name.lower():
                self.add(value, "password")

    def learn_from_response(self, body: bytes, issuer: object) -> None:
        for name, value in _json_fields(body):
            if name in {"key", "token", "access_token"}:
                self.add(value, name.replace("_", " "), issuer=issuer)


def _json_fields(body: bytes) -> list[tuple[str, Any]]:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return []
    found: list[tuple[str, Any]] = []
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for name, value in item.items():
                found.append((str(name), value))
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return found


class LogCapture(logging.Handler):
    """Keeps every record (all levels) for the sentinel to read at the end of the test."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # structlog hands the event dict over as ``msg``; str() shows every value.
        try:
            self.texts.append(f"{record.getMessage()} {record.msg!s}")
        except Exception:
            self.texts.append(str(record.msg))


_active: SecretSentinel | None = None


def active() -> SecretSentinel | None:
    """The running test's sentinel (None outside a test or with no database)."""
    return _active


def activate(sentinel: SecretSentinel | None) -> None:
    global _active
    _active = sentinel


def track_secret(value: object, kind: str) -> None:
    """Tell the running test's sentinel about a secret made outside a request (``kind`` names
    it in the failure: "password", "API key"); the test fails if it shows up in a log record or
    a response. Nothing happens outside a test."""
    if _active is not None:
        _active.add(value, kind)


def scan_for_secrets(text: str, where: str) -> None:
    """Text the app stored during the test (``where``: "an audit event"), checked for every
    secret of the test when it ends. Nothing happens outside a test."""
    if _active is not None:
        _active.stored.append((text, where))
