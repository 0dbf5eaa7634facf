"""The audit log in tests: the ``audit_log`` fixture (what the app recorded during this test),
and the secret-leak sentinel's look at every audit event the app writes.

A feature helper of ``sessionary.testing``, written with the calls an app uses for its own (a
fixture, :func:`~sessionary.testing.scan_for_secrets`) and loaded by the plugin from its list
of helpers. The sentinel learns of each new event from SQLAlchemy's ``after_insert`` event on
the mapped class, so nothing depends on the table's name or the SQL that wrote it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import event as orm_events
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper

from sessionary.audit.models import AuditEvent
from sessionary.testing.fixtures import isolated
from sessionary.testing.isolation import TestProvider
from sessionary.testing.loops import TestLoop
from sessionary.testing.sentinel import scan_for_secrets


def _id(value: Any) -> Any:
    return getattr(value, "id", value)


class AuditLog:
    """``events(type=…)`` and ``assert_recorded(type, actor=…, target=…)``; in async tests
    ``await aevents(…)`` and ``await aassert_recorded(…)``. ``actor``/``target`` take a row
    (anything with ``.id``) or an id."""

    def __init__(self, provider: TestProvider, loop: TestLoop) -> None:
        self._provider = provider
        self._loop = loop

    async def aevents(self, type: str | None = None) -> list[AuditEvent]:
        statement = select(AuditEvent).order_by(AuditEvent.id)
        if type is not None:
            statement = statement.where(AuditEvent.type == type)
        with self._provider.queries.paused():
            async with self._provider.write() as session:
                return list(await session.scalars(statement))

    def events(self, type: str | None = None) -> list[AuditEvent]:
        return self._loop.call(lambda: self.aevents(type))

    async def aassert_recorded(
        self,
        type: str,
        *,
        actor: Any = None,
        target: Any = None,
    ) -> AuditEvent:
        return _find(await self.aevents(type), type, actor, target)

    def assert_recorded(
        self,
        type: str,
        *,
        actor: Any = None,
        target: Any = None,
    ) -> AuditEvent:
        return _find(self.events(type), type, actor, target)


def _find(events: list[AuditEvent], type_: str, actor: Any, target: Any) -> AuditEvent:
    for event in events:
        if actor is not None and _id(actor) not in (event.actor_user_id, event.actor_api_key_id):
            continue
        if target is not None and str(_id(target)) != event.target_id:
            continue
        return event
    seen = [
        f"{e.type} actor={e.actor_user_id or e.actor_api_key_id} "
        f"target={e.target_type}:{e.target_id}"
        for e in events
    ]
    wanted = (
        f"{type_}"
        + (f" by {_id(actor)}" if actor is not None else "")
        + (f" on {_id(target)}" if target is not None else "")
    )
    raise AssertionError(f"no audit event {wanted}; recorded {type_!r} events: {seen or 'none'}")


@pytest.fixture
def audit_log(sessionary_app: FastAPI, sessionary_loop: TestLoop) -> AuditLog:
    """What the app recorded in the audit log during this test: ``events(type=…)``,
    ``assert_recorded(type, actor=…, target=…)`` (async: ``aevents``, ``aassert_recorded``)."""
    return AuditLog(isolated(sessionary_app), sessionary_loop)


def _scan_new_event(_mapper: Mapper[Any], _connection: Connection, new: AuditEvent) -> None:
    # Read when the test ends, once every secret of the test is known.
    fields = (new.type, new.target_id, new.user_agent, new.detail)
    scan_for_secrets(" ".join(str(value) for value in fields), f"an audit event ({new.type})")


@pytest.fixture(scope="session", autouse=True)
def _sessionary_audit_sentinel() -> Iterator[None]:
    # For this run only: the app's own use of the model is left as it was.
    orm_events.listen(AuditEvent, "after_insert", _scan_new_event)
    yield
    orm_events.remove(AuditEvent, "after_insert", _scan_new_event)
