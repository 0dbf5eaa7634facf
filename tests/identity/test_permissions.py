"""The open permission catalogue: declared in code, checked at startup, written by db upgrade."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sessionary import migrations
from sessionary.app import create_app
from sessionary.config import Settings
from sessionary.identity import permissions as registry
from sessionary.identity.dependencies import require
from sessionary.identity.permissions import (
    PermissionSet,
    UndeclaredPermission,
    check_routes,
    declare_role,
    declared,
)
from sessionary.roles.catalogue import sync_catalogue
from sessionary.roles.models import PermissionRecord, Role, RolePermission
from sessionary.roles.permissions import Permission
from sessionary.testing import SessionaryTestClient, SyncDB


@pytest.fixture(autouse=True)
def declarations() -> Iterator[None]:
    """What a test declares is forgotten after it (the registry is process-wide)."""
    sets, roles = list(registry._sets), dict(registry._roles)
    yield
    registry._sets[:] = sets
    registry._roles.clear()
    registry._roles.update(roles)


class ProjectPermission(PermissionSet):
    READ = "projects:read", "See every project"
    WRITE = "projects:write", "Change projects"


registry._sets.remove(ProjectPermission)  # declared by the tests that want it


def declare_projects() -> type[ProjectPermission]:
    registry._sets.append(ProjectPermission)
    return ProjectPermission


def sync(db: SyncDB) -> dict[str, int]:
    async def work(session: AsyncSession) -> dict[str, int]:
        return await session.run_sync(
            lambda sync_session: sync_catalogue(sync_session.connection())
        )

    return db.run(work)


class TestDeclaring:
    def test_members_are_their_strings_with_a_description(self) -> None:
        projects = declare_projects()

        assert projects.READ.value == "projects:read"
        assert isinstance(projects.READ, str)
        assert projects.READ.description == "See every project"
        assert declared()["projects:write"] == "Change projects"
        assert set(Permission) <= declared().keys()

    @pytest.mark.parametrize(
        "name",
        ["projects", "Projects:read", "projects:read:all", "projects: read", "p:" + "r" * 63],
    )
    def test_a_name_that_is_not_resource_action_fails_at_declaration(self, name: str) -> None:
        with pytest.raises(UndeclaredPermission, match="not a permission name"):

            class Bad(PermissionSet):
                ONLY = name, ""

    def test_one_name_declared_twice_differently_is_refused(self) -> None:
        declare_projects()

        class Again(PermissionSet):
            READ = "projects:read", "Something else"

        with pytest.raises(UndeclaredPermission, match="declared twice"):
            declared()

    def test_a_role_declared_twice_differently_is_refused(self) -> None:
        declare_role("viewer", {"notes:read"})
        declare_role("viewer", {"notes:read"})

        with pytest.raises(UndeclaredPermission, match="declared twice"):
            declare_role("viewer", {"notes:write"})


class TestStartupCheck:
    def app_guarded_by(self, permission: str) -> FastAPI:
        app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:"))

        @app.get("/projects", dependencies=[Depends(require(permission))])
        async def projects() -> list[str]:
            return []

        return app

    def test_a_route_guarded_by_an_undeclared_permission_fails_the_startup(self) -> None:
        app = self.app_guarded_by("projects:read")

        with pytest.raises(UndeclaredPermission, match=r"projects:read"), TestClient(app):
            pass

    def test_a_declared_one_passes(self) -> None:
        declare_projects()

        check_routes(self.app_guarded_by("projects:read").routes)

    def test_every_guard_of_sessionarys_own_routes_is_declared(self) -> None:
        check_routes(create_app(Settings(database_url="sqlite+aiosqlite:///:memory:")).routes)

    def test_a_declared_role_granting_an_undeclared_permission_fails_the_startup(self) -> None:
        declare_role("viewer", {"projects:read"})

        with pytest.raises(UndeclaredPermission, match=r"projects:read"):
            check_routes([])


class TestCatalogueSync:
    @pytest.fixture
    def db(self, db: SyncDB) -> SyncDB:
        """Migrated before the test declares anything (the migration syncs what is declared)."""
        assert db.count(PermissionRecord) == len(Permission)
        return db

    def test_declared_permissions_and_roles_are_written_once(self, db: SyncDB) -> None:
        declare_projects()
        declare_role("project_viewer", {"projects:read"})

        first, second = sync(db), sync(db)

        assert first == {"permissions": 2, "roles": 1, "grants": 3}  # admin: read + write
        assert second == {"permissions": 0, "roles": 0, "grants": 0}
        assert (
            db.scalar(
                select(PermissionRecord.description).where(
                    PermissionRecord.name == "projects:write"
                )
            )
            == "Change projects"
        )
        assert db.get(Role, "project_viewer").is_builtin  # type: ignore[union-attr]

    def test_admin_gets_everything_and_grants_an_administrator_added_stay(self, db: SyncDB) -> None:
        declare_projects()
        declare_role("project_viewer", {"projects:read"})
        sync(db)
        db.run(
            lambda session: session.merge(
                RolePermission(role_name="project_viewer", permission="notes:read")
            )
        )

        sync(db)

        grants = set(db.execute(select(RolePermission.role_name, RolePermission.permission)))
        assert {("admin", "projects:read"), ("admin", "projects:write")} <= grants
        assert ("project_viewer", "notes:read") in grants
        assert ("project_viewer", "projects:read") in grants


class TestTheApiTakesDeclaredPermissions:
    def test_a_role_may_grant_an_app_permission_once_synced(
        self, db: SyncDB, admin_client: SessionaryTestClient
    ) -> None:
        declare_projects()
        sync(db)

        response = admin_client.post(
            "/roles", json={"name": "pm", "permissions": ["projects:read", "notes:read"]}
        )

        assert response.status_code == 201, response.text
        assert response.json()["permissions"] == ["notes:read", "projects:read"]

    def test_an_undeclared_permission_is_422(self, admin_client: SessionaryTestClient) -> None:
        response = admin_client.post(
            "/roles", json={"name": "pm", "permissions": ["projects:read"]}
        )

        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "permissions", 0]

    def test_openapi_lists_the_declared_permissions(self) -> None:
        declare_projects()
        schema = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:")).openapi()

        field = schema["components"]["schemas"]["RoleCreate"]["properties"]["permissions"]
        assert field["items"]["enum"] == sorted(declared())
        assert "projects:read" in field["items"]["enum"]


@pytest.mark.no_db
class TestDbUpgradeWritesTheDeclarations:
    def test_upgrade_to_head_writes_what_is_declared_and_admin_holds_it(
        self, tmp_path: Path
    ) -> None:
        declare_projects()
        declare_role("project_viewer", {"projects:read"})
        path = tmp_path / "app.db"

        migrations.upgrade(f"sqlite+aiosqlite:///{path}")

        with closing(sqlite3.connect(path)) as connection:
            grants = set(connection.execute("SELECT role_name, permission FROM role_permissions"))
            names = {name for (name,) in connection.execute("SELECT name FROM permissions")}
        assert {"projects:read", "projects:write"} <= names
        assert {("admin", "projects:write"), ("project_viewer", "projects:read")} <= grants
