"""docs/testing.md's example is real: its files are extracted and run as a builder would."""

import re
from pathlib import Path

import pytest

GUIDE = Path(__file__).parents[2] / "docs" / "testing.md"
_FILE_BLOCK = re.compile(r"<!-- file: (?P<name>[\w.]+) -->\n```python\n(?P<code>.*?)```", re.S)


def guide_files() -> dict[str, str]:
    return {match["name"]: match["code"] for match in _FILE_BLOCK.finditer(GUIDE.read_text())}


@pytest.mark.no_db
class TestTestingGuide:
    def test_the_guide_has_an_app_and_its_tests(self) -> None:
        assert set(guide_files()) == {"myapp.py", "test_greeting.py", "test_access.py"}

    def test_the_guides_example_passes_with_route_coverage(
        self, pytester: pytest.Pytester, inner_args: list[str]
    ) -> None:
        for name, code in guide_files().items():
            pytester.makepyfile(**{name.removesuffix(".py"): code})

        result = pytester.runpytest_subprocess(
            *inner_args, "--sessionary-app=myapp:app", "-p", "no:cacheprovider", "-W", "error"
        )

        # 7 tests, 5 rows x 4 principals, and the route-coverage test.
        result.assert_outcomes(passed=7 + 20 + 1)
