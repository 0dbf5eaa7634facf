"""CSRF by origin checking (docs/security.md "Requests from browsers"): cookie-carrying unsafe
requests and the login routes are refused unless their Origin (else Referer, else Sec-Fetch-Site)
says they come from a trusted origin."""

from __future__ import annotations

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sessionary.sessions.models import LoginSession
from sessionary.testing import (
    DEFAULT_PASSWORD,
    LoginAs,
    SessionaryTestClient,
    SettingsOverride,
    SyncDB,
    UserFactory,
)

REFUSED = {"detail": "Cross-site request refused"}
SELF = "https://testserver"
FOREIGN = "https://attacker.example"
LOGIN_PATHS = ["/auth/login", "/login/"]
UNSAFE_METHODS = ["POST", "PUT", "PATCH", "DELETE"]
# Routing happens after the check: an unknown path answers 404 once a request gets through.
NOWHERE = "/no/such/route"


def assert_refused(response: httpx2.Response) -> None:
    assert response.status_code == 403, response.text
    assert response.json() == REFUSED
    # Refusals come from inside the security-headers middleware.
    assert response.headers["x-content-type-options"] == "nosniff"


def logout(client: TestClient, **headers: str) -> httpx2.Response:
    """``POST /auth/logout``; ``sec_fetch_site="…"`` sends ``sec-fetch-site``."""
    return client.post(
        "/auth/logout", headers={name.replace("_", "-"): value for name, value in headers.items()}
    )


def still_logged_in(client: TestClient) -> bool:
    return client.get("/users/me").status_code == 200


@pytest.fixture
def member(member_client: SessionaryTestClient) -> SessionaryTestClient:
    """A logged-in client that sends no ``Origin`` unless a test gives one."""
    del member_client.headers["origin"]
    return member_client


@pytest.fixture
def alice(user_factory: UserFactory) -> dict[str, str]:
    user_factory(username="alice")
    return {"username": "alice", "password": DEFAULT_PASSWORD}


class TestOriginDecidesWhenPresent:
    def test_same_origin_passes(self, member: SessionaryTestClient) -> None:
        assert logout(member, origin=SELF).status_code == 204

    def test_foreign_origin_is_refused_and_the_endpoint_never_runs(
        self, member: SessionaryTestClient
    ) -> None:
        assert_refused(logout(member, origin=FOREIGN))
        assert still_logged_in(member)

    def test_the_toolkits_cross_site_client_is_refused(
        self, member_client: SessionaryTestClient
    ) -> None:
        assert_refused(member_client.cross_site().post("/auth/logout"))
        assert member_client.post("/auth/logout").status_code == 204

    def test_null_origin_is_refused(self, member: SessionaryTestClient) -> None:
        assert_refused(logout(member, origin="null"))

    def test_foreign_origin_wins_over_a_same_origin_referer(
        self, member: SessionaryTestClient
    ) -> None:
        assert_refused(logout(member, origin=FOREIGN, referer=f"{SELF}/page"))

    def test_same_origin_wins_over_a_foreign_referer(self, member: SessionaryTestClient) -> None:
        assert logout(member, origin=SELF, referer=f"{FOREIGN}/page").status_code == 204

    def test_same_origin_wins_over_sec_fetch_site_cross_site(
        self, member: SessionaryTestClient
    ) -> None:
        response = logout(member, origin=SELF, sec_fetch_site="cross-site")
        assert response.status_code == 204

    @pytest.mark.parametrize(
        "origin",
        ["https://TESTSERVER", "https://testserver:443", "HTTPS://testserver/"],
    )
    def test_spelling_of_the_same_origin_is_normalised(
        self, member: SessionaryTestClient, origin: str
    ) -> None:
        assert logout(member, origin=origin).status_code == 204

    @pytest.mark.parametrize(
        "origin",
        [
            pytest.param("http://testserver", id="other-scheme"),
            pytest.param("https://testserver:8443", id="other-port"),
            pytest.param("https://testserver.attacker.example", id="suffix-host"),
            pytest.param("https://sub.testserver", id="subdomain"),
        ],
    )
    def test_near_misses_are_refused(self, member: SessionaryTestClient, origin: str) -> None:
        assert_refused(logout(member, origin=origin))

    @pytest.mark.parametrize(
        "origin",
        [
            pytest.param("", id="empty"),
            pytest.param("testserver", id="no-scheme"),
            pytest.param("https://", id="no-host"),
            pytest.param("https://[::1", id="broken-ipv6"),
            pytest.param("https://testserver:99999", id="port-out-of-range"),
            pytest.param("https://testserver:abc", id="port-not-a-number"),
            pytest.param("https://testserver/path", id="with-a-path"),
            pytest.param("https://testserver?q=1", id="with-a-query"),
            pytest.param("https://user@testserver", id="with-userinfo"),
            pytest.param("javascript:alert(1)", id="javascript"),
        ],
    )
    def test_malformed_origin_is_refused_never_a_500(
        self, member: SessionaryTestClient, origin: str
    ) -> None:
        assert_refused(logout(member, origin=origin))

    def test_one_foreign_origin_among_several_headers_is_refused(
        self, member: SessionaryTestClient
    ) -> None:
        headers = [("origin", SELF), ("origin", FOREIGN)]
        assert_refused(member.post("/auth/logout", headers=headers))


class TestRefererDecidesWithoutOrigin:
    def test_same_origin_referer_passes(self, member: SessionaryTestClient) -> None:
        assert logout(member, referer=f"{SELF}/account?tab=1#x").status_code == 204

    def test_foreign_referer_is_refused(self, member: SessionaryTestClient) -> None:
        assert_refused(logout(member, referer=f"{FOREIGN}/{SELF}"))
        assert still_logged_in(member)

    def test_referer_wins_over_sec_fetch_site(self, member: SessionaryTestClient) -> None:
        assert_refused(logout(member, referer=f"{FOREIGN}/", sec_fetch_site="same-origin"))

    @pytest.mark.parametrize(
        "referer", ["", "not a url", "https://testserver:99999/", "/relative/path", "null"]
    )
    def test_malformed_referer_is_refused(self, member: SessionaryTestClient, referer: str) -> None:
        assert_refused(logout(member, referer=referer))


class TestSecFetchSiteDecidesWithNeither:
    @pytest.mark.parametrize("site", ["cross-site", "same-site", "Cross-Site"])
    def test_cross_and_same_site_are_refused(self, member: SessionaryTestClient, site: str) -> None:
        assert_refused(logout(member, sec_fetch_site=site))

    @pytest.mark.parametrize("site", ["same-origin", "none"])
    def test_same_origin_and_user_initiated_pass(
        self, member: SessionaryTestClient, site: str
    ) -> None:
        assert logout(member, sec_fetch_site=site).status_code == 204


class TestNonBrowserClients:
    def test_no_origin_referer_or_fetch_metadata_passes(self, member: SessionaryTestClient) -> None:
        assert logout(member).status_code == 204

    def test_login_without_any_browser_header_passes(
        self, client: SessionaryTestClient, alice: dict[str, str]
    ) -> None:
        del client.headers["origin"]
        assert client.post("/auth/login", json=alice).status_code == 200


class TestWhichRequestsAreChecked:
    @pytest.mark.parametrize("method", UNSAFE_METHODS)
    def test_every_unsafe_method_carrying_the_cookie(
        self, member_client: SessionaryTestClient, method: str
    ) -> None:
        assert_refused(member_client.cross_site().request(method, NOWHERE))
        assert member_client.request(method, NOWHERE).status_code == 404

    @pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
    def test_safe_methods_are_never_blocked(
        self, member_client: SessionaryTestClient, method: str
    ) -> None:
        response = member_client.cross_site().request(
            method, "/users/me", headers={"sec-fetch-site": "cross-site"}
        )
        assert response.status_code != 403

    def test_cross_site_get_of_my_data_answers(self, member_client: SessionaryTestClient) -> None:
        assert member_client.cross_site().get("/users/me").status_code == 200

    @pytest.mark.parametrize("method", UNSAFE_METHODS)
    def test_without_the_session_cookie_other_routes_pass(
        self, client: SessionaryTestClient, method: str
    ) -> None:
        client.cookies.set("theme", "dark")
        assert client.cross_site().request(method, NOWHERE).status_code == 404

    def test_cookie_less_logout_from_another_site_passes(
        self, client: SessionaryTestClient
    ) -> None:
        assert client.cross_site().post("/auth/logout").status_code == 204

    def test_cookie_sent_by_hand_with_a_space_after_the_equals_sign(
        self, client: SessionaryTestClient
    ) -> None:
        response = client.cross_site().post(
            NOWHERE, headers={"cookie": "theme=dark; session_cookie= abc"}
        )
        assert_refused(response)

    def test_a_cookie_whose_name_merely_contains_the_session_cookie_name(
        self, client: SessionaryTestClient
    ) -> None:
        response = client.cross_site().post(NOWHERE, headers={"cookie": "old_session_cookie=abc"})
        assert response.status_code == 404

    def test_renamed_session_cookie_is_read_per_request(
        self, login_as: LoginAs, settings: SettingsOverride
    ) -> None:
        settings.session_cookie_name = "sid"
        browser = login_as("member")
        assert "sid" in browser.cookies

        assert_refused(browser.cross_site().post("/auth/logout"))
        assert browser.post("/auth/logout").status_code == 204


class TestLoginCsrf:
    @pytest.mark.parametrize("path", LOGIN_PATHS)
    def test_cross_site_login_is_refused_even_with_the_right_password(
        self, client: SessionaryTestClient, alice: dict[str, str], db: SyncDB, path: str
    ) -> None:
        response = client.cross_site().post(path, json=alice)

        assert_refused(response)
        assert "set-cookie" not in response.headers
        assert db.count(LoginSession) == 0

    @pytest.mark.parametrize("path", LOGIN_PATHS)
    def test_same_origin_login_succeeds(
        self, client: SessionaryTestClient, alice: dict[str, str], db: SyncDB, path: str
    ) -> None:
        assert client.post(path, json=alice).status_code == 200
        assert db.count(LoginSession) == 1

    @pytest.mark.parametrize("path", LOGIN_PATHS)
    def test_login_from_a_foreign_referer_is_refused(
        self, client: SessionaryTestClient, alice: dict[str, str], path: str
    ) -> None:
        del client.headers["origin"]
        assert_refused(client.post(path, json=alice, headers={"referer": f"{FOREIGN}/"}))

    @pytest.mark.parametrize("path", LOGIN_PATHS)
    def test_login_with_only_sec_fetch_site_cross_site_is_refused(
        self, client: SessionaryTestClient, alice: dict[str, str], path: str
    ) -> None:
        del client.headers["origin"]
        assert_refused(client.post(path, json=alice, headers={"sec-fetch-site": "cross-site"}))

    def test_login_path_variants_are_checked_too(self, client: SessionaryTestClient) -> None:
        # Without the slash /login/ answers with a redirect; it must not be a way around.
        for path in ["/login", "/auth/login/"]:
            assert_refused(client.cross_site().post(path, json={}))

    def test_cross_site_registration_is_refused_whether_or_not_it_is_on(
        self, client: SessionaryTestClient, settings: SettingsOverride
    ) -> None:
        body = {"username": "mallory", "email": "m@example.com", "password": "a long passphrase"}
        assert_refused(client.cross_site().post("/auth/register", json=body))
        assert client.post("/auth/register", json=body).status_code != 403

        settings.allow_registration = True
        assert_refused(client.cross_site().post("/auth/register", json=body))


class TestConfiguredOriginsAreTrusted:
    def test_trusted_origins(
        self, member_client: SessionaryTestClient, settings: SettingsOverride
    ) -> None:
        settings.trusted_origins = ["https://app.example"]

        assert member_client.cross_site("https://other.example").post(NOWHERE).status_code == 403
        assert member_client.cross_site("https://app.example").post(NOWHERE).status_code == 404

    def test_cors_origins(
        self, member_client: SessionaryTestClient, settings: SettingsOverride
    ) -> None:
        settings.cors_origins = ["https://front.example"]

        assert member_client.cross_site("https://front.example").post(NOWHERE).status_code == 404
        assert_refused(member_client.cross_site().post(NOWHERE))

    def test_configured_spelling_is_normalised(
        self, member_client: SessionaryTestClient, settings: SettingsOverride
    ) -> None:
        settings.trusted_origins = ["HTTPS://App.Example:443/", "http://local.example:80"]

        assert member_client.cross_site("https://app.example").post(NOWHERE).status_code == 404
        assert member_client.cross_site("http://local.example").post(NOWHERE).status_code == 404

    def test_referer_from_a_trusted_origin(
        self, member: SessionaryTestClient, settings: SettingsOverride
    ) -> None:
        settings.trusted_origins = ["https://app.example"]
        assert logout(member, referer="https://app.example/settings").status_code == 204

    def test_cross_site_login_from_a_trusted_front_end(
        self, client: SessionaryTestClient, alice: dict[str, str], settings: SettingsOverride
    ) -> None:
        settings.cors_origins = ["https://front.example"]
        assert (
            client.cross_site("https://front.example").post("/login/", json=alice).status_code
            == 200
        )


class TestAuthorizationHeaderIsExempt:
    def test_cookie_and_bearer_from_another_site(self, member_client: SessionaryTestClient) -> None:
        response = member_client.cross_site().post(
            NOWHERE, headers={"authorization": "Bearer some-key"}
        )
        assert response.status_code == 404

    def test_login_with_an_authorization_header(
        self, client: SessionaryTestClient, alice: dict[str, str]
    ) -> None:
        response = client.cross_site().post(
            "/auth/login", json=alice, headers={"authorization": "Bearer some-key"}
        )
        assert response.status_code != 403


class TestOwnOriginFollowsTheRequest:
    def test_host_header_and_port(self, sessionary_app: FastAPI, alice: dict[str, str]) -> None:
        other_host = TestClient(sessionary_app, base_url="https://api.example:8443")

        ok = other_host.post(
            "/auth/login", json=alice, headers={"origin": "https://api.example:8443"}
        )
        refused = other_host.post("/auth/login", json=alice, headers={"origin": SELF})

        assert ok.status_code == 200
        assert_refused(refused)

    def test_scheme_from_a_trusted_proxy(
        self, sessionary_app: FastAPI, alice: dict[str, str], settings: SettingsOverride
    ) -> None:
        # TLS ends at the proxy: the app sees http, the browser's Origin says https.
        behind_proxy = TestClient(
            sessionary_app, base_url="http://testserver", client=("10.0.0.1", 1)
        )
        headers = {"origin": SELF, "x-forwarded-proto": "https"}

        assert_refused(behind_proxy.post("/auth/login", json=alice, headers=headers))

        settings.trusted_proxies = ["10.0.0.0/8"]
        assert behind_proxy.post("/auth/login", json=alice, headers=headers).status_code == 200
        assert_refused(
            behind_proxy.post(
                "/auth/login",
                json=alice,
                headers={"origin": "http://testserver", "x-forwarded-proto": "https"},
            )
        )

    def test_forwarded_proto_from_an_untrusted_peer_is_ignored(
        self, sessionary_app: FastAPI, alice: dict[str, str]
    ) -> None:
        direct = TestClient(sessionary_app, base_url="https://testserver", client=("10.0.0.1", 1))
        headers = {"origin": "http://testserver", "x-forwarded-proto": "http"}

        assert_refused(direct.post("/auth/login", json=alice, headers=headers))
