"""/health/ready reports Redis when the throttle uses it (docs/security.md "Brute force")."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sessionary.app import create_app
from sessionary.auth.throttle import LoginThrottle
from sessionary.config import Settings
from sessionary.runtime import runtime_of
from sessionary.testing import loops

REDIS_URL = "redis://127.0.0.1:6379/0"
REDIS_DOWN_URL = "redis://127.0.0.1:1/0"
DATABASE_DOWN_URL = "postgresql+asyncpg://postgres@127.0.0.1:1/down_test"


@pytest.fixture
def use_throttle(
    sessionary_app: FastAPI, sessionary_loop: loops.TestLoop
) -> Iterator[list[LoginThrottle]]:
    """Swap in throttles on other storage for one test (closed and restored afterwards)."""
    original = runtime_of(sessionary_app).throttle
    used: list[LoginThrottle] = []
    yield used
    runtime_of(sessionary_app).throttle = original
    for throttle in used:
        sessionary_loop.call(throttle.close)


def _install(app: FastAPI, used: list[LoginThrottle], redis_url: str | None) -> None:
    settings: Settings = runtime_of(app).settings
    prefix = f"sessionary-test:{uuid.uuid4().hex}:"
    throttle = LoginThrottle(
        settings.model_copy(update={"redis_url": redis_url, "redis_key_prefix": prefix})
    )
    used.append(throttle)
    runtime_of(app).throttle = throttle


class TestReadyWithRedis:
    def test_both_answer(
        self, client: TestClient, sessionary_app: FastAPI, use_throttle: list[LoginThrottle]
    ) -> None:
        _install(sessionary_app, use_throttle, REDIS_URL)

        response = client.get("/health/ready")

        assert response.status_code == 200
        assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}

    def test_redis_down_is_503_and_named(
        self, client: TestClient, sessionary_app: FastAPI, use_throttle: list[LoginThrottle]
    ) -> None:
        _install(sessionary_app, use_throttle, REDIS_DOWN_URL)

        response = client.get("/health/ready")

        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert response.json() == {
            "status": "unavailable",
            "checks": {"database": "ok", "redis": "unavailable"},
        }

    def test_memory_storage_is_not_reported(
        self, client: TestClient, sessionary_app: FastAPI, use_throttle: list[LoginThrottle]
    ) -> None:
        _install(sessionary_app, use_throttle, None)

        response = client.get("/health/ready")

        assert response.status_code == 200
        assert response.json() == {"status": "ok", "checks": {"database": "ok"}}


@pytest.mark.no_db
def test_database_down_with_redis_up_names_the_database() -> None:
    app = create_app(Settings(database_url=DATABASE_DOWN_URL, redis_url=REDIS_URL, _env_file=None))
    try:
        with TestClient(app, base_url="https://testserver") as client:
            response = client.get("/health/ready")
    finally:
        runtime_of(app).hasher.close()

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "unavailable", "redis": "ok"},
    }
