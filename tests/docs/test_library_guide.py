"""docs/library.md's examples are real: each section's files are extracted and run as an app's
developer would run them."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
GUIDE = ROOT / "docs" / "library.md"
_FILE_BLOCK = re.compile(r"<!-- file: (?P<name>[\w.]+) -->\n```python\n(?P<code>.*?)```", re.S)


def section_files(heading: str) -> dict[str, str]:
    """The ``<!-- file: … -->`` blocks under ``## heading`` (up to the next ``## ``)."""
    text = GUIDE.read_text()
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end != -1 else None]
    return {match["name"]: match["code"] for match in _FILE_BLOCK.finditer(section)}


@pytest.mark.no_db
class TestInstallingIntoYourApp:
    def test_the_section_has_an_app_and_its_tests(self) -> None:
        assert set(section_files("Installing into your app")) == {
            "myproject.py",
            "test_myproject.py",
        }

    def test_the_example_app_passes_its_tests_and_imports_only_the_public_surface(
        self, pytester: pytest.Pytester, inner_args: list[str]
    ) -> None:
        files = section_files("Installing into your app")
        app_imports = set(re.findall(r"^from (sessionary\S*) import", files["myproject.py"], re.M))
        assert app_imports == {"sessionary"}
        for name, code in files.items():
            pytester.makepyfile(**{name.removesuffix(".py"): code})

        result = pytester.runpytest_subprocess(
            *inner_args, "--sessionary-app=myproject:app", "-p", "no:cacheprovider", "-W", "error"
        )

        result.assert_outcomes(passed=5)


@pytest.mark.no_db
class TestMailFromYourRoutes:
    def test_the_apps_mail_goes_out_after_the_commit_into_the_mailbox(
        self, pytester: pytest.Pytester, inner_args: list[str]
    ) -> None:
        files = section_files("Mail from your routes")
        assert set(files) == {"mailing.py", "test_mailing.py"}
        for name, code in files.items():
            pytester.makepyfile(**{name.removesuffix(".py"): code})

        result = pytester.runpytest_subprocess(
            *inner_args, "--sessionary-app=mailing:app", "-p", "no:cacheprovider", "-W", "error"
        )

        result.assert_outcomes(passed=1)
