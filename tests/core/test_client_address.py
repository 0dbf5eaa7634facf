"""The client's address and scheme (docs/security.md "Brute force"): the socket peer unless it is a
trusted proxy, then the right-most untrusted ``X-Forwarded-For`` entry; IPv6 counted per /64."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.requests import Request
from starlette.types import Scope

from sessionary.config import Settings
from sessionary.core.client import ClientAddress, client_bucket, resolve_client
from sessionary.core.http import client_ip, client_scheme
from sessionary.sessions.models import LoginSession
from sessionary.testing import DEFAULT_PASSWORD, SettingsOverride, SyncDB, UserFactory

PROXY = "10.0.0.1"
PROXIES = ["10.0.0.0/8", "2001:db8:ffff::/48"]


def http_scope(
    peer: Any = ("203.0.113.7", 50000), *, scheme: str = "http", **headers: str
) -> Scope:
    """A bare HTTP scope; ``x_forwarded_for="…"`` becomes the header ``x-forwarded-for``."""
    return {
        "type": "http",
        "scheme": scheme,
        "client": peer,
        "headers": [
            (name.replace("_", "-").encode("latin-1"), value.encode("latin-1"))
            for name, value in headers.items()
        ],
    }


def resolve(scope: Scope, proxies: list[str] | None = None) -> ClientAddress:
    return resolve_client(scope, Settings(trusted_proxies=proxies or [], _env_file=None))


# -- the rules, on hand-built scopes ---------------------------------------------------------


@pytest.mark.no_db
class TestWithoutTrustedProxiesThePeerIsTheClient:
    def test_peer_address_and_scheme(self) -> None:
        assert resolve(http_scope(scheme="https")) == ClientAddress("203.0.113.7", "https")

    def test_spoofed_forwarding_headers_change_nothing(self) -> None:
        scope = http_scope(x_forwarded_for="198.51.100.1", x_forwarded_proto="https")
        assert resolve(scope) == ClientAddress("203.0.113.7", "http")

    def test_headers_from_a_peer_outside_the_trusted_networks_change_nothing(self) -> None:
        scope = http_scope(x_forwarded_for="198.51.100.1", x_forwarded_proto="https")
        assert resolve(scope, PROXIES) == ClientAddress("203.0.113.7", "http")

    def test_ipv6_peer_in_canonical_form(self) -> None:
        scope = http_scope(("2001:DB8:0:0::1", 1))
        assert resolve(scope).ip == "2001:db8::1"

    def test_ipv4_mapped_peer_is_the_ipv4_address(self) -> None:
        assert resolve(http_scope(("::ffff:203.0.113.9", 1))).ip == "203.0.113.9"

    def test_ipv6_zone_is_dropped(self) -> None:
        assert resolve(http_scope(("fe80::1%eth0", 1))).ip == "fe80::1"


@pytest.mark.no_db
class TestPeerThatIsNotAnIpAddress:
    @pytest.mark.parametrize(
        "peer",
        [
            pytest.param(("testclient", 50000), id="test-client"),
            pytest.param(None, id="unix-socket"),
            pytest.param(("", 0), id="empty-host"),
            pytest.param(("/run/app.sock", None), id="socket-path"),
            pytest.param(["999.1.1.1", 1], id="bad-ipv4"),
        ],
    )
    def test_gives_no_address_and_never_raises(self, peer: Any) -> None:
        scope = http_scope(peer, x_forwarded_for="198.51.100.1", x_forwarded_proto="https")
        # Even with proxies trusted: a peer that is not an IP is never a trusted proxy.
        assert resolve(scope, PROXIES) == ClientAddress(None, "http")

    def test_scope_without_a_client_key(self) -> None:
        assert resolve({"type": "http", "scheme": "https", "headers": []}) == ClientAddress(
            None, "https"
        )


@pytest.mark.no_db
class TestForwardedForThroughTrustedProxies:
    def test_right_most_entry_is_the_client(self) -> None:
        scope = http_scope((PROXY, 1), x_forwarded_for="198.51.100.1")
        assert resolve(scope, PROXIES).ip == "198.51.100.1"

    def test_entries_the_client_wrote_on_the_left_are_ignored(self) -> None:
        scope = http_scope((PROXY, 1), x_forwarded_for="6.6.6.6, 7.7.7.7, 198.51.100.1")
        assert resolve(scope, PROXIES).ip == "198.51.100.1"

    def test_trusted_hops_are_skipped_from_the_right(self) -> None:
        scope = http_scope((PROXY, 1), x_forwarded_for="6.6.6.6, 198.51.100.1, 10.1.1.1, 10.2.2.2")
        assert resolve(scope, PROXIES).ip == "198.51.100.1"

    def test_all_entries_trusted_gives_the_left_most(self) -> None:
        scope = http_scope((PROXY, 1), x_forwarded_for="10.3.3.3, 10.2.2.2")
        assert resolve(scope, PROXIES).ip == "10.3.3.3"

    def test_no_header_gives_the_proxy_itself(self) -> None:
        assert resolve(http_scope((PROXY, 1)), PROXIES).ip == PROXY

    def test_several_headers_read_as_one_list_in_order(self) -> None:
        scope: Scope = {
            "type": "http",
            "scheme": "http",
            "client": (PROXY, 1),
            "headers": [
                (b"x-forwarded-for", b"6.6.6.6"),
                (b"x-forwarded-for", b"198.51.100.1, 10.9.9.9"),
            ],
        }
        assert resolve(scope, PROXIES).ip == "198.51.100.1"

    @pytest.mark.parametrize(
        ("entry", "expected"),
        [
            ("198.51.100.1:4711", "198.51.100.1"),
            ("2001:db8:1::7", "2001:db8:1::7"),
            ("[2001:db8:1::7]", "2001:db8:1::7"),
            ("[2001:db8:1::7]:443", "2001:db8:1::7"),
            ("::ffff:198.51.100.1", "198.51.100.1"),
        ],
    )
    def test_entry_forms(self, entry: str, expected: str) -> None:
        scope = http_scope((PROXY, 1), x_forwarded_for=entry)
        assert resolve(scope, PROXIES).ip == expected

    def test_ipv6_proxy_network(self) -> None:
        scope = http_scope(("2001:db8:ffff:1::1", 1), x_forwarded_for="2001:db8:2::9")
        assert resolve(scope, PROXIES).ip == "2001:db8:2::9"

    def test_ipv4_mapped_peer_inside_an_ipv4_proxy_network_is_trusted(self) -> None:
        scope = http_scope(("::ffff:10.0.0.1", 1), x_forwarded_for="198.51.100.1")
        assert resolve(scope, PROXIES).ip == "198.51.100.1"

    def test_blank_entries_are_skipped(self) -> None:
        scope = http_scope((PROXY, 1), x_forwarded_for="198.51.100.1, , 10.2.2.2,")
        assert resolve(scope, PROXIES).ip == "198.51.100.1"

    @pytest.mark.parametrize(
        "entry", ["unknown", "unix:", "1.2.3.4:port", "[2001:db8::1", "not an ip", "999.1.1.1"]
    )
    def test_malformed_right_most_entry_is_never_the_client(self, entry: str) -> None:
        # Whatever lies left of an unreadable hop cannot be believed: the proxy stands.
        scope = http_scope((PROXY, 1), x_forwarded_for=f"6.6.6.6, {entry}")
        assert resolve(scope, PROXIES).ip == PROXY

    def test_malformed_entry_behind_trusted_hops_gives_the_last_trusted_one(self) -> None:
        scope = http_scope((PROXY, 1), x_forwarded_for="6.6.6.6, garbage, 10.2.2.2")
        assert resolve(scope, PROXIES).ip == "10.2.2.2"


@pytest.mark.no_db
class TestForwardedProtoThroughTrustedProxies:
    def test_single_value_from_the_proxy(self) -> None:
        scope = http_scope((PROXY, 1), x_forwarded_for="198.51.100.1", x_forwarded_proto="https")
        assert resolve(scope, PROXIES).scheme == "https"

    def test_proto_without_forwarded_for(self) -> None:
        scope = http_scope((PROXY, 1), x_forwarded_proto="https")
        assert resolve(scope, PROXIES) == ClientAddress(PROXY, "https")

    def test_entry_aligned_with_the_chosen_address(self) -> None:
        # The client spoke https to the edge proxy, which spoke http to the inner one.
        scope = http_scope(
            (PROXY, 1), x_forwarded_for="198.51.100.1, 10.2.2.2", x_forwarded_proto="https, http"
        )
        assert resolve(scope, PROXIES) == ClientAddress("198.51.100.1", "https")

    def test_client_written_entries_do_not_shift_the_alignment(self) -> None:
        scope = http_scope(
            (PROXY, 1), x_forwarded_for="6.6.6.6, 198.51.100.1", x_forwarded_proto="http, https"
        )
        assert resolve(scope, PROXIES) == ClientAddress("198.51.100.1", "https")

    def test_counts_that_differ_use_the_right_most(self) -> None:
        scope = http_scope(
            (PROXY, 1), x_forwarded_for="198.51.100.1, 10.2.2.2", x_forwarded_proto="https"
        )
        assert resolve(scope, PROXIES).scheme == "https"
        spoofed = http_scope((PROXY, 1), x_forwarded_for="1.1.1.1", x_forwarded_proto="http, https")
        assert resolve(spoofed, PROXIES).scheme == "https"

    def test_case_is_ignored(self) -> None:
        scope = http_scope((PROXY, 1), x_forwarded_proto="HTTPS")
        assert resolve(scope, PROXIES).scheme == "https"

    @pytest.mark.parametrize("value", ["ftp", "https;evil", "", "javascript"])
    def test_other_values_leave_the_socket_scheme(self, value: str) -> None:
        scope = http_scope((PROXY, 1), x_forwarded_proto=value)
        assert resolve(scope, PROXIES).scheme == "http"


@pytest.mark.no_db
class TestClientBucket:
    @pytest.mark.parametrize(
        ("ip", "bucket"),
        [
            ("203.0.113.7", "203.0.113.7"),
            ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
            ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
            ("2001:DB8:1:2::FFFF", "2001:db8:1:2::/64"),
            ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
            ("fe80::1%eth0", "fe80::/64"),
            ("::ffff:203.0.113.7", "203.0.113.7"),
            (None, "unknown"),
            ("testclient", "unknown"),
        ],
    )
    def test_key(self, ip: str | None, bucket: str) -> None:
        assert client_bucket(ip) == bucket

    def test_one_ipv6_network_is_one_bucket(self) -> None:
        first, second = "2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff"
        assert client_bucket(first) == client_bucket(second)
        assert client_bucket("2001:db8:1:2::1") != client_bucket("2001:db8:1:3::1")


# -- the wiring, through the app -------------------------------------------------------------


def _request(app: FastAPI, peer: tuple[str, int], **headers: str) -> Request:
    return Request({**http_scope(peer, **headers), "app": app})


class TestRequestHelpersReadTheAppsSettingsPerRequest:
    def test_client_ip_and_scheme_follow_trusted_proxies(
        self, sessionary_app: FastAPI, settings: SettingsOverride
    ) -> None:
        headers = {"x_forwarded_for": "198.51.100.1", "x_forwarded_proto": "https"}
        before = _request(sessionary_app, (PROXY, 1), **headers)
        assert (client_ip(before), client_scheme(before)) == (PROXY, "http")

        settings.trusted_proxies = ["10.0.0.0/8"]
        after = _request(sessionary_app, (PROXY, 1), **headers)

        assert (client_ip(after), client_scheme(after)) == ("198.51.100.1", "https")


def _stored_ip(db: SyncDB) -> str | None:
    ip: str | None = db.scalar(select(LoginSession.ip))
    return ip


def _login(client: TestClient, forwarded_for: str | None = None) -> None:
    headers = {} if forwarded_for is None else {"X-Forwarded-For": forwarded_for}
    response = client.post(
        "/auth/login", json={"username": "alice", "password": DEFAULT_PASSWORD}, headers=headers
    )
    assert response.status_code == 200, response.text


class TestLoginStoresTheResolvedAddress:
    def test_through_a_trusted_proxy_the_forwarded_address(
        self,
        sessionary_app: FastAPI,
        settings: SettingsOverride,
        user_factory: UserFactory,
        db: SyncDB,
    ) -> None:
        settings.trusted_proxies = ["10.0.0.0/8"]
        user_factory(username="alice")
        proxied = TestClient(sessionary_app, base_url="https://testserver", client=(PROXY, 1234))

        _login(proxied, "6.6.6.6, 198.51.100.23, 10.0.0.2")

        assert _stored_ip(db) == "198.51.100.23"

    def test_through_an_untrusted_peer_the_peer_despite_the_header(
        self, sessionary_app: FastAPI, user_factory: UserFactory, db: SyncDB
    ) -> None:
        user_factory(username="alice")
        direct = TestClient(
            sessionary_app, base_url="https://testserver", client=("192.0.2.10", 1234)
        )

        _login(direct, "198.51.100.23")

        assert _stored_ip(db) == "192.0.2.10"

    def test_ipv6_peer(
        self, sessionary_app: FastAPI, user_factory: UserFactory, db: SyncDB
    ) -> None:
        user_factory(username="alice")
        direct = TestClient(
            sessionary_app, base_url="https://testserver", client=("2001:db8:5::17", 1234)
        )

        _login(direct)

        assert _stored_ip(db) == "2001:db8:5::17"

    def test_peer_that_is_not_an_ip_stores_none(
        self,
        sessionary_app: FastAPI,
        settings: SettingsOverride,
        user_factory: UserFactory,
        db: SyncDB,
    ) -> None:
        settings.trusted_proxies = ["0.0.0.0/0"]
        user_factory(username="alice")
        # The plain TestClient's peer is ("testclient", 50000).
        plain = TestClient(sessionary_app, base_url="https://testserver")

        _login(plain, "198.51.100.23")

        assert _stored_ip(db) is None
