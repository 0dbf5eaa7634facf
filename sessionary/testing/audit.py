"""The ``audit_log`` fixture: what the app recorded during this test."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from sessionary.audit.models import AuditEvent
from sessionary.testing.isolation import TestProvider
from sessionary.testing.loops import TestLoop


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
