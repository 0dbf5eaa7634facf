"""Where the migrations are: Sessionary's own chain, or an app's Alembic script directory
whose history joins Sessionary's as a second branch.

An app names its migrations as a directory (``migrations``), a package resource
(``myapp:migrations``) or an ``alembic.ini``. A directory's ``versions/`` and
Sessionary's are combined as Alembic ``version_locations``; an ini must list
Sessionary's itself (``sessionary:migrations/versions``), so that plain ``alembic``
reads the same history.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import TextIO

from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError, coerce_resource_to_filename

BRANCH = "sessionary"  # the branch label on Sessionary's root revision
HERE = Path(__file__).parent
SESSIONARY_VERSIONS = HERE / "versions"
# Date-prefixed, so a directory listing reads in the order the revisions were written.
FILE_TEMPLATE = "%(year)d_%(month).2d_%(day).2d_%(hour).2d%(minute).2d-%(rev)s_%(slug)s"
_RESOURCE = re.compile(r"(?P<package>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*):(?P<path>[^:]+)")


class MigrationsError(Exception):
    """The migrations an app named (``SESSIONARY_MIGRATIONS``, ``--migrations``, the
    ``sessionary_migrations`` ini option) cannot be used; the message says why."""


def is_resource(spec: str) -> bool:
    """``package:dir`` rather than a path (a path that exists wins)."""
    return _RESOURCE.fullmatch(spec) is not None and not Path(spec).exists()


def locate(spec: str | Path) -> Path:
    """The directory or ini file that ``spec`` names; :class:`MigrationsError` if none."""
    text = str(spec)
    if isinstance(spec, str) and (match := _RESOURCE.fullmatch(text)) and is_resource(text):
        try:
            found = resources.files(match["package"]).joinpath(match["path"])
        except ImportError as exc:
            raise MigrationsError(f"cannot import {match['package']!r} ({exc})") from None
        if not isinstance(found, Path) or not found.is_dir():
            raise MigrationsError(f"no migrations directory at {text!r}")
        return found
    path = Path(text).expanduser()
    if path.is_dir() or (path.is_file() and path.suffix == ".ini"):
        return path.absolute()
    if path.exists():
        raise MigrationsError(f"{text!r} is neither a migrations directory nor an .ini file")
    kind = "file" if path.suffix == ".ini" else "directory"
    raise MigrationsError(f"migrations {kind} {text!r} does not exist")


def _escape(value: str | Path) -> str:
    # Alembic's ini interpolation would treat % as syntax.
    return str(value).replace("%", "%%")


def alembic_config(
    url: str, *, migrations: str | Path | None = None, stdout: TextIO | None = None
) -> Config:
    """An Alembic config for ``url``: Sessionary's own migrations, or with ``migrations``
    an app's combined history. ``attributes["sessionary_app_versions"]`` is where the
    app's new revisions go (absent without an app)."""
    location = None if migrations is None else locate(migrations)
    if location is not None and location.suffix == ".ini":
        config = _from_ini(location, stdout)
    else:
        config = Config(stdout=stdout) if stdout is not None else Config()
        config.set_main_option("script_location", _escape(location or HERE))
        if location is not None and location != HERE:
            _combine(config, location)
    config.set_main_option("sqlalchemy.url", _escape(url))
    config.attributes["sessionary_url"] = url
    return config


def _combine(config: Config, directory: Path) -> None:
    if not (directory / "env.py").is_file():
        raise MigrationsError(
            f"{str(directory)!r} has no env.py; create one with `sessionary db init`"
        )
    versions = directory / "versions"
    locations = [versions] if versions.is_dir() else []
    config.set_main_option("path_separator", "newline")
    config.set_main_option(
        "version_locations", "\n".join(_escape(p) for p in [*locations, SESSIONARY_VERSIONS])
    )
    config.set_main_option("file_template", _escape(FILE_TEMPLATE))
    config.attributes["sessionary_app_versions"] = versions


def _from_ini(path: Path, stdout: TextIO | None) -> Config:
    config = Config(file_=path, stdout=stdout) if stdout is not None else Config(file_=path)
    try:
        script_location = config.get_main_option("script_location")
        listed = config.get_version_locations_list() or []
    except (ValueError, CommandError) as exc:
        raise MigrationsError(f"{str(path)!r}: {exc}") from None
    if not script_location:
        raise MigrationsError(f"{str(path)!r} has no [alembic] script_location")
    locations = [coerce_resource_to_filename(item).absolute() for item in listed]
    if SESSIONARY_VERSIONS.absolute() not in locations:
        raise MigrationsError(
            f"{str(path)!r}: version_locations must list Sessionary's migrations "
            "(sessionary:migrations/versions)"
        )
    own = [item for item in locations if item != SESSIONARY_VERSIONS.absolute()]
    if own:
        config.attributes["sessionary_app_versions"] = own[0]
    return config


def script_directory(config: Config) -> ScriptDirectory:
    """The revisions ``config`` reads, with Alembic's errors as :class:`MigrationsError`."""
    try:
        return ScriptDirectory.from_config(config)
    except CommandError as exc:
        raise MigrationsError(str(exc).splitlines()[0]) from None
