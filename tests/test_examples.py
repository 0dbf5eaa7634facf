"""The example apps build on Sessionary's public surface only: what ``sessionary`` and
``sessionary.testing`` export in ``__all__`` (``make test-examples`` runs their tests)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import sessionary
import sessionary.testing

pytestmark = pytest.mark.no_db

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PUBLIC = {
    "sessionary": set(sessionary.__all__),
    "sessionary.testing": set(sessionary.testing.__all__),
}


def sources() -> list[Path]:
    return sorted(EXAMPLES.rglob("*.py"))


def sessionary_imports(source: Path) -> list[tuple[str, str]]:
    """(module, name) for every name imported from the sessionary package."""
    found: list[tuple[str, str]] = []
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sessionary":
            found += [(node.module or "", alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [
                (alias.name, "") for alias in node.names if alias.name.split(".")[0] == "sessionary"
            ]
    return found


def test_there_is_an_example_app_with_tests_and_migrations() -> None:
    apps = [path.parent for path in EXAMPLES.glob("*/pyproject.toml")]

    assert apps
    for app in apps:
        assert list((app / "tests").glob("test_*.py")), app
        assert list((app / "migrations" / "versions").glob("*.py")), app


@pytest.mark.parametrize("source", sources(), ids=lambda path: str(path.relative_to(EXAMPLES)))
def test_imports_only_exported_names(source: Path) -> None:
    private = [
        f"{module}:{name}" if name else module
        for module, name in sessionary_imports(source)
        if name not in PUBLIC.get(module, set())
    ]

    assert private == []
