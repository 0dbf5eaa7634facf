"""sessionary.core.etag: tag format and If-Match parsing (no database)."""

import pytest

from sessionary.core.etag import IfMatch, make_etag, parse_if_match

pytestmark = pytest.mark.no_db


class TestMakeEtag:
    def test_strong_quoted_kind_id_version(self) -> None:
        assert make_etag("note", 7, 3) == '"note-7-v3"'


class TestParseIfMatch:
    def test_absent_header_is_none(self) -> None:
        assert parse_if_match(None) is None

    def test_star(self) -> None:
        assert parse_if_match("*") == IfMatch(any=True, tags=frozenset())

    def test_comma_list_keeps_strong_tags_and_drops_weak_ones(self) -> None:
        parsed = parse_if_match(' "a" ,W/"b",  "c"')

        assert parsed == IfMatch(any=False, tags=frozenset({"a", "c"}))

    @pytest.mark.parametrize("header", ["", "   ", "nope", '"open', 'W/"x"'])
    def test_nothing_usable_matches_nothing(self, header: str) -> None:
        parsed = parse_if_match(header)

        assert parsed is not None
        assert not parsed.any
        assert not parsed.matches('"x"')

    def test_matches(self) -> None:
        parsed = parse_if_match('"note-1-v2"')

        assert parsed is not None
        assert parsed.matches(make_etag("note", 1, 2))
        assert not parsed.matches(make_etag("note", 1, 3))
        assert IfMatch(any=True, tags=frozenset()).matches('"anything"')


class TestVersions:
    def test_only_this_resources_versions(self) -> None:
        parsed = parse_if_match('"note-1-v2", "note-1-v5", "note-11-v3", "note-1-vx", "user-1-v4"')

        assert parsed is not None
        assert parsed.versions("note", 1) == frozenset({2, 5})

    @pytest.mark.parametrize(
        "version",
        ["\u00b2", "\u0661", "\uff11", "01", "+1", " 1", "2147483648", "9" * 30, ""],
        ids=[
            "superscript",
            "arabic-indic",
            "fullwidth",
            "leading-zero",
            "sign",
            "space",
            "2**31",
            "thirty-nines",
            "empty",
        ],
    )
    def test_only_ascii_digits_within_the_column_name_a_version(self, version: str) -> None:
        parsed = parse_if_match(f'"note-1-v2147483647", "note-1-v{version}"')

        assert parsed is not None
        assert parsed.versions("note", 1) == frozenset({2147483647})
