"""Counting the SQL each request sends, for ``assert_num_queries``.

The isolation's own SAVEPOINT/RELEASE statements and transaction control are
not counted, nor anything a factory or the ``db`` fixture runs.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Protocol

_NOT_COUNTED = re.compile(
    r"^\s*(SAVEPOINT|RELEASE\s+SAVEPOINT|ROLLBACK\s+TO\s+SAVEPOINT|BEGIN|COMMIT|ROLLBACK)\b",
    re.IGNORECASE,
)


@dataclass
class QueryLog:
    """Statements grouped by the asyncio task (one per request) that sent them."""

    by_task: dict[int, list[str]] = field(default_factory=dict)
    _paused: int = 0
    _recording: int = 0

    def record(self, statement: str) -> None:
        if not self._recording or self._paused or _NOT_COUNTED.match(statement):
            return
        task = asyncio.current_task()
        self.by_task.setdefault(id(task), []).append(" ".join(statement.split()))

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Leave out the SQL of test set-up (factories, the ``db`` fixture)."""
        self._paused += 1
        try:
            yield
        finally:
            self._paused -= 1

    @contextmanager
    def recording(self) -> Iterator[list[list[str]]]:
        """Record while the block runs; yields the per-request statement lists."""
        self.by_task.clear()
        self._recording += 1
        requests: list[list[str]] = []
        try:
            yield requests
        finally:
            self._recording -= 1
            requests.extend(self.by_task.values())
            self.by_task.clear()


def describe(requests: list[list[str]]) -> str:
    lines: list[str] = []
    for number, statements in enumerate(requests, start=1):
        lines.append(f"request {number}: {len(statements)} queries")
        lines.extend(f"    {statement}" for statement in statements)
    return "\n".join(lines) or "no queries"


class QueryCounter(Protocol):
    """``assert_num_queries`` / ``assert_max_num_queries``: a context manager factory."""

    def __call__(
        self, count: int, *, exact: bool = ...
    ) -> AbstractContextManager[list[list[str]]]: ...
