"""Notes: create, read, list, update and delete, each scoped by who is asking.

:func:`readable` and :func:`writable` are the only places that decide whose
notes a principal reaches; every query here starts from them, so another
user's note is simply not found (404, never 403: its existence does not leak).
``If-Match`` is checked inside the UPDATE/DELETE statement itself
(``WHERE id = :id AND version IN (…)``): two editors holding the same ETag
cannot both win, whatever the isolation level.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, select, true
from sqlalchemy import delete as delete_rows
from sqlalchemy import update as update_rows
from sqlalchemy.ext.asyncio import AsyncSession

from sessionary import clock
from sessionary.core.etag import IfMatch, make_etag
from sessionary.core.pagination import PageRequest
from sessionary.errors import NotFound, PreconditionFailed
from sessionary.identity.principal import Principal
from sessionary.notes.models import Note
from sessionary.roles.permissions import Permission

ETAG_KIND = "note"


def _own_unless(principal: Principal, permission: Permission) -> ColumnElement[bool]:
    if permission in principal.permissions:
        return true()
    return Note.owner_id == principal.user_id


def readable(principal: Principal) -> Select[Note]:
    """The notes ``principal`` may see: its own, or everyone's with ``notes:read_all``."""
    return select(Note).where(_own_unless(principal, Permission.NOTES_READ_ALL))


def writable(principal: Principal) -> ColumnElement[bool]:
    """The notes ``principal`` may change: its own, or with ``notes:write_all`` everyone's
    it may also read (a PATCH answers with the whole note, so writing never shows more)."""
    return and_(
        _own_unless(principal, Permission.NOTES_READ_ALL),
        _own_unless(principal, Permission.NOTES_WRITE_ALL),
    )


def etag(note: Note) -> str:
    return make_etag(ETAG_KIND, note.id, note.version)


def _precondition(note_id: int, if_match: IfMatch | None) -> list[ColumnElement[bool]]:
    """No header: unconditional; ``*``: any existing note; else one of the listed versions."""
    if if_match is None or if_match.any:
        return []
    return [Note.version.in_(if_match.versions(ETAG_KIND, note_id))]


async def _refusal(db: AsyncSession, principal: Principal, note_id: int) -> Exception:
    """Why a conditional write touched no row: the note is gone (or not ours) or it moved on."""
    reachable = await db.scalar(select(Note.id).where(Note.id == note_id, writable(principal)))
    return NotFound("Note not found") if reachable is None else PreconditionFailed()


async def create(db: AsyncSession, *, owner_id: int, title: str, body: str = "") -> Note:
    now = clock.now()
    note = Note(
        owner_id=owner_id, title=title, body=body, version=1, created_at=now, updated_at=now
    )
    db.add(note)
    await db.flush()
    return note


async def get(db: AsyncSession, principal: Principal, note_id: int) -> Note:
    note = await db.scalar(readable(principal).where(Note.id == note_id))
    if note is None:
        raise NotFound("Note not found")
    return note


async def list_page(db: AsyncSession, principal: Principal, page: PageRequest) -> Sequence[Note]:
    """Up to ``limit + 1`` notes by id (the extra one tells :func:`page_of` more follow)."""
    return (await db.scalars(page.window(readable(principal).order_by(Note.id)))).all()


async def update(
    db: AsyncSession,
    principal: Principal,
    note_id: int,
    changes: dict[str, Any],
    if_match: IfMatch | None,
) -> Note:
    """Apply ``changes`` (title/body), bumping ``version`` and ``updated_at``. No changes: the
    precondition is still checked, but nothing moves (an empty PATCH fails no other editor)."""
    values = {**changes, "version": Note.version + 1, "updated_at": clock.now()}
    statement = (
        update_rows(Note)
        .where(Note.id == note_id, writable(principal), *_precondition(note_id, if_match))
        .values(values if changes else {"version": Note.version})
        .returning(Note)
        .execution_options(populate_existing=True)
    )
    note = (await db.scalars(statement)).one_or_none()
    if note is None:
        raise await _refusal(db, principal, note_id)
    return note


async def delete(
    db: AsyncSession, principal: Principal, note_id: int, if_match: IfMatch | None
) -> None:
    statement = (
        delete_rows(Note)
        .where(Note.id == note_id, writable(principal), *_precondition(note_id, if_match))
        .returning(Note.id)
    )
    if (await db.execute(statement)).scalar_one_or_none() is None:
        raise await _refusal(db, principal, note_id)
