"""Input limits (docs/security.md "Client input never becomes a 5xx"): a header over 8 KiB is 431, a
body over 1 MiB is 413 — judged from Content-Length up front, and for streamed bodies before the
endpoint runs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import httpx2
import pytest
from fastapi import FastAPI
from starlette.types import Message, Scope

from sessionary.sessions.models import LoginSession
from sessionary.testing import (
    DEFAULT_PASSWORD,
    SessionaryAsyncClient,
    SessionaryTestClient,
    SettingsOverride,
    SyncDB,
    UserFactory,
)

KIB = 1024
MIB = 1024 * KIB
HEADER_TOO_LARGE = {"detail": "Request header too large"}
BODY_TOO_LARGE = {"detail": "Request body too large"}
JSON = {"content-type": "application/json"}


def assert_431(response: httpx2.Response) -> None:
    assert response.status_code == 431, response.text
    assert response.json() == HEADER_TOO_LARGE
    assert response.headers["x-content-type-options"] == "nosniff"


def assert_413(response: httpx2.Response) -> None:
    assert response.status_code == 413, response.text
    assert response.json() == BODY_TOO_LARGE
    assert response.headers["x-content-type-options"] == "nosniff"


def login_body(size: int) -> bytes:
    """Alice's credentials as JSON, padded with trailing whitespace to exactly ``size`` bytes."""
    body = json.dumps({"username": "alice", "password": DEFAULT_PASSWORD}).encode()
    return body + b" " * (size - len(body))


def chunks_of(body: bytes, size: int = 64 * KIB) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.fixture
def alice(user_factory: UserFactory) -> None:
    user_factory(username="alice")


class TestHeaderOverTheLimitIs431:
    def test_any_header(self, client: SessionaryTestClient) -> None:
        assert_431(client.get("/health/live", headers={"x-note": "a" * 9 * KIB}))

    def test_a_cookie(self, client: SessionaryTestClient) -> None:
        assert_431(client.get("/users/me", headers={"cookie": "big=" + "a" * 9 * KIB}))

    def test_on_an_unknown_route_too(self, client: SessionaryTestClient) -> None:
        assert_431(client.get("/no/such/route", headers={"x-note": "a" * 9 * KIB}))

    def test_name_and_value_together_at_the_limit_pass(self, client: SessionaryTestClient) -> None:
        name = "x-note"
        at_limit = client.get("/health/live", headers={name: "a" * (8 * KIB - len(name))})
        one_over = client.get("/health/live", headers={name: "a" * (8 * KIB - len(name) + 1)})

        assert at_limit.status_code == 200
        assert_431(one_over)

    def test_limit_is_read_per_request(
        self, client: SessionaryTestClient, settings: SettingsOverride
    ) -> None:
        settings.max_header_bytes = 16 * KIB
        assert client.get("/health/live", headers={"x-note": "a" * 9 * KIB}).status_code == 200


class TestBodyOverTheLimitByContentLength:
    def test_is_413(self, client: SessionaryTestClient) -> None:
        response = client.post("/auth/login", content=b" " * (MIB + 1), headers=JSON)

        assert_413(response)
        assert response.headers["connection"] == "close"

    def test_on_a_route_that_never_reads_its_body(
        self, member_client: SessionaryTestClient
    ) -> None:
        assert_413(member_client.post("/auth/logout", content=b"x" * (MIB + 1)))
        assert member_client.get("/users/me").status_code == 200

    @pytest.mark.usefixtures("alice")
    def test_exactly_the_limit_is_not_refused(
        self, client: SessionaryTestClient, db: SyncDB
    ) -> None:
        response = client.post("/auth/login", content=login_body(MIB), headers=JSON)

        assert response.status_code == 200, response.text
        assert db.count(LoginSession) == 1

    @pytest.mark.usefixtures("alice")
    def test_limit_is_read_per_request(
        self, client: SessionaryTestClient, settings: SettingsOverride
    ) -> None:
        settings.max_body_bytes = 2 * KIB

        assert_413(client.post("/auth/login", content=login_body(2 * KIB + 1), headers=JSON))
        assert (
            client.post("/auth/login", content=login_body(2 * KIB), headers=JSON).status_code == 200
        )


class TestStreamedBodyOverTheLimit:
    def test_chunked_body_is_413(self, client: SessionaryTestClient) -> None:
        response = client.post("/auth/login", content=chunks_of(b" " * (MIB + 1)), headers=JSON)

        assert "content-length" not in response.request.headers
        assert_413(response)

    @pytest.mark.usefixtures("alice")
    def test_endpoint_never_runs(self, client: SessionaryTestClient, db: SyncDB) -> None:
        # Valid credentials followed by padding: a truncated read would log alice in.
        response = client.post("/auth/login", content=chunks_of(login_body(MIB + 1)), headers=JSON)

        assert_413(response)
        assert "set-cookie" not in response.headers
        assert db.count(LoginSession) == 0

    @pytest.mark.usefixtures("alice")
    def test_exactly_the_limit_is_handed_over_whole(
        self, client: SessionaryTestClient, db: SyncDB
    ) -> None:
        response = client.post("/auth/login", content=chunks_of(login_body(MIB)), headers=JSON)

        assert response.status_code == 200, response.text
        assert db.count(LoginSession) == 1

    @pytest.mark.anyio
    async def test_the_rest_is_never_read(self, async_client: SessionaryAsyncClient) -> None:
        pulled = 0

        async def body() -> AsyncIterator[bytes]:
            nonlocal pulled
            for chunk in chunks_of(b" " * (2 * MIB)):  # 32 chunks of 64 KiB
                pulled += 1
                yield chunk

        response = await async_client.post("/auth/login", content=body(), headers=JSON)

        assert_413(response)
        assert pulled == 17  # 16 chunks make exactly 1 MiB; the 17th is one too many

    @pytest.mark.anyio
    async def test_streamed_body_at_the_limit(
        self, async_client: SessionaryAsyncClient, user_factory: UserFactory
    ) -> None:
        await user_factory.acreate(username="alice")

        async def body() -> AsyncIterator[bytes]:
            for chunk in chunks_of(login_body(MIB)):
                yield chunk

        response = await async_client.post("/auth/login", content=body(), headers=JSON)

        assert response.status_code == 200, response.text


class TestLimitsComeFirst:
    def test_oversized_cross_site_request_is_413_not_403(
        self, member_client: SessionaryTestClient
    ) -> None:
        assert_413(member_client.cross_site().post("/auth/logout", content=b"x" * (MIB + 1)))

    def test_oversized_header_on_a_cross_site_request_is_431(
        self, member_client: SessionaryTestClient
    ) -> None:
        response = member_client.cross_site().post(
            "/auth/logout", headers={"x-note": "a" * 9 * KIB}
        )
        assert_431(response)


# -- what an HTTP client cannot show: driving the app through ASGI by hand ------------------


@dataclass
class Exchange:
    """One request driven through the app: its answer and how many body messages it pulled."""

    status: int = 0
    headers: dict[bytes, bytes] = field(default_factory=dict)
    body: bytes = b""
    pulled: int = 0


async def drive(app: FastAPI, headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> Exchange:
    """``POST /auth/login`` with ``chunks`` as the body messages."""
    exchange = Exchange()
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": "/auth/login",
        "raw_path": b"/auth/login",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 443),
        "state": {},
    }

    async def receive() -> Message:
        if exchange.pulled >= len(chunks):
            return {"type": "http.disconnect"}
        exchange.pulled += 1
        more = exchange.pulled < len(chunks)
        return {"type": "http.request", "body": chunks[exchange.pulled - 1], "more_body": more}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            exchange.status = message["status"]
            exchange.headers = dict(message.get("headers", []))
        elif message["type"] == "http.response.body":
            exchange.body += message.get("body", b"")

    await app(scope, receive, send)
    return exchange


class TestDeclaredLengthOverTheLimitReadsNothing:
    @pytest.mark.anyio
    async def test_no_body_message_is_pulled(self, sessionary_app: FastAPI) -> None:
        headers = [(b"content-length", str(MIB + 1).encode())]

        exchange = await drive(sessionary_app, headers, [b" " * (MIB + 1)])

        assert exchange.status == 413
        assert json.loads(exchange.body) == BODY_TOO_LARGE
        assert exchange.pulled == 0


class TestBodyOutgrowingItsContentLength:
    @pytest.mark.anyio
    async def test_the_apps_read_fails_with_413(self, sessionary_app: FastAPI) -> None:
        # Servers enforce Content-Length; the middleware does not rely on it.
        chunks = list(chunks_of(b" " * (2 * MIB)))

        exchange = await drive(sessionary_app, [(b"content-length", b"16")], chunks)

        assert exchange.status == 413
        assert json.loads(exchange.body) == BODY_TOO_LARGE
        assert exchange.pulled == 17

    @pytest.mark.anyio
    async def test_unreadable_content_length_is_counted_like_a_stream(
        self, sessionary_app: FastAPI
    ) -> None:
        headers = [(b"content-length", b"12abc")]

        exchange = await drive(sessionary_app, headers, list(chunks_of(b" " * (2 * MIB))))

        assert exchange.status == 413
        assert exchange.pulled == 17


class TestClientGoneBeforeItsBodyArrived:
    @pytest.mark.anyio
    async def test_nothing_runs_and_nothing_is_sent(self, sessionary_app: FastAPI) -> None:
        # No Content-Length, and the first message is already the disconnect.
        exchange = await drive(sessionary_app, [], [])

        assert exchange.status == 0
        assert exchange.pulled == 0
