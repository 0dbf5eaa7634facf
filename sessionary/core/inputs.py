"""What a client may send, bounded by what the database can store: never a 5xx for input.

A value the database cannot hold used to reach it and fail there, differently per engine
(SQLite: ``OverflowError``, a 500; PostgreSQL: a driver error, a 503). These types stop it at
the edge, the same on both engines; a new resource gets the rules by using them.

* :data:`ResourceId`, an id in a path. Every id column is ``Integer`` (32-bit on PostgreSQL;
  SQLite's INTEGER is wider, but the models and migrations fix the narrower range). A path
  id says *which* resource: one outside the column's range cannot exist, so it is 404
  ("Not found", no query run) — the answer for any missing resource, after the route's
  authentication and permission checks (FastAPI runs a route's dependencies before it
  validates its path). A value that is not an integer at all stays FastAPI's 422.
* :data:`Int32`, an integer query value naming a row (``actor``): out of range is 422.
* :class:`RequestBody`, the base of every JSON request body: ``extra="forbid"``, and no NUL
  (``\\x00``) in any string at any depth. PostgreSQL cannot store NUL in text (it answered
  503) while SQLite stored it; now both answer 422 before any work, which keeps login's
  non-enumeration (the same 422 for every account, nothing looked up, nothing hashed).
  :data:`Text` is the same rule for a string path or query parameter.
* :data:`Moment`, a client's timestamp: it must carry an offset (naive is 422, as FastAPI's
  ``AwareDatetime``) and convert to UTC; ``9999-12-31T23:59:59-14:00`` does not (Python
  raised ``OverflowError``, a 500): 422. It must also be what the OpenAPI document's
  ``format: date-time`` promises, RFC 3339 (``2026-01-31T12:00:00Z``, ``…+01:00``, fractions
  allowed): pydantic alone also reads a number (``0.5``, a query string too) as a Unix
  timestamp and lets a missing seconds field or a space for the ``T`` pass; those are 422.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from annotated_types import Interval
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    field_validator,
)
from pydantic.json_schema import WithJsonSchema
from pydantic_core import PydanticCustomError

from sessionary.errors import NotFound

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


def _existing_id(value: int) -> int:
    if not INT32_MIN <= value <= INT32_MAX:
        # Not a validation error (that would be 422): pydantic lets any other exception
        # through, and the error handlers answer it like the service's own 404.
        raise NotFound()
    return value


ResourceId = Annotated[
    int,
    AfterValidator(_existing_id),
    WithJsonSchema({"type": "integer", "minimum": INT32_MIN, "maximum": INT32_MAX}),
]
"""An id in a path: outside the ``Integer`` column's range it is a 404, as a missing row."""

Int32 = Annotated[int, Interval(ge=INT32_MIN, le=INT32_MAX)]
"""An integer query value compared with an ``Integer`` column: outside its range, 422."""


def _nul_error() -> PydanticCustomError:
    return PydanticCustomError("string_nul", "String must not contain the NUL character")


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(_contains_nul(key) or _contains_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(_contains_nul(item) for item in value)
    return False


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise _nul_error()
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
"""A string path or query parameter without NUL (422 otherwise)."""


# No NUL, as JSON Schema says it (ECMA-262 and Python both read \u0000).
NO_NUL_PATTERN = "^[^\\u0000]*$"


def _declare_no_nul(schema: dict[str, Any]) -> None:
    """The schema says what :class:`RequestBody` refuses: a string property without a
    pattern of its own gets one that excludes NUL (the ones with a pattern exclude it)."""
    for prop in schema.get("properties", {}).values():
        _declare_no_nul_in(prop)


def _declare_no_nul_in(option: dict[str, Any]) -> None:
    # A string, the options of a nullable field, the items of a list (of a nullable list).
    if option.get("type") == "string" and not option.keys() & {"pattern", "enum", "format"}:
        option["pattern"] = NO_NUL_PATTERN
    for nested in option.get("anyOf", []):
        _declare_no_nul_in(nested)
    if "items" in option:
        _declare_no_nul_in(option["items"])


class RequestBody(BaseModel):
    """Base of every JSON request body: unknown fields and NUL in any string are 422 (and
    the OpenAPI schema says so, so a schema-valid body is never refused for it)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_declare_no_nul)

    @field_validator("*", mode="before")
    @classmethod
    def _reject_nul(cls, value: Any) -> Any:
        # Before coercion, so strings inside lists and objects are seen as sent.
        if _contains_nul(value):
            raise _nul_error()
        return value


_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})", re.ASCII
)


def _rfc3339(value: Any) -> Any:
    # A datetime comes from Python callers; a client sends text.
    if isinstance(value, datetime) or (isinstance(value, str) and _RFC3339.fullmatch(value)):
        return value
    raise PydanticCustomError(
        "datetime_format", "Datetime must be RFC 3339, like 2026-01-31T12:00:00Z"
    )


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError(
            "datetime_range", "Datetime must be representable in UTC (years 1-9999)"
        ) from None


Moment = Annotated[AwareDatetime, BeforeValidator(_rfc3339), AfterValidator(_in_utc)]
"""A timestamp from a client in RFC 3339 form, with an offset, given back in UTC (422 when it
is not RFC 3339, has no offset or falls outside years 1-9999 once in UTC)."""
