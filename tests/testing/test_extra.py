"""Without the 'testing' extra, importing the toolkit says what to install, in one line."""

import sys

import pytest

from sessionary.testing._extra import check_installed

pytestmark = pytest.mark.no_db


def test_a_missing_time_machine_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "time_machine", None)  # what an absent package gives

    with pytest.raises(ImportError) as caught:
        check_installed()

    assert str(caught.value) == (
        "sessionary.testing needs the 'testing' extra (time-machine not installed): "
        "pip install 'sessionary[testing]'; or run pytest with -p no:sessionary"
    )


def test_everything_installed_passes() -> None:
    check_installed()
