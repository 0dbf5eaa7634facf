"""Bodies of the note routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sessionary.core.inputs import RequestBody
from sessionary.core.pagination import Page

TITLE_MAX = 200
BODY_MAX = 10_000


class NoteRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    owner_id: int
    title: str
    body: str
    created_at: datetime
    updated_at: datetime


class NoteCreate(RequestBody):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=TITLE_MAX)
    body: str = Field(default="", max_length=BODY_MAX)


def _string_only(schema: dict[str, Any]) -> None:
    """Document what is accepted: a string or nothing (no null, no default to send)."""
    strings = [branch for branch in schema.pop("anyOf", []) if branch.get("type") != "null"]
    schema.update(*strings)
    schema.pop("default", None)


class NoteUpdate(RequestBody):
    """Either field may be left out; neither may be null (the columns are not nullable)."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(
        default=None, min_length=1, max_length=TITLE_MAX, json_schema_extra=_string_only
    )
    body: str | None = Field(default=None, max_length=BODY_MAX, json_schema_extra=_string_only)

    @field_validator("title", "body")
    @classmethod
    def _not_null(cls, value: str | None) -> str:
        # Defaults are not validated, so this only sees an explicit ``null``.
        if value is None:
            raise ValueError("may be left out, but not null")
        return value


class NotePage(Page[NoteRead]):
    """A page of notes, by id."""
