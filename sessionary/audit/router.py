"""The audit log, read-only: ``GET /audit-events``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from sessionary.audit import service as audit_service
from sessionary.audit.schemas import AuditEventPage, AuditEventRead
from sessionary.audit.service import EventFilter, EventType
from sessionary.core.dependencies import DbSession
from sessionary.core.inputs import Int32, Moment
from sessionary.core.pagination import PageParams, page_of
from sessionary.identity.dependencies import require
from sessionary.roles.permissions import Permission

router = APIRouter(tags=["audit"])


def _filters(
    actor: Annotated[Int32 | None, Query(description="Acting user id.")] = None,
    type: Annotated[EventType | None, Query(description="Event type.")] = None,
    since: Annotated[Moment | None, Query(description="From (inclusive).")] = None,
    until: Annotated[Moment | None, Query(description="Until (exclusive).")] = None,
) -> EventFilter:
    return EventFilter(actor_user_id=actor, type=type, since=since, until=until)


@router.get(
    "/audit-events",
    response_model=AuditEventPage,
    dependencies=[Depends(require(Permission.AUDIT_READ))],
)
async def list_audit_events(
    db: DbSession, page: PageParams, filters: Annotated[EventFilter, Depends(_filters)]
) -> AuditEventPage:
    """Audit events, newest first, filtered by actor, type and time."""
    events = await audit_service.list_events(db, filters, page)
    return page_of([AuditEventRead.model_validate(event) for event in events], page)
