"""A tiny app built on Sessionary, written into a test's directory: its migrations (a table
``projects`` with a foreign key to ``users.id``, on a branch ``app`` depending on Sessionary's
head), optionally its model module, and a "new Sessionary release" adding a revision."""

from __future__ import annotations

import shutil
from pathlib import Path

from alembic.script import ScriptDirectory

from sessionary import migrations
from sessionary.migrations.source import SESSIONARY_VERSIONS

SESSIONARY_HEAD = str(
    ScriptDirectory.from_config(migrations.alembic_config("sqlite://")).get_current_head()
)
APP_REVISION = "a9e1c0de0001"
RELEASE_REVISION = "9999"  # a Sessionary revision that does not exist yet

_PROJECTS = '''"""Projects, owned by users."""

import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = None
branch_labels = ("app",)
depends_on = "{depends_on}"


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_projects_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
    )


def downgrade() -> None:
    op.drop_table("projects")
'''

_RELEASE = '''"""What a later Sessionary release might add."""

import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down_revision}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("release_marks", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    op.drop_table("release_marks")
'''

MODELS = '''"""The app's tables, on Sessionary's Base."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from sessionary.core.models import Base, UTCDateTime


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
'''


def write_app_migrations(root: Path, *, with_revision: bool = True) -> Path:
    """``root/migrations`` made by ``sessionary db init`` plus the ``projects`` revision."""
    directory = root / "migrations"
    migrations.init(directory, models=None)
    if with_revision:
        source = _PROJECTS.format(revision=APP_REVISION, depends_on=SESSIONARY_HEAD)
        (directory / "versions" / f"2026_12_06_1200-{APP_REVISION}_projects.py").write_text(source)
    return directory


def write_app_models(root: Path) -> Path:
    """Package ``myapp`` with ``myapp.models`` (import it in a subprocess only: it adds a
    table to Sessionary's ``Base.metadata``)."""
    package = root / "myapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "models.py").write_text(MODELS)
    return package


def write_release(root: Path) -> Path:
    """A copy of Sessionary's versions plus a revision after its head, as a later release
    would ship them; point ``sessionary.migrations.source.SESSIONARY_VERSIONS`` at it."""
    release = root / "release"
    shutil.copytree(SESSIONARY_VERSIONS, release, ignore=shutil.ignore_patterns("__pycache__"))
    source = _RELEASE.format(revision=RELEASE_REVISION, down_revision=SESSIONARY_HEAD)
    (release / f"2099_01_01_{RELEASE_REVISION}_release_marks.py").write_text(source)
    return release
