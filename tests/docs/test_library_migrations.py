"""docs/library.md, "Models and migrations": its files are extracted and run as an app's
developer would run them."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from sessionary import migrations
from sessionary.testing.database import TestDatabase
from tests.app_migrations import SESSIONARY_HEAD
from tests.cli.checks import run_entry_point
from tests.cli.scratch import ScratchDatabase, scratch_database

GUIDE = Path(__file__).parents[2] / "docs" / "library.md"
_FILE_BLOCK = re.compile(r"<!-- file: (?P<name>[\w./-]+) -->\n```\w+\n(?P<code>.*?)```", re.S)
REVISION = "3f2a1c9b7d10"

pytestmark = pytest.mark.no_db


def section() -> str:
    text = GUIDE.read_text()
    start = text.index("\n## Models and migrations\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def guide_files() -> dict[str, str]:
    return {match["name"]: match["code"] for match in _FILE_BLOCK.finditer(section())}


def write_guide_app(root: Path) -> None:
    (root / "myapp").mkdir()
    (root / "myapp" / "__init__.py").write_text("")
    (root / "migrations" / "versions").mkdir(parents=True)
    for name, code in guide_files().items():
        (root / name).write_text(code)


@pytest.fixture
def database(sessionary_database: TestDatabase, tmp_path: Path) -> Iterator[ScratchDatabase]:
    with scratch_database(sessionary_database.url, tmp_path) as scratch:
        yield scratch


class TestModelsAndMigrations:
    def test_the_guide_shows_the_model_env_revision_and_ini(self) -> None:
        assert set(guide_files()) == {
            "myapp/models.py",
            "migrations/env.py",
            f"migrations/versions/2026_12_06_1200-{REVISION}_add_projects.py",
            "alembic.ini",
        }

    def test_db_init_writes_the_env_py_shown(self, tmp_path: Path) -> None:
        migrations.init(tmp_path / "migrations", models="myapp.models")

        written = (tmp_path / "migrations" / "env.py").read_text()
        assert written == guide_files()["migrations/env.py"]

    def test_the_ini_reads_the_same_combined_history(self, tmp_path: Path) -> None:
        write_guide_app(tmp_path)

        config = migrations.alembic_config("sqlite://", migrations=tmp_path / "alembic.ini")

        assert set(ScriptDirectory.from_config(config).get_heads()) == {SESSIONARY_HEAD, REVISION}

    def test_the_pytest_option_shown_is_the_plugins(self, pytestconfig: pytest.Config) -> None:
        block = re.search(r"```toml\n(.*?)```", section(), re.S)
        assert block is not None
        options = tomllib.loads(block[1])["tool"]["pytest"]["ini_options"]

        assert options == {"sessionary_migrations": "migrations"}
        assert pytestconfig.getini("sessionary_migrations") is None  # registered, unset here

    def test_the_guides_app_upgrades_and_its_revision_matches_its_model(
        self, database: ScratchDatabase, tmp_path: Path
    ) -> None:
        # In real processes: myapp.models adds a table to Sessionary's Base.
        write_guide_app(tmp_path)

        def sessionary(*args: str) -> tuple[int, str]:
            done = run_entry_point(
                "db", "--migrations", "migrations", *args, database_url=database.url, cwd=tmp_path
            )
            return done.returncode, done.stdout + done.stderr

        assert sessionary("upgrade") == (
            0,
            f"database at {SESSIONARY_HEAD} (sessionary) (head), {REVISION} (app) (head)\n",
        )
        assert "projects" in database.table_names()
        assert sessionary("check") == (0, "models and migrations match\n")
