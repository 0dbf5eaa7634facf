"""Small HTTP facts about a request."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from sessionary.core.client import resolve_client
from sessionary.core.runtime import core_runtime


def client_ip(connection: HTTPConnection) -> str | None:
    """The client's address: the socket peer, or the forwarded address when the peer is a
    trusted proxy; None when the peer is not an IP (a test client, a UNIX socket)."""
    return resolve_client(connection.scope, core_runtime(connection.app).settings).ip


def client_scheme(connection: HTTPConnection) -> str:
    """The scheme the client used (``X-Forwarded-Proto`` only from a trusted proxy)."""
    return resolve_client(connection.scope, core_runtime(connection.app).settings).scheme
