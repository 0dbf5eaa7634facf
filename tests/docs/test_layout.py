"""The tree says what the README says, and the package's layers point one way."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.no_db

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "sessionary"
# Test folders that mirror no package, and why.
TEST_ONLY = {
    "seed": "the original example's test module",
    "docs": "the documents' claims",
}
# What each layer may import from sessionary (besides itself).
DOMAIN_FREE = {"core", "config", "errors", "clock"}
ALLOWED = {
    "core": DOMAIN_FREE,
    "identity": DOMAIN_FREE,
    "mail": DOMAIN_FREE,
}


def packages() -> set[str]:
    return {path.parent.name for path in PACKAGE.glob("*/__init__.py")}


def layout_rows() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)/` \|", section, flags=re.MULTILINE))


def imported_packages(package: str) -> set[str]:
    found: set[str] = set()
    for module in (PACKAGE / package).rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found |= {name.split(".")[1] for name in names if name.startswith("sessionary.")}
    return found - {package}


class TestTheReadmeLayout:
    def test_names_every_package_and_no_other(self) -> None:
        assert layout_rows() == packages()

    def test_tests_mirror_the_package(self) -> None:
        folders = {path.parent.name for path in (ROOT / "tests").glob("*/__init__.py")}

        assert folders - packages() <= TEST_ONLY.keys()


class TestLayers:
    @pytest.mark.parametrize("package", sorted(ALLOWED))
    def test_imports_nothing_above_it(self, package: str) -> None:
        assert imported_packages(package) <= ALLOWED[package]

    def test_sessions_never_import_auth(self) -> None:
        assert "auth" not in imported_packages("sessions")

    def test_every_module_says_what_it_is(self) -> None:
        silent = [
            str(module.relative_to(ROOT))
            for module in PACKAGE.rglob("*.py")
            if ast.get_docstring(ast.parse(module.read_text())) is None
        ]

        assert silent == []
