"""An app's own migrations beside Sessionary's: Sessionary's chain is the branch ``sessionary``,
the app's a second branch depending on it, upgraded together to ``heads``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import inspect

from sessionary import migrations
from sessionary.core.db import engine_for_url
from sessionary.migrations import MigrationsError, source
from sessionary.testing.database import TestDatabase

from .app_migrations import (
    APP_REVISION,
    RELEASE_REVISION,
    SESSIONARY_HEAD,
    write_app_migrations,
    write_release,
)
from .cli.scratch import ScratchDatabase, scratch_database

pytestmark = pytest.mark.no_db

SESSIONARY_TABLES = {"users", "roles", "permissions", "role_permissions", "user_roles", "sessions"}
BOTH_AT_HEAD = f"{SESSIONARY_HEAD} (sessionary) (head)\n{APP_REVISION} (app) (head)"


@pytest.fixture
def database(sessionary_database: TestDatabase, tmp_path: Path) -> Iterator[ScratchDatabase]:
    """An empty database on this run's backend (a SQLite file, or a PostgreSQL scratch one)."""
    with scratch_database(sessionary_database.url, tmp_path) as scratch:
        yield scratch


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    return write_app_migrations(tmp_path)


def _versions(database: ScratchDatabase) -> set[str]:
    return {row[0] for row in database.rows("SELECT version_num FROM alembic_version")}


def _script(app_dir: Path) -> ScriptDirectory:
    return ScriptDirectory.from_config(migrations.alembic_config("sqlite://", migrations=app_dir))


class TestCombinedHistory:
    def test_upgrade_to_heads_creates_sessionarys_tables_and_the_apps(
        self, database: ScratchDatabase, app_dir: Path
    ) -> None:
        migrations.upgrade(database.url, migrations=app_dir)

        assert database.table_names() >= SESSIONARY_TABLES | {"projects"}
        assert _foreign_key_targets(database, "projects") == {("users", ("id",))}

    def test_current_names_both_branches(self, database: ScratchDatabase, app_dir: Path) -> None:
        migrations.upgrade(database.url, migrations=app_dir)

        assert migrations.current(database.url, migrations=app_dir) == BOTH_AT_HEAD

    def test_the_app_branch_has_one_head_beside_sessionarys(self, app_dir: Path) -> None:
        script = _script(app_dir)

        assert sorted(script.get_heads()) == sorted([SESSIONARY_HEAD, APP_REVISION])
        assert [rev.revision for rev in script.get_revisions("app@head")] == [APP_REVISION]
        assert script.get_revision("sessionary@head").revision == SESSIONARY_HEAD

    def test_downgrading_the_app_branch_keeps_sessionarys_tables(
        self, database: ScratchDatabase, app_dir: Path
    ) -> None:
        migrations.upgrade(database.url, migrations=app_dir)

        migrations.downgrade(database.url, "app@base", migrations=app_dir)

        tables = database.table_names()
        assert "projects" not in tables
        assert tables >= SESSIONARY_TABLES
        assert migrations.current(database.url, migrations=app_dir) == (
            f"{SESSIONARY_HEAD} (sessionary) (head)"
        )
        migrations.upgrade(database.url, migrations=app_dir)
        assert migrations.current(database.url, migrations=app_dir) == BOTH_AT_HEAD

    def test_without_the_app_only_sessionarys_chain_runs(
        self, database: ScratchDatabase, app_dir: Path
    ) -> None:
        migrations.upgrade(database.url)

        assert "projects" not in database.table_names()
        assert migrations.current(database.url) == f"{SESSIONARY_HEAD} (head)"
        migrations.upgrade(database.url, migrations=app_dir)
        assert "projects" in database.table_names()


class TestNewSessionaryRelease:
    """A release adding a revision after the app's migrations were written."""

    @pytest.fixture
    def release(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(source, "SESSIONARY_VERSIONS", write_release(tmp_path))

    def test_gives_the_app_branch_no_second_head(self, app_dir: Path, release: None) -> None:
        script = _script(app_dir)

        assert [rev.revision for rev in script.get_revisions("app@head")] == [APP_REVISION]
        assert script.get_revision("sessionary@head").revision == RELEASE_REVISION

    def test_upgrades_a_database_migrated_before_it(
        self, database: ScratchDatabase, app_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        migrations.upgrade(database.url, migrations=app_dir)
        monkeypatch.setattr(source, "SESSIONARY_VERSIONS", write_release(app_dir.parent))

        migrations.upgrade(database.url, migrations=app_dir)

        assert "release_marks" in database.table_names()
        assert _versions(database) == {APP_REVISION, RELEASE_REVISION}
        assert migrations.current(database.url, migrations=app_dir) == (
            f"{RELEASE_REVISION} (sessionary) (head)\n{APP_REVISION} (app) (head)"
        )

    def test_the_apps_next_revision_depends_on_the_new_head(
        self, database: ScratchDatabase, app_dir: Path, release: None
    ) -> None:
        path = migrations.revision(database.url, "rename things", migrations=app_dir)

        script = _script(app_dir)
        written = script.get_revision("app@head")
        assert Path(written.path) == path
        assert path.parent == app_dir / "versions"
        assert written.down_revision == APP_REVISION
        assert written.dependencies == RELEASE_REVISION
        migrations.upgrade(database.url, migrations=app_dir)
        assert _versions(database) == {written.revision}


class TestLabelAddedAfterRelease:
    def test_a_database_migrated_without_the_label_stays_at_head(
        self, database: ScratchDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        unlabelled = tmp_path / "unlabelled"
        write_release(tmp_path).rename(unlabelled)
        (unlabelled / f"2099_01_01_{RELEASE_REVISION}_release_marks.py").unlink()
        first = next(unlabelled.glob("*_0001_*.py"))
        first.write_text(first.read_text().replace('("sessionary",)', "None"))
        with monkeypatch.context() as patch:
            patch.setattr(source, "SESSIONARY_VERSIONS", unlabelled)
            migrations.upgrade(database.url)
            assert "sessionary" not in migrations.current(database.url)

        # alembic_version holds revision ids only: the labelled chain finds the same head.
        assert _versions(database) == {SESSIONARY_HEAD}
        assert migrations.current(database.url) == f"{SESSIONARY_HEAD} (head)"
        migrations.upgrade(database.url)
        assert _versions(database) == {SESSIONARY_HEAD}


class TestRevision:
    def test_the_first_revision_starts_the_app_branch(
        self, database: ScratchDatabase, tmp_path: Path
    ) -> None:
        app_dir = write_app_migrations(tmp_path, with_revision=False)

        path = migrations.revision(
            database.url, "first", migrations=app_dir, branch_label="projects"
        )

        written = _script(app_dir).get_revision("projects@head")
        assert Path(written.path) == path
        assert written.down_revision is None
        assert written.dependencies == SESSIONARY_HEAD
        assert path.name.endswith(f"-{written.revision}_first.py")  # date-prefixed

    def test_two_app_heads_are_refused(self, database: ScratchDatabase, app_dir: Path) -> None:
        other = (app_dir / "versions" / f"2026_12_06_1200-{APP_REVISION}_projects.py").read_text()
        other = other.replace(APP_REVISION, "b0b0b0b0b0b0").replace('("app",)', '("other",)')
        (app_dir / "versions" / "b0b0b0b0b0b0_other.py").write_text(other)

        with pytest.raises(MigrationsError, match="2 heads"):
            migrations.revision(database.url, "third", migrations=app_dir)


class TestMigrationsSpec:
    def test_a_package_resource_names_the_directory(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        package = tmp_path / "resource_app"
        package.mkdir()
        (package / "__init__.py").write_text("")
        write_app_migrations(package)
        monkeypatch.syspath_prepend(str(tmp_path))

        assert migrations.locate("resource_app:migrations") == package / "migrations"

    def test_an_ini_listing_sessionarys_versions_reads_the_combined_history(
        self, database: ScratchDatabase, app_dir: Path
    ) -> None:
        ini = app_dir.parent / "alembic.ini"
        ini.write_text(
            "[alembic]\nscript_location = %(here)s/migrations\npath_separator = newline\n"
            "version_locations =\n    %(here)s/migrations/versions\n"
            "    sessionary:migrations/versions\n"
        )

        migrations.upgrade(database.url, migrations=ini)

        assert migrations.current(database.url, migrations=ini) == BOTH_AT_HEAD

    @pytest.mark.parametrize(
        ("make", "message"),
        [
            pytest.param(lambda root: root / "nowhere", "does not exist", id="missing-directory"),
            pytest.param(lambda root: root / "nowhere.ini", "does not exist", id="missing-ini"),
            pytest.param(lambda _: "no_such_package_x:migrations", "cannot import", id="pkg"),
            pytest.param(lambda root: _mkdir(root / "bare"), "has no env.py", id="no-env"),
            pytest.param(lambda root: _write(root / "a.txt"), "neither", id="plain-file"),
            pytest.param(
                lambda root: _write(root / "a.ini", "[alembic]\n"),
                r"no \[alembic\] script",
                id="ini-without-script-location",
            ),
            pytest.param(
                lambda root: _write(root / "b.ini", "[alembic]\nscript_location = x\n"),
                "must list Sessionary",
                id="ini-without-sessionary",
            ),
        ],
    )
    def test_unusable_migrations_are_one_clear_error(
        self, tmp_path: Path, make: Callable[[Path], str | Path], message: str
    ) -> None:
        spec = make(tmp_path)

        with pytest.raises(MigrationsError, match=message) as caught:
            migrations.alembic_config("sqlite://", migrations=spec)

        assert "\n" not in str(caught.value)

    def test_head_alone_is_ambiguous_with_an_app(
        self, database: ScratchDatabase, app_dir: Path
    ) -> None:
        with pytest.raises(CommandError, match="heads"):
            migrations.upgrade(database.url, "head", migrations=app_dir)


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def _write(path: Path, text: str = "") -> Path:
    path.write_text(text)
    return path


def _foreign_key_targets(database: ScratchDatabase, table: str) -> set[tuple[str, tuple[str, ...]]]:
    async def reflect() -> set[tuple[str, tuple[str, ...]]]:
        engine = engine_for_url(database.url)
        try:
            async with engine.connect() as connection:
                keys = await connection.run_sync(lambda c: inspect(c).get_foreign_keys(table))
                return {(key["referred_table"], tuple(key["referred_columns"])) for key in keys}
        finally:
            await engine.dispose()

    return asyncio.run(reflect())
