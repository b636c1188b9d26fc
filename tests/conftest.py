"""Shared fixtures. The real servers the tests talk to (test peers) come from tests/peers/;
the PostgreSQL database and schemas from tests/postgres.py."""

pytest_plugins = ["tests.peers.fixtures", "tests.postgres"]
