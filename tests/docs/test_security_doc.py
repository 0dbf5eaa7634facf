"""docs/security.md names the test behind each guarantee: those tests must exist."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
DOC = ROOT / "docs" / "security.md"
_REFERENCE = re.compile(r"`(tests/[\w/]+\.py)?(?:::(\w+))?[^`]*`|`::(\w+)`")


def references() -> list[tuple[str, str | None]]:
    """(file, class) pairs; a bare ``::Class`` belongs to the file named before it."""
    found: list[tuple[str, str | None]] = []
    current = ""
    for match in _REFERENCE.finditer(DOC.read_text()):
        path, cls, bare = match.groups()
        if path:
            current = path
            found.append((path, cls))
        elif bare:
            found.append((current, bare))
    return found


@pytest.mark.no_db
class TestSecurityDoc:
    def test_it_names_tests(self) -> None:
        assert len(references()) > 40

    @pytest.mark.parametrize(("path", "cls"), references())
    def test_every_named_test_exists(self, path: str, cls: str | None) -> None:
        source = (ROOT / path).read_text()
        if cls is not None:
            assert re.search(rf"^class {cls}\b", source, re.M), f"{path} has no class {cls}"
