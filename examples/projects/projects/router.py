"""The project routes: thin, the rules live in :mod:`projects.service`."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from projects import service
from projects.permissions import ProjectPermission
from projects.schemas import ProjectCreate, ProjectRead
from sessionary import DbSession, Principal, require

router = APIRouter(prefix="/projects", tags=["projects"])

Reader = Annotated[Principal, Depends(require(ProjectPermission.READ))]
Writer = Annotated[Principal, Depends(require(ProjectPermission.WRITE))]
# Ids are the column's 32-bit integers: anything else cannot name a project.
ProjectId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("", response_model=list[ProjectRead])
async def list_projects(
    principal: Reader,
    db: DbSession,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> list[ProjectRead]:
    """My projects (everyone's with ``projects:read_all``), oldest first."""
    rows = await service.list_projects(db, principal, limit=limit, offset=offset)
    return [ProjectRead.model_validate(row) for row in rows]


@router.post("", response_model=ProjectRead, status_code=201)
async def create_project(body: ProjectCreate, principal: Writer, db: DbSession) -> ProjectRead:
    return ProjectRead.model_validate(await service.create_project(db, principal, body))


@router.get("/{project_id}", response_model=ProjectRead)
async def get_project(project_id: ProjectId, principal: Reader, db: DbSession) -> ProjectRead:
    return ProjectRead.model_validate(await service.get_project(db, principal, project_id))


@router.delete("/{project_id}", status_code=204)
async def delete_project(project_id: ProjectId, principal: Writer, db: DbSession) -> None:
    await service.delete_project(db, principal, project_id)
