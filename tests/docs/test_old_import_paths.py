"""Import paths that earlier docs showed keep working for one release (the redesign of issue
12 moved what they name); the renamed test-toolkit names say so when used."""

from __future__ import annotations

import importlib

import pytest

pytestmark = pytest.mark.no_db

# (module, name, where it lives now) as docs/testing.md and docs/library.md showed them.
SHOWN = [
    ("sessionary.auth.dependencies", "CurrentPrincipal", "sessionary.identity.dependencies"),
    ("sessionary.auth.dependencies", "require", "sessionary.identity.dependencies"),
    ("sessionary.core.models", "Base", "sessionary"),
    ("sessionary.core.models", "UTCDateTime", "sessionary"),
    ("sessionary.migrations", "run_migrations", "sessionary"),
    ("sessionary.roles.permissions", "Permission", "sessionary.roles.permissions"),
]


@pytest.mark.parametrize(("module", "name", "home"), SHOWN)
def test_an_old_path_names_the_same_object(module: str, name: str, home: str) -> None:
    old = getattr(importlib.import_module(module), name)

    assert old is getattr(importlib.import_module(home), name)


@pytest.mark.parametrize(("old", "new"), [("Role", "RolePrincipal"), ("ApiKey", "ApiKeyPrincipal")])
def test_a_renamed_toolkit_name_warns_and_still_works(old: str, new: str) -> None:
    testing = importlib.import_module("sessionary.testing")

    with pytest.warns(DeprecationWarning, match=new):
        value = getattr(testing, old)

    assert value is getattr(testing, new)
