"""A real uvicorn server for concurrency tests: real sockets, real HTTP, many requests in flight.

It serves the toolkit's app on the test's own event loop (the test database's connections
belong to that loop), on a port the OS picks on 127.0.0.1, with the lifespan off (the toolkit
owns the database) and without touching the process' signal handlers.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator

import uvicorn
from fastapi import FastAPI

STARTUP_SECONDS = 10.0


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the test runner owns the signals


@contextlib.asynccontextmanager
async def live_server(app: FastAPI) -> AsyncIterator[str]:
    """``async with live_server(app) as base_url``: the app served over TCP on loopback."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(app, lifespan="off", access_log=False, log_level="warning")
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        async with asyncio.timeout(STARTUP_SECONDS):
            while not server.started:
                if task.done():
                    task.result()  # raises what stopped it
                await asyncio.sleep(0.01)  # polling a flag uvicorn sets, not waiting on time
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        listener.close()
