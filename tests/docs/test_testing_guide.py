"""docs/testing.md's example is real: its files are extracted and run as a builder would."""

import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
GUIDE = ROOT / "docs" / "testing.md"
_FILE_BLOCK = re.compile(r"<!-- file: (?P<name>[\w.]+) -->\n```python\n(?P<code>.*?)```", re.S)


def guide_files() -> dict[str, str]:
    return {match["name"]: match["code"] for match in _FILE_BLOCK.finditer(GUIDE.read_text())}


@pytest.mark.no_db
class TestTestingGuide:
    def test_the_guide_has_an_app_and_its_tests(self) -> None:
        assert set(guide_files()) == {"myapp.py", "test_greeting.py", "test_access.py"}

    def test_every_python_snippet_compiles(self) -> None:
        # The factory and matrix_object snippets name an app's own model: compiled, not run.
        snippets = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.S)
        assert len(snippets) >= 5
        for number, code in enumerate(snippets, start=1):
            compile(textwrap.dedent(code), f"docs/testing.md snippet {number}", "exec")

    def test_the_guides_example_passes_with_route_coverage(
        self, pytester: pytest.Pytester, inner_args: list[str]
    ) -> None:
        for name, code in guide_files().items():
            pytester.makepyfile(**{name.removesuffix(".py"): code})
        # No copy of Sessionary's matrix: its routes are covered by the one it ships.

        result = pytester.runpytest_subprocess(
            *inner_args, "--sessionary-app=myapp:app", "-p", "no:cacheprovider", "-W", "error", "-v"
        )

        outcomes = result.parseoutcomes()
        assert outcomes.get("failed", 0) == outcomes.get("errors", 0) == 0, result.stdout.str()
        result.stdout.fnmatch_lines(
            [
                "*test_access.py::test_access?GET /report as member -> 403? PASSED*",
                "*test_greeting.py::test_the_same_from_an_async_client PASSED*",
                "*authz_route_coverage PASSED*",
            ]
        )
