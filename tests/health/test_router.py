"""/health/live answers while the process runs; /health/ready only while the database does.
With the database down the app still starts, and database routes answer 503, never 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sessionary import migrations
from sessionary.app import create_app
from sessionary.config import Settings
from sessionary.core.security import new_token
from sessionary.runtime import runtime_of

# Port 1 on loopback: nothing listens there, so every connection is refused at once.
DOWN_URL = "postgresql+asyncpg://postgres@127.0.0.1:1/down_test"


class TestLive:
    def test_is_ok(self, client: TestClient) -> None:
        response = client.get("/health/live")

        assert response.status_code == 200
        assert response.json() == {"status": "ok"}


class TestReady:
    def test_is_ok_when_the_database_answers(self, client: TestClient) -> None:
        response = client.get("/health/ready")

        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "ok"
        # Redis is checked too when the run has one (SESSIONARY_TEST_REDIS_URL).
        assert body["checks"]["database"] == "ok"
        assert set(body["checks"].values()) == {"ok"}
        assert "retry-after" not in response.headers


@pytest.fixture
def down_app() -> Iterator[FastAPI]:
    app = create_app(Settings(database_url=DOWN_URL, _env_file=None))
    yield app
    runtime_of(app).hasher.close()


def _assert_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) >= 1
    assert "detail" in response.json()


@pytest.mark.no_db
class TestDatabaseDown:
    @pytest.mark.parametrize("lifespan", [False, True], ids=["bare-client", "with-lifespan"])
    def test_process_starts_and_is_live(self, down_app: FastAPI, lifespan: bool) -> None:
        client = TestClient(down_app, base_url="https://testserver")
        if lifespan:
            with client:  # the lifespan must not need the database
                response = client.get("/health/live")
        else:
            response = client.get("/health/live")

        assert response.status_code == 200
        assert response.json() == {"status": "ok"}

    @pytest.mark.parametrize("lifespan", [False, True], ids=["bare-client", "with-lifespan"])
    def test_database_routes_are_503(self, down_app: FastAPI, lifespan: bool) -> None:
        client = TestClient(down_app, base_url="https://testserver")
        client.cookies.set("session_cookie", new_token())  # well-formed, so it is looked up
        if lifespan:
            client.__enter__()
        try:
            ready = client.get("/health/ready")
            me = client.get("/users/me")
            protected = client.get("/protected_data/")
            login = client.post("/auth/login", json={"username": "alice", "password": "pw-123456"})
        finally:
            if lifespan:
                client.__exit__(None, None, None)

        assert ready.status_code == 503
        assert ready.headers["retry-after"] == "5"
        assert ready.json()["status"] == "unavailable"
        assert ready.json()["checks"]["database"] == "unavailable"
        for response in (me, protected, login):
            _assert_unavailable(response)
        assert "set-cookie" not in login.headers


@pytest.mark.no_db
class TestRecovery:
    def test_app_recovers_by_itself_when_the_database_appears(self, tmp_path: Path) -> None:
        # A SQLite file in a directory that does not exist yet cannot be opened: "down".
        url = f"sqlite+aiosqlite:///{tmp_path / 'later' / 'app.db'}"
        app = create_app(Settings(database_url=url, _env_file=None))
        with TestClient(app, base_url="https://testserver") as client:
            client.cookies.set("session_cookie", new_token())
            assert client.get("/health/ready").status_code == 503
            _assert_unavailable(client.get("/users/me"))

            (tmp_path / "later").mkdir()
            migrations.upgrade(url)

            assert client.get("/health/ready").status_code == 200
            # The database answers again: the unknown token is a plain 401 now.
            assert client.get("/users/me").status_code == 401
