"""The toolkit's HTTP clients: same-origin by default, ``cross_site()`` for CSRF tests."""

from __future__ import annotations

from collections.abc import Mapping
from http.cookies import SimpleCookie
from typing import Any
from weakref import WeakKeyDictionary

import httpx2
from anyio.from_thread import BlockingPortal
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sessionary.runtime import runtime_of
from sessionary.testing import sentinel
from sessionary.testing.queries import request_label

BASE_URL = "https://testserver"  # https, so Secure cookies flow back
FOREIGN_ORIGIN = "https://attacker.example"


# What the app's lifespan yielded when the toolkit ran it. A server hands every request a copy;
# a TestClient only to its own requests, so the toolkit's clients add it themselves.
_LIFESPAN_STATE: WeakKeyDictionary[FastAPI, dict[str, Any]] = WeakKeyDictionary()


def share_lifespan_state(app: FastAPI, state: Mapping[str, Any] | None) -> None:
    """Let every toolkit client's requests see ``state`` (None: forget it)."""
    if state is None:
        _LIFESPAN_STATE.pop(app, None)
    else:
        _LIFESPAN_STATE[app] = dict(state)


def instrumented(app: FastAPI) -> ASGIApp:
    """``app`` as the toolkit's clients see it: each request's SQL is labelled for
    ``assert_num_queries``, its traffic is shown to the secret-leak sentinel, and it sees
    the state the app's lifespan yielded."""

    async def call(scope: Scope, receive: Receive, send: Send) -> None:
        if (shared := _LIFESPAN_STATE.get(app)) and scope["type"] in {"http", "websocket"}:
            scope["state"] = {**shared, **scope.get("state", {})}
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        with request_label(scope):
            watcher = sentinel.active()
            if watcher is None:
                await app(scope, receive, send)
            else:
                await _watched(app, watcher, scope, receive, send)

    return call


async def _watched(
    app: FastAPI, watcher: sentinel.SecretSentinel, scope: Scope, receive: Receive, send: Send
) -> None:
    request_body, response_body = bytearray(), bytearray()
    issuer = object()  # this response may show the secrets it hands out, no others
    cookie_name = runtime_of(app).settings.session_cookie_name

    async def receive_and_learn() -> Message:
        message = await receive()
        if message["type"] == "http.request":
            request_body.extend(message.get("body", b""))
            if not message.get("more_body"):
                watcher.learn_from_request(bytes(request_body))
        return message

    async def send_and_watch(message: Message) -> None:
        if message["type"] == "http.response.start":
            for name, value in message.get("headers", []):
                if name.lower() == b"set-cookie":
                    morsel = SimpleCookie(value.decode("latin-1")).get(cookie_name)
                    if morsel is not None:
                        watcher.add(morsel.value, "session token", issuer=issuer)
        elif message["type"] == "http.response.body":
            response_body.extend(message.get("body", b""))
            if not message.get("more_body"):
                body = bytes(response_body)
                watcher.learn_from_response(body, issuer)
                where = f"the response to {scope['method']} {scope['path']}"
                watcher.scan(body.decode("utf-8", "replace"), where, issuer=issuer)
        await send(message)

    await app(scope, receive_and_learn, send_and_watch)


class SessionaryTestClient(TestClient):
    """A ``TestClient`` on ``https://testserver`` sending ``Origin: https://testserver``,
    as a browser on the site would."""

    __test__ = False
    user: Any = None  # the User row, for clients made by login_as

    def __init__(
        self, app: FastAPI, *, portal: BlockingPortal | None = None, origin: str = BASE_URL
    ) -> None:
        self.sessionary_app = app
        super().__init__(instrumented(app), base_url=BASE_URL, headers={"origin": origin})
        # Requests run on the worker's loop, where the toolkit already ran the lifespan.
        self.portal = portal

    def cross_site(self, origin: str = FOREIGN_ORIGIN) -> SessionaryTestClient:
        """A client with the same cookies whose requests come from another site."""
        other = SessionaryTestClient(self.sessionary_app, portal=self.portal, origin=origin)
        other.cookies = self.cookies
        other.user = self.user
        return other


class SessionaryAsyncClient(httpx2.AsyncClient):
    """The async twin of :class:`SessionaryTestClient` (no lifespan: the fixture runs it)."""

    user: Any = None

    def __init__(self, app: FastAPI, *, origin: str = BASE_URL) -> None:
        self.sessionary_app = app
        super().__init__(
            transport=httpx2.ASGITransport(app=instrumented(app)),
            base_url=BASE_URL,
            headers={"origin": origin},
        )

    def cross_site(self, origin: str = FOREIGN_ORIGIN) -> SessionaryAsyncClient:
        """A client with the same cookies whose requests come from another site."""
        other = SessionaryAsyncClient(self.sessionary_app, origin=origin)
        other.cookies = self.cookies
        other.user = self.user
        return other
