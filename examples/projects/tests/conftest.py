"""The app's own factory and matrix placeholders, beside Sessionary's fixtures."""

import pytest
from projects.models import Project

from sessionary.testing import Factory, FactoryContext, MatrixContext, UserFactory, matrix_object


class ProjectFactory(Factory[Project]):
    """Projects: ``project_factory(owner=…, name=…)``; the owner defaults to a new user."""

    def __init__(self, context: FactoryContext, users: UserFactory) -> None:
        super().__init__(context)
        self.users = users

    async def acreate(self, *, owner_id: int | None = None, name: str | None = None) -> Project:
        if owner_id is None:
            owner_id = (await self.users.acreate()).id
        async with self.transaction() as session:
            project = Project(owner_id=owner_id, name=name or f"project{self.next_number()}")
            session.add(project)
        return project


@pytest.fixture
def project_factory(factory_context: FactoryContext, user_factory: UserFactory) -> ProjectFactory:
    """Make projects: ``project_factory(owner_id=…, name=…)``."""
    return ProjectFactory(factory_context, user_factory)


@matrix_object("own_project")
def own_project(context: MatrixContext) -> int:
    """A project of the cell's user (of a new user for an anonymous cell)."""
    owner_id = context.user.id if context.user else None
    project: Project = context.fixture("project_factory")(owner_id=owner_id)
    return project.id


@matrix_object("other_project")
def other_project(context: MatrixContext) -> int:
    """Somebody else's project."""
    project: Project = context.fixture("project_factory")()
    return project.id
