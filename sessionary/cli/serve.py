"""``sessionary serve``: uvicorn with the server's own proxy-header handling off."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from pydantic import ValidationError
from starlette.applications import Starlette

from sessionary.cli._runtime import fail, load_settings
from sessionary.config import Settings
from sessionary.core.runtime import NotInstalled
from sessionary.runtime import runtime_of

DEFAULT_APP = "sessionary.main:app"


def _one_line(exc: Exception) -> str:
    if isinstance(exc, ValidationError) and (errors := exc.errors()):
        where = ".".join(str(part) for part in errors[0]["loc"])
        return f"invalid setting{f' {where}' if where else 's'}: {errors[0]['msg']}"
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _import_app(spec: str) -> Any:
    """The object ``module:attribute`` names, imported here so that a mistake is one line
    before uvicorn starts (its workers would each fail, and a reloader would keep waiting)."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        fail(f"--app {spec!r}: expected module:attribute, e.g. myproject.main:app")
    # The current directory, as uvicorn's own command adds it (workers inherit sys.path).
    if (here := str(Path.cwd())) not in sys.path:
        sys.path.insert(0, here)
    try:
        found: Any = importlib.import_module(module_name)
    except Exception as exc:  # whatever the import raised is the user's to fix
        fail(f"--app {spec!r}: cannot import {module_name}: {_one_line(exc)}")
    for name in attribute.split("."):
        if not hasattr(found, name):
            fail(f"--app {spec!r}: {module_name} has no attribute {attribute}")
        found = getattr(found, name)
    return found


def _app_settings(spec: str) -> Settings:
    """The settings the app at ``spec`` was installed with."""
    app = _import_app(spec)
    if not callable(app):
        fail(f"--app {spec!r} is not an ASGI app")
    if isinstance(app, Starlette):
        try:
            return runtime_of(app).settings
        except NotInstalled:
            fail(f"--app {spec!r}: Sessionary is not installed on it; call sessionary.install(app)")
    return load_settings()  # an app wrapped in other ASGI middleware: the environment's


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
    app: Annotated[
        str,
        typer.Option(
            "--app",
            help="Your app, as module:attribute (Sessionary installed on it); "
            "the current directory is importable.",
        ),
    ] = DEFAULT_APP,
) -> None:
    """Serve the API (several workers share the database)."""
    # Fail here, in one line, rather than in every worker. The ready-made service is not
    # imported: each worker builds it from the environment read here.
    settings = load_settings() if app == DEFAULT_APP else _app_settings(app)
    if workers > 1 and reload:
        raise typer.BadParameter("--reload runs a single process", param_hint="--workers")
    if workers > 1 and settings.redis_url is None:
        typer.echo(
            f"warning: without SESSIONARY_REDIS_URL each of the {workers} workers counts failed "
            "logins on its own (throttle limits apply per process)",
            err=True,
        )
    uvicorn.run(
        app,
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
