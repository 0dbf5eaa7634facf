"""``install(app)``: Sessionary in a developer's own FastAPI app, with and without a prefix.

Each app here is new, and shares the running test's database (the toolkit's provider) with
the plugin's app, so its users and rows are the test's own and vanish with it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import pytest
from anyio.from_thread import BlockingPortal
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sessionary import (
    ALL_ROUTERS,
    DEFAULT_ROUTERS,
    CurrentPrincipal,
    DbSession,
    NotFound,
    Principal,
    Runtime,
    create_app,
    install,
    require,
)
from sessionary.core.runtime import NotInstalled
from sessionary.roles.permissions import Permission
from sessionary.runtime import runtime_of
from sessionary.testing import DEFAULT_PASSWORD, SessionaryTestClient, UserFactory
from sessionary.users.models import User

COOKIE = "session_cookie"
UsersReader = Annotated[Principal, Depends(require(Permission.USERS_READ))]


def own_app(events: list[str] | None = None, **options: Any) -> FastAPI:
    """A developer's app: its own lifespan (yielding state) and routes, then ``install``."""
    log = events if events is not None else []

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, str]]:
        log.append("app started")
        yield {"greeting": "hello from the app's lifespan"}
        log.append("app stopped")

    app = FastAPI(lifespan=lifespan, **options)

    @app.get("/projects")
    async def projects(principal: CurrentPrincipal, db: DbSession) -> dict[str, Any]:
        users = await db.scalar(select(func.count()).select_from(User))
        return {"owner": principal.user_id, "users": users}

    @app.post("/projects", status_code=201)
    async def create_project(principal: CurrentPrincipal) -> dict[str, int]:
        return {"owner": principal.user_id}

    @app.get("/directory")
    async def directory(principal: UsersReader) -> dict[str, str]:
        return {"reader": principal.username}

    @app.get("/greeting")
    async def greeting(request: Request) -> dict[str, str]:
        return {"greeting": request.state.greeting}

    @app.get("/projects/{number}")
    async def project(number: int) -> dict[str, int]:
        raise NotFound("No such project")

    return app


@pytest.fixture
def embed(
    sessionary_app: FastAPI, sessionary_portal: BlockingPortal
) -> Iterator[Callable[..., SessionaryTestClient]]:
    """``embed(app, **install_options)``: install Sessionary into ``app`` on this test's
    database and return a client whose lifespan (the app's and Sessionary's) is running."""
    clients: list[SessionaryTestClient] = []

    def make(app: FastAPI, **options: Any) -> SessionaryTestClient:
        shared = runtime_of(sessionary_app)
        runtime = install(app, shared.settings, **options)
        runtime.database = shared.database
        client = SessionaryTestClient(app, portal=sessionary_portal)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def log_in(client: TestClient, user: User, path: str = "/auth/login") -> None:
    response = client.post(path, json={"username": user.username, "password": DEFAULT_PASSWORD})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("prefix", ["", "/api"])
class TestTheAppsOwnRoutes:
    def test_login_under_the_prefix_then_the_apps_own_route_with_the_cookie(
        self, embed: Callable[..., SessionaryTestClient], user: User, prefix: str
    ) -> None:
        client = embed(own_app(), prefix=prefix)

        assert client.get("/projects").status_code == 401
        log_in(client, user, f"{prefix}/auth/login")
        response = client.get("/projects")

        assert response.status_code == 200, response.text
        assert response.json() == {"owner": user.id, "users": 1}
        assert client.get(f"{prefix}/users/me").json()["username"] == user.username

    def test_require_guards_the_apps_own_route(
        self, embed: Callable[..., SessionaryTestClient], user_factory: UserFactory, prefix: str
    ) -> None:
        client = embed(own_app(), prefix=prefix)
        log_in(client, user_factory(roles=["member"]), f"{prefix}/auth/login")

        assert client.get("/directory").status_code == 403
        client.cookies.clear()
        admin = user_factory(roles=["admin"])
        log_in(client, admin, f"{prefix}/auth/login")
        assert client.get("/directory").json() == {"reader": admin.username}

    def test_csrf_headers_and_errors_apply_to_the_apps_own_routes(
        self, embed: Callable[..., SessionaryTestClient], user: User, prefix: str
    ) -> None:
        client = embed(own_app(), prefix=prefix)
        log_in(client, user, f"{prefix}/auth/login")

        assert client.post("/projects").status_code == 201
        refused = client.cross_site().post("/projects")
        read = client.get("/projects")
        missing = client.get("/projects/7")

        assert refused.status_code == 403
        assert refused.json() == {"detail": "Cross-site request refused"}
        assert read.headers["x-content-type-options"] == "nosniff"
        assert read.headers["cache-control"] == "no-store"
        assert (missing.status_code, missing.json()) == (404, {"detail": "No such project"})

    def test_the_apps_lifespan_runs_inside_sessionarys_and_its_state_is_seen(
        self, embed: Callable[..., SessionaryTestClient], prefix: str
    ) -> None:
        events: list[str] = []
        app = own_app(events)
        client = embed(app, prefix=prefix)
        assert events == ["app started"]

        assert client.get("/greeting").json() == {"greeting": "hello from the app's lifespan"}
        client.__exit__(None, None, None)
        assert events == ["app started", "app stopped"]


class TestLifespanOrder:
    def test_the_database_starts_before_the_apps_lifespan_and_stops_after_it(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        events: list[str] = []
        app = own_app(events)
        runtime = install(app)
        database = runtime.database

        async def start() -> None:
            events.append("database started")

        async def stop() -> None:
            events.append("database stopped")

        monkeypatch.setattr(database, "start", start)
        monkeypatch.setattr(database, "stop", stop)
        with TestClient(app):
            events.append("serving")

        assert events == [
            "database started",
            "app started",
            "serving",
            "app stopped",
            "database stopped",
        ]


class TestThePrefix:
    def test_sessionarys_routes_move_under_it_and_the_root_stays_the_apps(
        self, embed: Callable[..., SessionaryTestClient], user: User
    ) -> None:
        client = embed(own_app(), prefix="/api")

        assert client.get("/api/health/live").status_code == 200
        assert client.get("/health/live").status_code == 404
        assert client.post("/auth/login", json={}).status_code == 404

    def test_the_seed_aliases_follow_it_and_redirect_relatively(
        self, embed: Callable[..., SessionaryTestClient], user: User
    ) -> None:
        client = embed(own_app(), prefix="/api")
        log_in(client, user, "/api/login/")

        redirect = client.get("/api/protected_data", follow_redirects=False)

        assert (redirect.status_code, redirect.headers["location"]) == (307, "/api/protected_data/")
        assert client.get("/api/protected_data/").json()["username"] == user.username
        assert client.get("/protected_data/").status_code == 404

    def test_the_cookie_is_for_the_whole_site_so_the_apps_routes_receive_it(
        self, embed: Callable[..., SessionaryTestClient], user: User
    ) -> None:
        client = embed(own_app(), prefix="/api")

        response = client.post(
            "/api/auth/login", json={"username": user.username, "password": DEFAULT_PASSWORD}
        )

        assert "Path=/;" in response.headers["set-cookie"]

    @pytest.mark.parametrize("path", ["/api/auth/login", "/api/login/", "/api/auth/register"])
    def test_login_csrf_checks_the_prefixed_login_and_sign_up_routes(
        self, embed: Callable[..., SessionaryTestClient], user: User, path: str
    ) -> None:
        client = embed(own_app(), prefix="/api")

        response = client.cross_site().post(
            path, json={"username": user.username, "password": DEFAULT_PASSWORD}
        )

        assert response.status_code == 403
        assert COOKIE not in response.cookies

    def test_openapi_documents_both_and_names_the_prefixed_login(
        self, embed: Callable[..., SessionaryTestClient]
    ) -> None:
        client = embed(own_app(), prefix="/api")

        document = client.get("/openapi.json").json()

        assert {"/api/auth/login", "/api/users/me", "/projects"} <= set(document["paths"])
        assert not any(path.startswith("/api/notes") for path in document["paths"])
        scheme = document["components"]["securitySchemes"]["session_cookie"]
        assert "POST /api/auth/login" in scheme["description"]
        # The app's own route documents what Sessionary's dependencies answer.
        assert "401" in document["paths"]["/projects"]["get"]["responses"]


class TestRouterGroups:
    def test_only_the_chosen_groups_are_served(
        self, embed: Callable[..., SessionaryTestClient]
    ) -> None:
        client = embed(own_app(), routers={"health"})

        assert client.get("/health/live").status_code == 200
        assert client.post("/auth/login", json={}).status_code == 404
        assert client.get("/users/me").status_code == 404
        assert runtime_of(client.sessionary_app).routers == {"health"}

    def test_notes_is_off_for_an_app_and_on_in_the_ready_made_service(
        self, embed: Callable[..., SessionaryTestClient], user: User
    ) -> None:
        client = embed(own_app())
        log_in(client, user)

        assert client.get("/notes").status_code == 404
        assert ALL_ROUTERS - {"notes"} == DEFAULT_ROUTERS
        service = create_app(runtime_of(client.sessionary_app).settings)
        try:
            assert runtime_of(service).routers == ALL_ROUTERS
            assert "/notes" in service.openapi()["paths"]
        finally:
            runtime_of(service).hasher.close()

    def test_an_app_without_slash_redirects_keeps_them_off(
        self, embed: Callable[..., SessionaryTestClient]
    ) -> None:
        client = embed(own_app(redirect_slashes=False), prefix="/api")

        assert client.get("/api/protected_data", follow_redirects=False).status_code == 404


class TestMistakes:
    def test_installing_twice_is_an_error(self) -> None:
        app = FastAPI()
        runtime: Runtime = install(app)
        try:
            with pytest.raises(RuntimeError, match="already installed"):
                install(app)
        finally:
            runtime.hasher.close()

    @pytest.mark.parametrize("prefix", ["api", "/api/", "//api"])
    def test_a_malformed_prefix_is_refused(self, prefix: str) -> None:
        with pytest.raises(ValueError, match="prefix"):
            install(FastAPI(), prefix=prefix)

    def test_an_unknown_group_is_refused_and_named(self) -> None:
        with pytest.raises(ValueError, match="unknown router group\\(s\\) billing; choose among"):
            install(FastAPI(), routers={"auth", "billing"})  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="collection of group names"):
            install(FastAPI(), routers="auth")  # type: ignore[arg-type]

    def test_a_route_of_an_app_without_sessionary_says_what_to_do(self) -> None:
        app = FastAPI()

        @app.get("/mine")
        async def mine(principal: CurrentPrincipal) -> dict[str, int]:
            return {"id": principal.user_id}

        with pytest.raises(NotInstalled, match=r"call sessionary\.install\(app\)"):
            TestClient(app).get("/mine")
