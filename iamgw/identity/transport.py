"""Where a request comes from, as policies see it (`aws:SourceIp`, `aws:SecureTransport`):
the connection, or a trusted proxy's `X-Forwarded-For` / `-Proto`.

Shared by S3 decisions, the audit record and the LDAP login throttle, so that behind a
load balancer all three see the client, not the balancer.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request

from iamgw.config import IPNetwork
from iamgw.gateway import gateway_of

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def transport_context(request: Request) -> dict[str, Any]:
    """`aws:SourceIp` (None when unknown) and `aws:SecureTransport` of a request."""
    peer = request.client.host if request.client else None
    secure = request.scope.get("scheme") == "https"
    networks = gateway_of(request).settings.server.trusted_networks
    if peer is None or not networks or not _within(_address(peer), networks):
        return {"aws:SourceIp": peer, "aws:SecureTransport": secure}
    forwarded_for = request.headers.getlist("x-forwarded-for")
    source: str | None = peer
    if forwarded_for:
        source = forwarded_client(",".join(forwarded_for).split(","), networks)
    proto = request.headers.getlist("x-forwarded-proto")
    if proto:
        hops = [p.strip().lower() for p in ",".join(proto).split(",")]
        secure = all(hop == "https" for hop in hops)
    return {"aws:SourceIp": source, "aws:SecureTransport": secure}


def client_address(request: Request) -> str | None:
    """The client's address: the peer's, or behind a trusted proxy the one it forwards."""
    source: str | None = transport_context(request)["aws:SourceIp"]
    return source


def origin(request: Request) -> str:
    """`scheme://host` as the browser sees this site (behind a trusted TLS-terminating
    proxy, https although the connection to the gateway is not)."""
    secure = transport_context(request)["aws:SecureTransport"]
    return f"{'https' if secure else 'http'}://{request.headers.get('host', '')}"


def forwarded_client(entries: Sequence[str], trusted: Sequence[IPNetwork]) -> str | None:
    """The client's address in an X-Forwarded-For list sent by a trusted proxy: the
    right-most entry outside `trusted` (the left-most when all are trusted); None when an
    entry on the way is not an address, as nothing to its left can be believed."""
    address: IPAddress | None = None
    for entry in reversed(entries):
        address = _address(entry)
        if address is None:
            return None
        if not _within(address, trusted):
            return str(address)
    return str(address) if address is not None else None


def _address(text: str) -> IPAddress | None:
    """An address as proxies write it: plain, `[v6]`, with a `:port`, or v4 mapped in v6."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _within(address: IPAddress | None, networks: Sequence[IPNetwork]) -> bool:
    return address is not None and any(address in network for network in networks)
