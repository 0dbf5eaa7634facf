"""Projects through HTTP, as a client would use them, on a real database."""

import pytest
from projects.models import Project
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sessionary.testing import DEFAULT_PASSWORD, AsyncLoginAs, SessionaryAsyncClient, UserFactory
from tests.conftest import ProjectFactory

pytestmark = pytest.mark.anyio


async def test_a_contributor_creates_lists_reads_and_deletes_their_project(
    async_login_as: AsyncLoginAs, user_factory: UserFactory, async_db: AsyncSession
) -> None:
    alice = await user_factory.acreate(username="alice", roles=["contributor"])
    client = await async_login_as(alice, via="login")  # a real POST /auth/login

    created = await client.post("/projects", json={"name": "Apollo", "description": "Moon"})
    assert created.status_code == 201, created.text
    project = created.json()
    assert project["owner_id"] == alice.id
    assert (await client.get("/projects")).json() == [project]
    assert (await client.get(f"/projects/{project['id']}")).json() == project

    assert (await client.delete(f"/projects/{project['id']}")).status_code == 204
    assert await async_db.scalar(select(Project).where(Project.id == project["id"])) is None


async def test_someone_elses_project_is_not_found_and_not_listed(
    async_login_as: AsyncLoginAs, project_factory: ProjectFactory
) -> None:
    theirs = await project_factory.acreate(name="Secret")
    client = await async_login_as("contributor")

    assert (await client.get(f"/projects/{theirs.id}")).status_code == 404
    assert (await client.delete(f"/projects/{theirs.id}")).status_code == 404
    assert (await client.get("/projects")).json() == []


async def test_a_project_manager_sees_everyones_projects(
    async_login_as: AsyncLoginAs, project_factory: ProjectFactory
) -> None:
    projects = await project_factory.acreate_batch(3)
    manager = await async_login_as("project_manager")

    listed = (await manager.get("/projects")).json()

    assert [row["id"] for row in listed] == [project.id for project in projects]


async def test_deleting_a_user_deletes_their_projects(
    async_login_as: AsyncLoginAs, project_factory: ProjectFactory, async_db: AsyncSession
) -> None:
    project = await project_factory.acreate()
    admin = await async_login_as("admin", fresh=True)

    response = await admin.delete(f"/users/{project.owner_id}")

    assert response.status_code == 204, response.text
    assert await async_db.scalar(select(Project.id).where(Project.id == project.id)) is None


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "x" * 101},
        {"name": "ok", "description": "d" * 2001},
        {"name": "ok", "owner_id": 1},
    ],
    ids=["no name", "empty name", "name too long", "description too long", "extra field"],
)
async def test_a_bad_body_is_422_and_stores_nothing(
    body: dict[str, object], async_login_as: AsyncLoginAs, async_db: AsyncSession
) -> None:
    client = await async_login_as("contributor")

    response = await client.post("/projects", json=body)

    assert response.status_code == 422
    assert await async_db.scalar(select(Project.id)) is None


@pytest.mark.parametrize("project_id", ["0", "-1", str(2**31), "abc"])
async def test_an_id_that_cannot_name_a_project_is_422(
    project_id: str, async_login_as: AsyncLoginAs
) -> None:
    client = await async_login_as("contributor")

    assert (await client.get(f"/projects/{project_id}")).status_code == 422


async def test_the_seed_examples_login_still_works_in_the_app(
    async_client: SessionaryAsyncClient, user_factory: UserFactory
) -> None:
    await user_factory.acreate(username="user123", roles=["contributor"])

    login = await async_client.post(
        "/login/", json={"username": "user123", "password": DEFAULT_PASSWORD}
    )
    assert login.status_code == 200
    assert (await async_client.get("/projects")).status_code == 200
