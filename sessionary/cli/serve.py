"""``sessionary serve``: uvicorn with the server's own proxy-header handling off."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from sessionary.cli._runtime import load_settings


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to bind.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = True,
    worker_healthcheck_timeout: Annotated[
        int,
        typer.Option(
            min=1,
            help="Seconds a worker has to answer the supervisor's health check before it is "
            "replaced (with --workers). Raise it on a slow or heavily loaded host.",
        ),
    ] = 5,
) -> None:
    """Serve the API (several workers share the database)."""
    settings = load_settings()  # fail here, in one line, rather than in every worker
    if workers > 1 and reload:
        raise typer.BadParameter("--reload runs a single process", param_hint="--workers")
    if workers > 1 and settings.redis_url is None:
        typer.echo(
            f"warning: without SESSIONARY_REDIS_URL each of the {workers} workers counts failed "
            "logins on its own (throttle limits apply per process)",
            err=True,
        )
    uvicorn.run(
        "sessionary.main:app",
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        access_log=access_log,
        # Client address and scheme come from SESSIONARY_TRUSTED_PROXIES alone.
        proxy_headers=False,
        server_header=False,
        log_level=settings.log_level.lower(),
        timeout_worker_healthcheck=worker_healthcheck_timeout,
    )
