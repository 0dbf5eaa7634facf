"""Notes: the example resource with object-level authorization and optimistic concurrency."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status

from sessionary.core.dependencies import DbSession
from sessionary.core.etag import IfMatchHeader
from sessionary.core.inputs import ResourceId
from sessionary.core.pagination import PageParams, page_of
from sessionary.identity.dependencies import require
from sessionary.identity.principal import Principal
from sessionary.notes import service as notes_service
from sessionary.notes.models import Note
from sessionary.notes.schemas import NoteCreate, NotePage, NoteRead, NoteUpdate
from sessionary.roles.permissions import Permission

router = APIRouter(tags=["notes"])

NotesReader = Annotated[Principal, Depends(require(Permission.NOTES_READ))]
NotesWriter = Annotated[Principal, Depends(require(Permission.NOTES_WRITE))]

_ETAG = {"ETag": {"description": "The note's version, for If-Match", "schema": {"type": "string"}}}
# 401 and 403 are documented by the principal and require() dependencies themselves.
_ONE_NOTE: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such note, or not one this principal may reach"},
}
_CONDITIONAL: dict[int | str, dict[str, Any]] = {
    **_ONE_NOTE,
    412: {"description": "If-Match names another version (or a weak tag)"},
}


def _tagged(response: Response, note: Note) -> NoteRead:
    response.headers["ETag"] = notes_service.etag(note)
    return NoteRead.model_validate(note)


@router.get("/notes", response_model=NotePage)
async def list_notes(principal: NotesReader, db: DbSession, page: PageParams) -> NotePage:
    """My notes by id (everyone's with notes:read_all)."""
    notes = await notes_service.list_page(db, principal, page)
    items = [NoteRead.model_validate(note) for note in notes]
    return NotePage.model_validate(page_of(items, page), from_attributes=True)


@router.post(
    "/notes",
    status_code=status.HTTP_201_CREATED,
    response_model=NoteRead,
    responses={201: {"headers": _ETAG}},
)
async def create_note(
    body: NoteCreate, principal: NotesWriter, db: DbSession, response: Response
) -> NoteRead:
    """Write a new note of my own."""
    note = await notes_service.create(
        db, owner_id=principal.user_id, title=body.title, body=body.body
    )
    response.headers["Location"] = f"/notes/{note.id}"
    return _tagged(response, note)


@router.get(
    "/notes/{note_id}",
    response_model=NoteRead,
    responses={200: {"headers": _ETAG}, **_ONE_NOTE},
)
async def read_note(
    note_id: ResourceId, principal: NotesReader, db: DbSession, response: Response
) -> NoteRead:
    """One note (mine, or anyone's with notes:read_all); another user's note is a 404."""
    return _tagged(response, await notes_service.get(db, principal, note_id))


@router.patch(
    "/notes/{note_id}",
    response_model=NoteRead,
    responses={200: {"headers": _ETAG}, **_CONDITIONAL},
)
async def update_note(
    note_id: ResourceId,
    body: NoteUpdate,
    principal: NotesWriter,
    db: DbSession,
    if_match: IfMatchHeader,
    response: Response,
) -> NoteRead:
    """Change a note's title or body; with If-Match only if it is still that version."""
    changes = body.model_dump(exclude_unset=True)
    note = await notes_service.update(db, principal, note_id, changes, if_match)
    return _tagged(response, note)


@router.delete("/notes/{note_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_CONDITIONAL)
async def delete_note(
    note_id: ResourceId, principal: NotesWriter, db: DbSession, if_match: IfMatchHeader
) -> Response:
    """Delete a note; with If-Match only if it is still that version."""
    await notes_service.delete(db, principal, note_id, if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
