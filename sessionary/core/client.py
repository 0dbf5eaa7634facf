"""Who is on the other end of a request: the client's address and the scheme it used.

The socket peer is the client, unless the peer is inside ``SESSIONARY_TRUSTED_PROXIES``. Then
``X-Forwarded-For`` is read from the right, where each trusted proxy appended the address it
saw, and the first address that is not itself a trusted proxy is the client (when every entry
is a trusted proxy, the left-most one). Entries left of the client were written by the client,
so nothing it sends can move the answer.

An entry that is not an IP address (``unknown``, ``unix:``, garbage) ends the walk: whatever lies
to its left was reported by a hop we cannot identify, so the last trusted address read stands.

``X-Forwarded-Proto`` is read the same way: when it has as many entries as
``X-Forwarded-For``, the entry aligned with the chosen address (its position from the right) is
the scheme that client used; otherwise the right-most entry, the one our own peer set, decides.
Only ``http`` and ``https`` count; anything else leaves the socket's scheme.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from starlette.types import Scope

from sessionary.config import Settings

IPAddress = IPv4Address | IPv6Address
Networks = tuple[IPv4Network | IPv6Network, ...]

FORWARDED_SCHEMES = frozenset({"http", "https"})
UNKNOWN_BUCKET = "unknown"


@dataclass(frozen=True, slots=True)
class ClientAddress:
    """The client's IP (None when the peer is not an IP address) and the scheme it used."""

    ip: str | None
    scheme: str


def parse_ip(text: str) -> IPAddress | None:
    """``text`` as an address in one canonical form, or None.

    IPv4-mapped IPv6 (a dual-stack socket's view of an IPv4 client) becomes the IPv4 address,
    and an IPv6 zone (``%eth0``, which only names our own interface) is dropped.
    """
    try:
        address = ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        return IPv6Address(int(address))
    return address


def _forwarded_ip(entry: str) -> IPAddress | None:
    """One ``X-Forwarded-For`` entry: ``1.2.3.4``, ``1.2.3.4:5678``, ``2001:db8::1`` or
    ``[2001:db8::1]:443``."""
    if entry.startswith("["):
        host, bracket, port = entry[1:].partition("]")
        if not bracket or (port and not (port.startswith(":") and port[1:].isdigit())):
            return None
        return parse_ip(host)
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return parse_ip(host) if port.isdigit() else None
    return parse_ip(entry)


def _header_entries(scope: Scope, name: bytes) -> list[str]:
    """The comma-separated entries of every ``name`` header, in order, blanks dropped."""
    entries: list[str] = []
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            entries.extend(part.strip() for part in value.decode("latin-1").split(","))
    return [entry for entry in entries if entry]


def _peer(scope: Scope) -> IPAddress | None:
    client = scope.get("client")
    # A UNIX socket has no peer; the TestClient's is ("testclient", 50000).
    if not client:
        return None
    return parse_ip(str(client[0]))


def _is_trusted(address: IPAddress, networks: Networks) -> bool:
    return any(address in network for network in networks)


def _forwarded_scheme(scope: Scope, default: str, position: int, hops: int) -> str:
    protos = _header_entries(scope, b"x-forwarded-proto")
    if not protos:
        return default
    aligned = position >= 0 and len(protos) == hops
    scheme = protos[-1 - position if aligned else -1].lower()
    return scheme if scheme in FORWARDED_SCHEMES else default


def resolve_client(scope: Scope, settings: Settings) -> ClientAddress:
    """The client's address and scheme for an HTTP scope; never raises."""
    scheme = str(scope.get("scheme") or "http")
    peer = _peer(scope)
    networks: Networks = settings.trusted_proxy_networks
    if peer is None or not _is_trusted(peer, networks):
        # Forwarding headers from anyone but a trusted proxy are the client's own words.
        return ClientAddress(ip=None if peer is None else str(peer), scheme=scheme)

    forwarded = _header_entries(scope, b"x-forwarded-for")
    client, position = peer, -1  # position from the right; -1 is the peer itself
    for index, entry in enumerate(reversed(forwarded)):
        address = _forwarded_ip(entry)
        if address is None:
            break
        client, position = address, index
        if not _is_trusted(address, networks):
            break
    return ClientAddress(
        ip=str(client), scheme=_forwarded_scheme(scope, scheme, position, len(forwarded))
    )


def client_bucket(ip: str | None) -> str:
    """The key brute-force throttling counts by: an IPv4 address as is, IPv6 per /64 (one
    customer's allocation, which it can cycle through freely), ``"unknown"`` without one."""
    address = None if ip is None else parse_ip(ip)
    if address is None:
        return UNKNOWN_BUCKET
    if isinstance(address, IPv4Address):
        return str(address)
    return str(IPv6Network((int(address) >> 64 << 64, 64)))
