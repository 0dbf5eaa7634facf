"""CORS (docs/security.md "Requests from browsers"): origins in ``SESSIONARY_CORS_ORIGINS`` may call
the API with credentials; no CORS headers for anyone else, and none at all by default.

The CORS middleware is built when the app is created, so these tests make an app with the
setting (sharing the test's isolated database) instead of changing it on the running one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx2
import pytest
from anyio.from_thread import BlockingPortal
from fastapi import FastAPI

from sessionary.app import create_app
from sessionary.config import Settings
from sessionary.runtime import runtime_of
from sessionary.testing import DEFAULT_PASSWORD, SessionaryTestClient, UserFactory

FRONTEND = "https://front.example"
OTHER = "https://other.example"
ALLOW_ORIGIN = "access-control-allow-origin"
ALLOW_CREDENTIALS = "access-control-allow-credentials"

MakeClient = Callable[..., SessionaryTestClient]


@pytest.fixture
def cors_client(
    sessionary_app: FastAPI,
    sessionary_portal: BlockingPortal,
    client: SessionaryTestClient,
) -> Iterator[MakeClient]:
    """``cors_client(origins)``: a client, with ``client``'s cookies, for an app created with
    ``cors_origins=origins`` and sharing this test's database."""
    made: list[tuple[FastAPI, SessionaryTestClient]] = []

    def make(origins: list[str], *, origin: str = FRONTEND) -> SessionaryTestClient:
        current: Settings = runtime_of(sessionary_app).settings
        settings = Settings.model_validate({**current.model_dump(), "cors_origins": origins})
        app = create_app(settings)
        runtime, shared = runtime_of(app), runtime_of(sessionary_app)
        runtime.hasher.close()
        runtime.hasher = shared.hasher
        runtime.database = shared.database
        runtime.throttle = shared.throttle  # no Redis clients of its own
        test_client = SessionaryTestClient(app, portal=sessionary_portal, origin=origin)
        test_client.cookies = client.cookies
        made.append((app, test_client))
        return test_client

    yield make
    for _, test_client in made:
        test_client.close()


def preflight(client: httpx2.Client, origin: str, method: str = "POST") -> httpx2.Response:
    return client.options(
        "/auth/login",
        headers={
            "origin": origin,
            "access-control-request-method": method,
            "access-control-request-headers": "content-type, authorization",
        },
    )


def listed(header: str) -> set[str]:
    return {item.strip().lower() for item in header.split(",")}


class TestPreflightFromAnAllowedOrigin:
    def test_allows_credentials_methods_and_headers(self, cors_client: MakeClient) -> None:
        response = preflight(cors_client([FRONTEND]), FRONTEND)

        assert response.status_code == 200, response.text
        assert response.headers[ALLOW_ORIGIN] == FRONTEND
        assert response.headers[ALLOW_CREDENTIALS] == "true"
        assert {"get", "post", "put", "patch", "delete"} <= listed(
            response.headers["access-control-allow-methods"]
        )
        assert {"content-type", "authorization"} <= listed(
            response.headers["access-control-allow-headers"]
        )
        assert response.headers["x-content-type-options"] == "nosniff"

    @pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
    def test_each_write_method(self, cors_client: MakeClient, method: str) -> None:
        assert preflight(cors_client([FRONTEND]), FRONTEND, method).status_code == 200

    def test_configured_spelling_is_normalised(self, cors_client: MakeClient) -> None:
        response = preflight(cors_client(["HTTPS://Front.Example:443/"]), FRONTEND)

        assert response.status_code == 200, response.text
        assert response.headers[ALLOW_ORIGIN] == FRONTEND


class TestPreflightFromAnyOtherOrigin:
    def test_gets_no_allow_origin(self, cors_client: MakeClient) -> None:
        response = preflight(cors_client([FRONTEND]), OTHER)

        assert response.status_code == 400
        assert ALLOW_ORIGIN not in response.headers


class TestCredentialedRequests:
    def test_logged_in_read_from_the_front_end(
        self, cors_client: MakeClient, client: SessionaryTestClient, user_factory: UserFactory
    ) -> None:
        user_factory(username="alice")
        credentials = {"username": "alice", "password": DEFAULT_PASSWORD}
        assert client.post("/auth/login", json=credentials).status_code == 200
        front = cors_client([FRONTEND])

        response = front.get("/users/me")

        assert response.status_code == 200
        assert response.json()["username"] == "alice"
        assert response.headers[ALLOW_ORIGIN] == FRONTEND
        assert response.headers[ALLOW_CREDENTIALS] == "true"
        assert "origin" in listed(response.headers["vary"])

    def test_login_from_the_front_end_passes_csrf_and_is_readable(
        self, cors_client: MakeClient, user_factory: UserFactory
    ) -> None:
        user_factory(username="alice")
        front = cors_client([FRONTEND])

        response = front.post(
            "/auth/login", json={"username": "alice", "password": DEFAULT_PASSWORD}
        )

        assert response.status_code == 200, response.text
        assert response.headers[ALLOW_ORIGIN] == FRONTEND
        assert "set-cookie" in response.headers

    def test_other_origins_get_no_cors_headers(self, cors_client: MakeClient) -> None:
        response = cors_client([FRONTEND], origin=OTHER).get("/health/live")

        assert response.status_code == 200
        # Without Allow-Origin the browser withholds the response (Starlette still sends its
        # constant Allow-Credentials, which grants nothing on its own).
        assert ALLOW_ORIGIN not in response.headers

    def test_a_csrf_refusal_for_another_origin_is_unreadable_to_it(
        self, cors_client: MakeClient, client: SessionaryTestClient
    ) -> None:
        client.cookies.set("session_cookie", "x" * 43)

        response = cors_client([FRONTEND], origin=OTHER).post("/auth/logout")

        assert response.status_code == 403
        assert ALLOW_ORIGIN not in response.headers


class TestNoCorsByDefault:
    def test_preflight_gets_no_allow_origin(self, client: SessionaryTestClient) -> None:
        response = preflight(client, FRONTEND)

        assert response.status_code == 405
        assert ALLOW_ORIGIN not in response.headers

    def test_cross_origin_read_gets_no_allow_origin(self, client: SessionaryTestClient) -> None:
        response = client.cross_site(FRONTEND).get("/health/live")

        assert response.status_code == 200
        assert ALLOW_ORIGIN not in response.headers
        assert ALLOW_CREDENTIALS not in response.headers
