"""A ``TestClient(app)`` a test builds itself runs on the worker's event loop: the one global
patch the plugin keeps, and why.

The toolkit's own clients are given the worker's portal (``TestClient.portal``), and the app's
lifespan runs on it through the portal's ``wrap_async_context_manager``: neither needs a patch.
A client the test makes by hand is another matter, and docs/testing.md promises it is isolated
like the rest, with or without ``with``. Starlette (1.10) offers no documented way to hand it a
portal: without ``with``, each request opens one from the class attribute ``portal`` (else a
new thread and loop); ``with TestClient(app)`` calls ``anyio.from_thread.start_blocking_portal``
itself. A request on another loop could not use the test's connection (asyncpg connections
belong to one loop), so it would miss the test's data and escape its rollback.

So, while a test runs (and only then), both point at the worker's portal. Remove this module
when Starlette accepts a portal (or a portal factory) for every client.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio.from_thread
import pytest
from anyio.from_thread import BlockingPortal
from fastapi.testclient import TestClient


@contextmanager
def handmade_clients_on(portal: BlockingPortal) -> Iterator[None]:
    """Within the block, every ``TestClient`` without a portal of its own uses ``portal``."""

    @contextmanager
    def start_blocking_portal(*_args: Any, **_kwargs: Any) -> Iterator[BlockingPortal]:
        yield portal  # the worker's portal: the block's end does not stop it

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(anyio.from_thread, "start_blocking_portal", start_blocking_portal)
        patch.setattr(TestClient, "portal", portal)
        yield
