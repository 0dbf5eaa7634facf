"""``/health/live``: the process answers. ``/health/ready``: its dependencies answer too."""

from __future__ import annotations

import asyncio

import structlog
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from sessionary.core.dependencies import DatabaseDep

router = APIRouter(prefix="/health", tags=["health"])
log = structlog.get_logger(__name__)

READY_TIMEOUT_SECONDS = 3.0


@router.get("/live")
async def live() -> dict[str, str]:
    """The process is up (the database may be down)."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "A dependency is unreachable"}})
async def ready(database: DatabaseDep) -> JSONResponse:
    """The database answers; 503 with Retry-After otherwise."""
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            await database.ping()
    except Exception as exc:
        log.warning("readiness_failed", check="database", error=type(exc).__name__)
        return JSONResponse(
            {"status": "unavailable", "checks": {"database": "unavailable"}},
            status_code=503,
            headers={"Retry-After": "5"},
        )
    return JSONResponse({"status": "ok", "checks": {"database": "ok"}})
