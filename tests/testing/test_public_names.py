"""``sessionary.testing.__all__`` is what an app may import: complete, and all there (ruff's
RUF022 keeps it sorted). The kernel's names are imported by the package; the feature helpers'
on first use, from the module the map names."""

import ast
import importlib
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import sessionary.testing as testing

pytestmark = pytest.mark.no_db

# Names the package module uses itself and does not offer.
_OWN = {"Any", "TYPE_CHECKING", "check_installed", "importlib", "warnings"}


def test_every_name_in_all_resolves() -> None:
    for name in testing.__all__:
        assert getattr(testing, name) is not None


def test_every_public_name_of_the_package_is_in_all() -> None:
    public = {
        name
        for name, value in vars(testing).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
    }

    assert public - _OWN <= set(testing.__all__)
    assert set(testing.__all__) <= public | set(testing._HELPERS)


@pytest.mark.parametrize("name", sorted(testing._HELPERS))
def test_each_helper_name_is_defined_where_the_map_says(name: str) -> None:
    module = importlib.import_module(testing._HELPERS[name])

    assert getattr(testing, name) is vars(module)[name]


def test_the_type_checking_block_imports_the_map() -> None:
    tree = ast.parse(Path(testing.__file__).read_text())
    block = next(node for node in tree.body if isinstance(node, ast.If))
    imported = {
        alias.name: str(node.module)
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }

    assert imported == testing._HELPERS


@pytest.mark.parametrize("module", sorted(set(testing._HELPERS.values())))
def test_a_feature_helper_imports_first_in_a_fresh_interpreter(module: str) -> None:
    """No import cycle: a feature's helpers may be imported before ``sessionary.testing``."""
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True)  # noqa: S603
