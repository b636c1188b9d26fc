"""pytest plugin: session fixtures for the test peers (`pytest_plugins = ["tests.peers.fixtures"]`).

A peer that cannot start fails the tests that use it with the reason and the install command.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from . import (
    OidcProvider,
    PeerError,
    SeaweedNode,
    Slapd,
    start_oidc_provider,
    start_seaweedfs,
    start_slapd,
)

T = TypeVar("T")

# Seconds each peer took to become ready in this session (shown with -v by the summary hook).
STARTUP_SECONDS: dict[str, float] = {}


def _start(name: str, start: Callable[[], T]) -> T:
    began = time.monotonic()
    try:
        peer = start()
    except PeerError as exc:
        pytest.fail(f"test peer {name}: {exc}", pytrace=False)
    STARTUP_SECONDS[name] = time.monotonic() - began
    return peer


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedNode]:
    """A SeaweedFS node: `.endpoint`, `.access_key`, `.secret_key` (SigV4 enforced)."""
    node = _start("seaweedfs", lambda: start_seaweedfs(tmp_path_factory.mktemp("seaweedfs")))
    yield node
    node.stop()


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    """The OpenID provider of keycloak-realm/realm.json: `.issuer`, `.token_for(...)`."""
    provider = _start("oidc_provider", lambda: start_oidc_provider(tmp_path_factory.mktemp("oidc")))
    yield provider
    provider.stop()


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    """The seeded OpenLDAP directory: `.url`, `.bind_dn`, `.bind_password`, `.users`."""
    server = _start("slapd", lambda: start_slapd(tmp_path_factory.mktemp("slapd")))
    yield server
    server.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if STARTUP_SECONDS and terminalreporter.config.getoption("verbose") > 0:
        started = ", ".join(f"{name} {secs:.2f}s" for name, secs in STARTUP_SECONDS.items())
        terminalreporter.write_line(f"test peers started: {started}")
