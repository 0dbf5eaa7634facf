"""Pins anyio's backend to asyncio at session scope.

Registered by the plugin at configure time, after anyio's own plugin, so this
``anyio_backend`` overrides anyio's module-scoped one (a conftest may still
override it). One backend for the session is what lets every async test of a
worker share one event loop, its pooled connections and the app's lifespan.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """Async tests run on asyncio, on one event loop per worker."""
    return "asyncio"
