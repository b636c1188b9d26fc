"""Where a request comes from, for S3 decisions, the audit record, the LDAP throttle and
the console's origin checks alike: a trusted proxy's forwarded client and scheme, or the
connection's own."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from starlette.requests import Request

from iamgw.config import ServerSettings
from iamgw.identity import client_address, origin, transport_context


def request(peer: str, headers: dict[str, str], trusted: list[str]) -> Request:
    settings = SimpleNamespace(server=ServerSettings(trusted_proxies=trusted))
    app = SimpleNamespace(state=SimpleNamespace(gateway=SimpleNamespace(settings=settings)))
    scope = {
        "type": "http",
        "method": "POST",
        "scheme": "http",
        "path": "/",
        "headers": [(k.encode(), v.encode()) for k, v in {"host": "s3.example", **headers}.items()],
        "client": (peer, 40000),
        "app": app,
    }
    return Request(scope)


BEHIND = {"x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https"}


@pytest.mark.parametrize(
    ("peer", "trusted", "client", "site"),
    [
        ("10.0.0.5", ["10.0.0.0/8"], "203.0.113.9", "https://s3.example"),  # the proxy's word
        ("198.51.100.7", ["10.0.0.0/8"], "198.51.100.7", "http://s3.example"),  # a forger's
        ("10.0.0.5", [], "10.0.0.5", "http://s3.example"),  # no proxy trusted
    ],
)
def test_forwarded_only_from_trusted_proxies(peer, trusted, client, site):
    asked = request(peer, BEHIND, trusted)
    assert client_address(asked) == client
    assert origin(asked) == site
    assert transport_context(asked)["aws:SecureTransport"] is site.startswith("https")
