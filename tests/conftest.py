"""Shared fixtures. The real servers the tests talk to (test peers) come from tests/peers/."""

pytest_plugins = ["tests.peers.fixtures"]
