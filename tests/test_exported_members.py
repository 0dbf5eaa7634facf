"""``from sessionary import …``: every public name is there, defined where the map says, and
``import sessionary`` stays cheap (httpx's ``test_exported_members``)."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import sessionary

pytestmark = pytest.mark.no_db

INIT = Path(sessionary.__file__)


def _isort_style(name: str) -> tuple[int, str]:
    """Ruff's RUF022 order: SCREAMING_CASE, then CamelCase, then the rest."""
    if re.fullmatch(r"[A-Z0-9_]+", name):
        return 0, name
    return (1 if name[0].isupper() else 2), name


def _defining_module(value: Any) -> str | None:
    """Where a class or function was written; for an ``Annotated[T, Depends(f)]`` alias, where
    its dependency ``f`` was; None for a plain value (a constant, a ``Literal``)."""
    metadata = getattr(value, "__metadata__", None)
    if metadata is not None:
        dependency = metadata[0].dependency
        return inspect.getmodule(dependency).__name__  # type: ignore[union-attr]
    if inspect.isclass(value) or inspect.isfunction(value):
        return str(value.__module__)
    return None


def _type_checking_imports() -> dict[str, str]:
    """The names the ``if TYPE_CHECKING:`` block imports, and from where."""
    tree = ast.parse(INIT.read_text())
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"
    )
    return {
        alias.name: str(node.module)
        for node in block.body
        if isinstance(node, ast.ImportFrom) and str(node.module).startswith("sessionary")
        for alias in node.names
    }


class TestExportedMembers:
    @pytest.mark.parametrize("name", sessionary.__all__)
    def test_each_name_is_importable_and_defined_where_the_map_says(self, name: str) -> None:
        module_name = sessionary._EXPORTS[name]

        value = getattr(sessionary, name)

        assert vars(importlib.import_module(module_name))[name] is value
        if (defined_in := _defining_module(value)) is not None:
            assert defined_in == module_name, f"{name} is a re-export; point at {defined_in}"

    def test_all_is_sorted_and_matches_the_map_and_the_type_checking_block(self) -> None:
        names = sessionary.__all__

        assert names == sorted(names, key=_isort_style)
        assert len(set(names)) == len(names)
        assert set(names) == set(sessionary._EXPORTS)
        assert _type_checking_imports() == sessionary._EXPORTS

    def test_star_import_gives_exactly_the_public_names(self) -> None:
        namespace: dict[str, Any] = {}

        exec("from sessionary import *", namespace)  # noqa: S102 - a fixed statement

        assert set(namespace) - {"__builtins__"} == set(sessionary.__all__)

    def test_an_unknown_name_is_an_attribute_error_and_submodules_still_import(self) -> None:
        with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
            sessionary.nothing_here  # noqa: B018

        from sessionary import clock

        assert clock.now is sessionary.now


class TestImportCost:
    def test_import_sessionary_loads_no_web_stack(self) -> None:
        probe = (
            "import sys, sessionary; print(sorted({'fastapi', 'sqlalchemy'} & set(sys.modules)))"
        )

        result = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True
        )

        assert result.stdout.strip() == "[]"


def test_the_package_says_it_is_typed() -> None:
    """PEP 561: without the marker an app's mypy would treat every import from sessionary as
    untyped (``require(...)`` and ``Factory[T]`` checks included)."""
    assert (Path(sessionary.__file__).parent / "py.typed").is_file()
