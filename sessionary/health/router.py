"""``/health/live``: the process answers. ``/health/ready``: its dependencies answer too."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from sessionary.auth.dependencies import ThrottleDep
from sessionary.core.dependencies import DatabaseDep

router = APIRouter(prefix="/health", tags=["health"])
log = structlog.get_logger(__name__)

READY_TIMEOUT_SECONDS = 3.0


@router.get("/live")
async def live() -> dict[str, str]:
    """The process is up (the database may be down)."""
    return {"status": "ok"}


async def _answers(check: str, ping: Callable[[], Awaitable[None]]) -> bool:
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            await ping()
    except Exception as exc:
        log.warning("readiness_failed", check=check, error=type(exc).__name__)
        return False
    return True


_READINESS = {
    "application/json": {
        "schema": {
            "type": "object",
            "properties": {
                "status": {"enum": ["ok", "unavailable"]},
                "checks": {
                    "type": "object",
                    "additionalProperties": {"enum": ["ok", "unavailable"]},
                },
            },
            "required": ["status", "checks"],
        }
    }
}


@router.get(
    "/ready",
    responses={
        200: {"content": _READINESS},
        503: {"description": "A dependency is unreachable", "content": _READINESS},
    },
)
async def ready(database: DatabaseDep, throttle: ThrottleDep) -> JSONResponse:
    """The database (and Redis, when configured) answer; 503 with Retry-After otherwise."""
    pings = {"database": database.ping}
    if throttle.uses_redis:  # SESSIONARY_REDIS_URL
        pings["redis"] = throttle.ping
    # Both at once, so a slow one does not double the wait.
    answers = await asyncio.gather(*(_answers(name, ping) for name, ping in pings.items()))
    checks = {name: "ok" if up else "unavailable" for name, up in zip(pings, answers, strict=True)}
    if all(answers):
        return JSONResponse({"status": "ok", "checks": checks})
    return JSONResponse(
        {"status": "unavailable", "checks": checks},
        status_code=503,
        headers={"Retry-After": "5"},
    )
