"""The toolkit's HTTP clients: same-origin by default, ``cross_site()`` for CSRF tests."""

from __future__ import annotations

from typing import Any

import httpx2
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sessionary.testing.queries import labelled

BASE_URL = "https://testserver"  # https, so Secure cookies flow back
FOREIGN_ORIGIN = "https://attacker.example"


class SessionaryTestClient(TestClient):
    """A ``TestClient`` on ``https://testserver`` sending ``Origin: https://testserver``,
    as a browser on the site would."""

    __test__ = False
    user: Any = None  # the User row, for clients made by login_as

    def __init__(self, app: FastAPI, *, origin: str = BASE_URL) -> None:
        self.sessionary_app = app
        super().__init__(labelled(app), base_url=BASE_URL, headers={"origin": origin})

    def cross_site(self, origin: str = FOREIGN_ORIGIN) -> SessionaryTestClient:
        """A client with the same cookies whose requests come from another site."""
        other = SessionaryTestClient(self.sessionary_app, origin=origin)
        other.cookies = self.cookies
        other.user = self.user
        return other


class SessionaryAsyncClient(httpx2.AsyncClient):
    """The async twin of :class:`SessionaryTestClient` (no lifespan: the fixture runs it)."""

    user: Any = None

    def __init__(self, app: FastAPI, *, origin: str = BASE_URL) -> None:
        self.sessionary_app = app
        super().__init__(
            transport=httpx2.ASGITransport(app=labelled(app)),
            base_url=BASE_URL,
            headers={"origin": origin},
        )

    def cross_site(self, origin: str = FOREIGN_ORIGIN) -> SessionaryAsyncClient:
        """A client with the same cookies whose requests come from another site."""
        other = SessionaryAsyncClient(self.sessionary_app, origin=origin)
        other.cookies = self.cookies
        other.user = self.user
        return other
