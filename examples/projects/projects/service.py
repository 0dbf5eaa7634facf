"""Projects and who may see them: your own, or everyone's with ``projects:read_all``.

Another user's project you may not see is 404, not 403, so ids tell nothing away.
"""

from sqlalchemy import ColumnElement, Select, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from projects.models import Project
from projects.permissions import ProjectPermission
from projects.schemas import ProjectCreate
from sessionary import NotFound, PermissionDenied, Principal


def _visible(principal: Principal) -> ColumnElement[bool]:
    if ProjectPermission.READ_ALL in principal.permissions:
        return true()
    return Project.owner_id == principal.user_id


def _query(principal: Principal) -> Select[Project]:
    return select(Project).where(_visible(principal))


async def list_projects(
    db: AsyncSession, principal: Principal, *, limit: int, offset: int
) -> list[Project]:
    return list(
        await db.scalars(_query(principal).order_by(Project.id).limit(limit).offset(offset))
    )


async def create_project(db: AsyncSession, principal: Principal, body: ProjectCreate) -> Project:
    project = Project(owner_id=principal.user_id, name=body.name, description=body.description)
    db.add(project)
    await db.flush()
    return project


async def get_project(db: AsyncSession, principal: Principal, project_id: int) -> Project:
    project = await db.scalar(_query(principal).where(Project.id == project_id))
    if project is None:
        raise NotFound("Project not found")
    return project


async def delete_project(db: AsyncSession, principal: Principal, project_id: int) -> None:
    project = await get_project(db, principal, project_id)
    mine = project.owner_id == principal.user_id
    if not mine and ProjectPermission.DELETE_ALL not in principal.permissions:
        raise PermissionDenied("Only the owner or a holder of projects:delete_all may delete it")
    await db.delete(project)
