"""Strong entity tags built from a resource's id and version, and ``If-Match`` parsing.

A tag reads ``"<kind>-<id>-v<version>"``. ``If-Match`` is a comma list of
tags or ``*``; weak tags (``W/"…"``) never match, as RFC 9110 requires for
``If-Match``. Nothing here knows a feature: a service turns the header into
the versions its conditional UPDATE/DELETE accepts (:meth:`IfMatch.versions`). A tag that
names no version a row can have (not ASCII digits as written, or past the column) matches
nothing: 412, never an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header

from sessionary.core.inputs import INT32_MAX
from sessionary.core.openapi import answers

# One list element: ``*``, or an optionally weak quoted tag (RFC 9110 etagc, no DQUOTE).
_ELEMENT = re.compile(r'\s*(?:(\*)|(W/)?"([\x21\x23-\x7e\x80-\xff]*)")\s*(?:,|$)')
# A version as make_etag writes it: ASCII digits, no leading zero. Not ``str.isdigit``, which
# takes "²" (and ``int`` then fails: a 500); a version past the ``Integer`` column matches nothing.
_VERSION = re.compile(r"0|[1-9][0-9]{0,9}", re.ASCII)


def _version(text: str) -> int | None:
    if _VERSION.fullmatch(text) is None or int(text) > INT32_MAX:
        return None
    return int(text)


def make_etag(kind: str, ident: int, version: int) -> str:
    """The strong ETag header value for version ``version`` of ``kind`` ``ident``."""
    return f'"{kind}-{ident}-v{version}"'


@dataclass(frozen=True, slots=True)
class IfMatch:
    """A parsed ``If-Match``: ``any`` for ``*``, else the opaque strong tags listed."""

    any: bool
    tags: frozenset[str]

    def matches(self, etag: str) -> bool:
        """Whether a resource currently tagged ``etag`` (quoted) passes this precondition."""
        return self.any or etag.strip('"') in self.tags

    def versions(self, kind: str, ident: int) -> frozenset[int]:
        """The versions of ``kind`` ``ident`` this header names (empty: none can match)."""
        prefix = f"{kind}-{ident}-v"
        named = (_version(tag.removeprefix(prefix)) for tag in self.tags if tag.startswith(prefix))
        return frozenset(version for version in named if version is not None)


def parse_if_match(header: str | None) -> IfMatch | None:
    """``None`` when the header is absent; a malformed element simply matches nothing."""
    if header is None:
        return None
    any_ = False
    tags: set[str] = set()
    position = 0
    while position < len(header):
        found = _ELEMENT.match(header, position)
        if found is None or found.end() == position:
            # Malformed from here on: keep what parsed so far; the rest can match nothing.
            break
        star, weak, tag = found.groups()
        if star:
            any_ = True
        elif not weak:
            tags.add(tag)
        position = found.end()
    return IfMatch(any=any_, tags=frozenset(tags))


@answers({412: "If-Match names another version (or only weak tags)"})
def _if_match(
    if_match: Annotated[
        str | None,
        Header(description='Only act on this version: an ETag from a read, or "*".'),
    ] = None,
) -> IfMatch | None:
    return parse_if_match(if_match)


IfMatchHeader = Annotated[IfMatch | None, Depends(_if_match)]
