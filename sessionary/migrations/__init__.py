"""Alembic migrations, shipped inside the package so the CLI and the test plugin
can migrate an installed copy. :func:`upgrade` and friends drive them programmatically."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TextIO

from alembic import command
from alembic.config import Config

_HERE = Path(__file__).parent


def alembic_config(url: str, *, stdout: TextIO | None = None) -> Config:
    config = Config(stdout=stdout) if stdout is not None else Config()
    config.set_main_option("script_location", str(_HERE))
    # Alembic's ini interpolation would treat % in passwords as syntax.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["sessionary_url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def current(url: str) -> str:
    """The database's revision, or an empty string for an unmigrated database."""
    buffer = io.StringIO()
    command.current(alembic_config(url, stdout=buffer))
    return buffer.getvalue().strip()
