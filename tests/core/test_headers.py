"""Security headers on every response, no caching of anything authenticated, a CSP that lets
the docs pages load, and 422s that never echo what was sent."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from sessionary.testing import DEFAULT_PASSWORD, LoginAs, SettingsOverride, UserFactory

SECRET = "SECRET-VALUE-123"


def assert_baseline_headers(response: Any) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"


def is_no_store(response: Any) -> bool:
    return "no-store" in response.headers.get("cache-control", "")


class TestBaselineHeadersOnEveryResponse:
    def test_200(self, client: TestClient) -> None:
        response = client.get("/health/live")
        assert response.status_code == 200
        assert_baseline_headers(response)

    def test_401(self, client: TestClient) -> None:
        response = client.get("/users/me")
        assert response.status_code == 401
        assert_baseline_headers(response)

    def test_404(self, client: TestClient) -> None:
        response = client.get("/no/such/route")
        assert response.status_code == 404
        assert_baseline_headers(response)

    def test_405(self, client: TestClient) -> None:
        response = client.delete("/health/live")
        assert response.status_code == 405
        assert_baseline_headers(response)

    def test_422(self, client: TestClient) -> None:
        response = client.post("/auth/login", json={})
        assert response.status_code == 422
        assert_baseline_headers(response)

    def test_error_raised_by_the_app(self, client: TestClient, user_factory: UserFactory) -> None:
        user_factory(username="alice")
        response = client.post("/auth/login", json={"username": "alice", "password": "wrong-one"})
        assert response.status_code == 401
        assert_baseline_headers(response)


class TestNoStoreForAnythingAuthenticated:
    def test_anonymous_health_check_may_be_cached(self, client: TestClient) -> None:
        response = client.get("/health/live")
        assert not is_no_store(response)

    def test_response_to_a_request_carrying_the_session_cookie(
        self, member_client: TestClient
    ) -> None:
        me = member_client.get("/users/me")
        live = member_client.get("/health/live")

        assert me.status_code == 200
        assert is_no_store(me)
        assert is_no_store(live)

    def test_401_to_a_dead_session_cookie(self, client: TestClient) -> None:
        client.cookies.set("session_cookie", "x" * 43)
        response = client.get("/users/me")

        assert response.status_code == 401
        assert is_no_store(response)

    def test_response_to_a_bearer_request(self, client: TestClient) -> None:
        response = client.get("/health/live", headers={"Authorization": "Bearer abc"})
        assert is_no_store(response)

    def test_response_setting_the_cookie(
        self, client: TestClient, user_factory: UserFactory
    ) -> None:
        user_factory(username="alice")
        response = client.post(
            "/auth/login", json={"username": "alice", "password": DEFAULT_PASSWORD}
        )

        assert response.status_code == 200
        assert "set-cookie" in response.headers
        assert is_no_store(response)

    def test_logout_clearing_the_cookie(self, client: TestClient) -> None:
        response = client.post("/auth/logout")

        assert response.status_code == 204
        assert "set-cookie" in response.headers
        assert is_no_store(response)

    def test_renamed_cookie_is_recognised_as_credentials(
        self, login_as: LoginAs, user_factory: UserFactory, settings: SettingsOverride
    ) -> None:
        # Settings are read per request: a renamed cookie still marks the
        # request as authenticated.
        settings.session_cookie_name = "sid"
        alice = user_factory(username="alice")
        client = login_as(alice, via="login")
        assert "sid" in client.cookies

        response = client.get("/users/me")

        assert response.status_code == 200
        assert is_no_store(response)


class _Assets(HTMLParser):
    """External URLs an HTML page loads, by the CSP directive that governs them."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []
        self.inline_script = False
        self.inline_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "script":
            if attributes.get("src"):
                self.urls.append(("script-src", attributes["src"]))
            else:
                self.inline_script = True
        elif tag == "style":
            self.inline_style = True
        elif tag == "link" and attributes.get("href"):
            rel = attributes.get("rel", "").split()
            if "stylesheet" in rel:
                self.urls.append(("style-src", attributes["href"]))
            elif "icon" in rel:
                self.urls.append(("img-src", attributes["href"]))


def _directives(policy: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        parsed[name] = sources
    return parsed


def _allowed(directives: dict[str, list[str]], directive: str, url: str) -> bool:
    sources = directives.get(directive, directives.get("default-src", []))
    parts = urlsplit(url)
    if not parts.scheme:
        return "'self'" in sources
    return f"{parts.scheme}://{parts.netloc}" in sources


class TestDocsPages:
    def test_docs_is_html_with_a_csp_allowing_jsdelivr(self, client: TestClient) -> None:
        response = client.get("/docs")

        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert_baseline_headers(response)
        directives = _directives(response.headers["content-security-policy"])
        assert "https://cdn.jsdelivr.net" in directives["script-src"]
        assert "https://cdn.jsdelivr.net" in directives["style-src"]
        assert directives["frame-ancestors"] == ["'none'"]

    @pytest.mark.parametrize("path", ["/docs", "/redoc"])
    def test_every_asset_of_the_page_is_allowed_by_its_csp(
        self, client: TestClient, path: str
    ) -> None:
        response = client.get(path)
        assert response.status_code == 200
        directives = _directives(response.headers["content-security-policy"])
        assets = _Assets()
        assets.feed(response.text)

        assert assets.urls, "the page loads no assets; the test is not looking at the docs"
        blocked = [(d, url) for d, url in assets.urls if not _allowed(directives, d, url)]
        assert blocked == []
        if assets.inline_script:
            assert "'unsafe-inline'" in directives["script-src"]
        if assets.inline_style:
            assert "'unsafe-inline'" in directives["style-src"]

    def test_json_responses_carry_no_csp(self, client: TestClient) -> None:
        assert "content-security-policy" not in client.get("/health/live").headers

    def test_openapi_lists_the_routes(self, client: TestClient) -> None:
        response = client.get("/openapi.json")

        assert response.status_code == 200
        paths = set(response.json()["paths"])
        assert {
            "/auth/login",
            "/login/",
            "/auth/logout",
            "/users/me",
            "/protected_data/",
            "/health/live",
            "/health/ready",
        } <= paths


class TestValidationErrorsNeverEchoInput:
    @pytest.mark.parametrize("path", ["/auth/login", "/login/"])
    @pytest.mark.parametrize(
        "body",
        [
            pytest.param({"username": "x", "password": [SECRET]}, id="password-wrong-type"),
            pytest.param({"username": "x", "password": {"v": SECRET}}, id="password-object"),
            pytest.param({"username": [SECRET], "password": "p"}, id="username-wrong-type"),
            pytest.param({"username": "x", "password": SECRET * 100}, id="password-too-long"),
            pytest.param({"username": SECRET * 100, "password": "p"}, id="username-too-long"),
            pytest.param({"username": "x", "password": "p", "extra": SECRET}, id="extra-field"),
            pytest.param({"password": SECRET}, id="username-missing"),
            pytest.param(SECRET, id="not-an-object"),
        ],
    )
    def test_login_body(self, client: TestClient, path: str, body: Any) -> None:
        response = client.post(path, json=body)

        assert response.status_code == 422
        assert SECRET not in response.text
        errors = response.json()["detail"]
        assert isinstance(errors, list)
        assert errors
        assert all({"loc", "msg", "type"} <= set(error) for error in errors)
        assert all("input" not in error for error in errors)

    def test_malformed_json(self, client: TestClient) -> None:
        response = client.post(
            "/auth/login",
            content=f'{{"username": "x", "password": "{SECRET}"',
            headers={"content-type": "application/json"},
        )

        assert response.status_code == 422
        assert SECRET not in response.text


class TestNoStoreHoweverTheCookieIsSpelled:
    @pytest.mark.parametrize(
        "cookie",
        [
            "session_cookie =abc",
            "session_cookie= abc",
            "other=1;  session_cookie=abc",
            "SESSION_COOKIE=abc",
            'session_cookie="not a token"',
            "session_cookie=a; session_cookie=b",
        ],
        ids=["space-before-equals", "space-after", "second", "upper-case", "quoted", "twice"],
    )
    def test_a_request_naming_the_session_cookie_is_never_cached(
        self, client: TestClient, cookie: str
    ) -> None:
        for path in ("/users/me", "/health/live"):
            response = client.get(path, headers={"Cookie": cookie})
            assert is_no_store(response), (path, cookie)

    def test_the_cookie_in_a_second_cookie_header(self, sessionary_app: Any) -> None:
        # Two Cookie headers (HTTP/2 splits them; Starlette reads only the first).
        headers = [(b"cookie", b"theme=dark"), (b"cookie", b"session_cookie =abc")]
        response = _raw_get(sessionary_app, "/users/me", headers)
        assert b"no-store" in dict(response["headers"]).get(b"cache-control", b"")

    def test_another_cookie_alone_may_be_cached(self, client: TestClient) -> None:
        response = client.get("/health/live", headers={"Cookie": "theme=dark"})
        assert not is_no_store(response)


def _raw_get(app: Any, path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """One request straight through the ASGI app, headers exactly as given."""
    import anyio

    start: dict[str, Any] = {}

    async def run() -> None:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"testserver"), *headers],
            "client": ("127.0.0.1", 1234),
            "server": ("testserver", 80),
            "app": app,
        }

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)

        await app(scope, receive, send)

    anyio.run(run)
    return start


class TestStrictTransportSecurity:
    def test_off_by_default(self, client: TestClient) -> None:
        assert "strict-transport-security" not in client.get("/health/live").headers

    def test_on_every_response_when_set(
        self, client: TestClient, settings: SettingsOverride
    ) -> None:
        settings.hsts = 31_536_000
        for response in (client.get("/health/live"), client.get("/users/me"), client.get("/x")):
            assert response.headers["strict-transport-security"] == "max-age=31536000"

    def test_subdomains_only_when_configured(
        self, client: TestClient, settings: SettingsOverride
    ) -> None:
        settings.hsts = 600
        settings.hsts_include_subdomains = True
        response = client.get("/health/live")
        assert response.headers["strict-transport-security"] == "max-age=600; includeSubDomains"


class TestTrailingSlashRedirects:
    @pytest.mark.parametrize(
        ("method", "path", "location"),
        [
            ("GET", "/login", "/login/"),
            ("GET", "/protected_data", "/protected_data/"),
            ("GET", "/health/live/", "/health/live"),
            ("GET", "/protected_data?x=1", "/protected_data/?x=1"),
        ],
    )
    def test_location_is_relative_whatever_the_host_says(
        self, client: TestClient, method: str, path: str, location: str
    ) -> None:
        response = client.request(
            method, path, headers={"Host": "evil.example"}, follow_redirects=False
        )

        assert response.status_code == 307
        assert response.headers["location"] == location

    def test_the_seed_paths_still_work_through_the_redirect(
        self, client: TestClient, user_factory: UserFactory
    ) -> None:
        user_factory(username="alice")
        login = client.post("/login", json={"username": "alice", "password": DEFAULT_PASSWORD})
        assert login.status_code == 200
        assert client.get("/protected_data").json()["username"] == "alice"

    def test_an_unknown_path_is_still_404(self, client: TestClient) -> None:
        assert client.get("/no/such/route/", follow_redirects=False).status_code == 404
