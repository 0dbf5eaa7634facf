"""Small HTTP facts about a request."""

from __future__ import annotations

from ipaddress import ip_address

from starlette.requests import HTTPConnection


def client_ip(connection: HTTPConnection) -> str | None:
    """The socket peer's address, or None when the peer is not an IP (a test client, a UNIX
    socket). Proxy headers are not trusted here."""
    if connection.client is None:
        return None
    try:
        return str(ip_address(connection.client.host))
    except ValueError:
        return None
