"""``sessionary db init``: an app's migrations directory, ready for its first revision."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from sessionary.migrations.source import HERE, MigrationsError

_ENV = '''\
"""Alembic environment of this app. Sessionary's migrations are the branch `sessionary`,
this directory's versions/ the app's own; `sessionary db` and the test plugin run both."""

from sessionary import run_migrations

{models}

run_migrations()
'''
_MODULE = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
_MODELS_HINT = """\
# Import the modules that declare your tables (on sessionary.Base), so that
# `sessionary db revision --autogenerate` sees them, e.g.:
# import myapp.models  # noqa: F401"""


def init(directory: str | Path, *, models: str | None = None) -> list[Path]:
    """Create ``directory`` with ``env.py``, ``script.py.mako`` and ``versions/``; with
    ``models``, ``env.py`` imports that module. Returns the paths made."""
    target = Path(directory)
    if models is not None and not _MODULE.fullmatch(models):
        raise MigrationsError(f"{models!r} is not a module name (e.g. myapp.models)")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise MigrationsError(f"{str(target)!r} already exists and is not an empty directory")
    imports = f"import {models}  # noqa: F401  (its tables, for autogenerate)" if models else ""
    (target / "versions").mkdir(parents=True, exist_ok=True)
    env = target / "env.py"
    env.write_text(_ENV.format(models=imports or _MODELS_HINT))
    template = shutil.copyfile(HERE / "script.py.mako", target / "script.py.mako")
    return [env, template, target / "versions"]
