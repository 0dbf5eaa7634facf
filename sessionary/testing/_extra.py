"""``sessionary.testing`` needs the ``testing`` extra: say so in one line when it is missing."""

from __future__ import annotations

import importlib

# What the plugin imports, module -> distribution (pytest-xdist is only for ``-n``).
_NEEDED = {"pytest": "pytest", "time_machine": "time-machine", "anyio": "anyio"}


def check_installed() -> None:
    """Raise an ImportError naming what is missing and how to install it (pytest shows it
    as the reason it could not load the plugin)."""
    missing = [dist for module, dist in _NEEDED.items() if not _importable(module)]
    if missing:
        hint = "" if "pytest" in missing else "; or run pytest with -p no:sessionary"
        raise ImportError(
            f"sessionary.testing needs the 'testing' extra ({', '.join(missing)} not "
            f"installed): pip install 'sessionary[testing]'{hint}",
            name="sessionary.testing",
        )


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True
