"""``sessionary.testing.__all__`` is what an app may import: complete, and all there (ruff's
RUF022 keeps it sorted)."""

from types import ModuleType

import pytest

import sessionary.testing as testing

pytestmark = pytest.mark.no_db

# Names the package module uses itself and does not offer.
_OWN = {"Any", "check_installed", "warnings"}


def test_every_name_in_all_resolves() -> None:
    for name in testing.__all__:
        assert getattr(testing, name) is not None


def test_every_public_name_of_the_package_is_in_all() -> None:
    public = {
        name
        for name, value in vars(testing).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
    }

    assert public - _OWN == set(testing.__all__)
