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
        # Settings are read per request (SPEC §6): a renamed cookie still marks the
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
