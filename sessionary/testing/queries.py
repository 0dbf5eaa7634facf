"""Counting the SQL each request sends, for ``assert_num_queries``.

The isolation's own SAVEPOINT/RELEASE statements and transaction control are
not counted, nor anything a factory or the ``db`` fixture runs.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Protocol

from starlette.types import Scope

_NOT_COUNTED = re.compile(
    r"^\s*(SAVEPOINT|RELEASE\s+SAVEPOINT|ROLLBACK\s+TO\s+SAVEPOINT|BEGIN|COMMIT|ROLLBACK)\b",
    re.IGNORECASE,
)


# Set by the toolkit's clients around each request; requests from a hand-made client are
# told apart by their asyncio task instead (TestClient runs each request in its own task).
_current_request: ContextVar[str | None] = ContextVar("sessionary_request", default=None)
_request_numbers = itertools.count(1)


@contextmanager
def request_label(scope: Scope) -> Iterator[None]:
    """Attribute the SQL sent while the block runs to the request ``scope`` describes."""
    token = _current_request.set(f"#{next(_request_numbers)} {scope['method']} {scope['path']}")
    try:
        yield
    finally:
        _current_request.reset(token)


@dataclass
class QueryLog:
    """Statements grouped by the request (or, failing a label, the asyncio task) that sent them."""

    by_request: dict[object, list[str]] = field(default_factory=dict)
    _paused: int = 0
    _recording: int = 0

    def record(self, statement: str) -> None:
        if not self._recording or self._paused or _NOT_COUNTED.match(statement):
            return
        # The task object, not its id: ids of finished tasks are reused by the next ones.
        key = _current_request.get() or asyncio.current_task()
        self.by_request.setdefault(key, []).append(" ".join(statement.split()))

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Leave out the SQL of test set-up (factories, the ``db`` fixture)."""
        self._paused += 1
        try:
            yield
        finally:
            self._paused -= 1

    @contextmanager
    def recording(self) -> Iterator[dict[object, list[str]]]:
        """Record while the block runs; yields the per-request statement lists."""
        self.by_request.clear()
        self._recording += 1
        requests: dict[object, list[str]] = {}
        try:
            yield requests
        finally:
            self._recording -= 1
            requests.update(self.by_request)
            self.by_request.clear()


def describe(requests: dict[object, list[str]]) -> str:
    lines: list[str] = []
    for number, (key, statements) in enumerate(requests.items(), start=1):
        name = key if isinstance(key, str) else f"#{number} (hand-made client)"
        lines.append(f"request {name}: {len(statements)} queries")
        lines.extend(f"    {statement}" for statement in statements)
    return "\n".join(lines) or "no queries were sent"


class QueryCounter(Protocol):
    """``assert_num_queries`` / ``assert_max_num_queries``: a context manager factory."""

    def __call__(
        self, count: int, *, exact: bool = ...
    ) -> AbstractContextManager[dict[object, list[str]]]: ...
