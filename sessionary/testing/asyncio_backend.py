"""Pins anyio's backend to asyncio at session scope.

Registered by the plugin at configure time, after anyio's own plugin, so this
``anyio_backend`` overrides anyio's module-scoped one. One backend for the
session is what lets every async test of a worker share one event loop, its
pooled connections and the app's lifespan: the plugin's session-scoped async
fixtures keep anyio's runner alive, which anyio allows when ``anyio_backend``
is session-scoped too (a conftest overriding it must keep that scope).
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """Async tests run on asyncio, on one event loop per worker."""
    return "asyncio"
