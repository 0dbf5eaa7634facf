"""docs/library.md, "Permissions and roles": its module is declared, written and checked as
the guide says."""

from __future__ import annotations

import importlib
import re
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient

from sessionary import migrations
from sessionary.app import create_app
from sessionary.config import Settings
from sessionary.identity import permissions as registry
from sessionary.identity.dependencies import require
from sessionary.identity.permissions import UndeclaredPermission, declared, declared_roles

GUIDE = Path(__file__).parents[2] / "docs" / "library.md"
_FILE_BLOCK = re.compile(r"<!-- file: myapp/permissions.py -->\n```python\n(?P<code>.*?)```", re.S)

pytestmark = pytest.mark.no_db


@pytest.fixture
def guide_permissions(tmp_path: Path) -> Iterator[None]:
    """The guide's module imported as ``myapp.permissions``, forgotten afterwards."""
    sets, roles = list(registry._sets), dict(registry._roles)
    match = _FILE_BLOCK.search(GUIDE.read_text())
    assert match is not None, "the guide shows myapp/permissions.py"
    (tmp_path / "myapp").mkdir()
    (tmp_path / "myapp" / "__init__.py").write_text("")
    (tmp_path / "myapp" / "permissions.py").write_text(match["code"])
    sys.path.insert(0, str(tmp_path))
    try:
        importlib.import_module("myapp.permissions")
        yield
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name.split(".")[0] == "myapp"]:
            del sys.modules[name]
        registry._sets[:] = sets
        registry._roles.clear()
        registry._roles.update(roles)


@pytest.mark.usefixtures("guide_permissions")
class TestTheGuidesPermissions:
    def test_are_declared_with_their_role(self) -> None:
        assert declared()["projects:read"] == "See every project"
        assert declared_roles()["project_manager"].permissions == {
            "projects:read",
            "projects:write",
        }

    def test_db_upgrade_writes_them_and_admin_holds_them(self, tmp_path: Path) -> None:
        path = tmp_path / "app.db"

        migrations.upgrade(f"sqlite+aiosqlite:///{path}")

        with closing(sqlite3.connect(path)) as connection:
            grants = set(connection.execute("SELECT role_name, permission FROM role_permissions"))
        assert {("admin", "projects:write"), ("project_manager", "projects:read")} <= grants

    def test_a_typo_in_a_guard_fails_the_startup(self, tmp_path: Path) -> None:
        app = create_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"))

        @app.get("/projects", dependencies=[Depends(require("projects:raed"))])
        async def projects() -> list[str]:
            return []

        with pytest.raises(UndeclaredPermission, match=r"projects:raed"), TestClient(app):
            pass
