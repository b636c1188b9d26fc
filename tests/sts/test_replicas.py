"""Stateless credentials: a second gateway on the same store and master key accepts
what the first issued, and honours a revocation made through the first's store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gateway_server import GatewayServer, running_gateway
from tests.sts.conftest import error_code, id_token, oidc_env, s3_with, web_identity


@pytest.fixture(scope="module")
def replica(gateway, seaweedfs, oidc_provider) -> Iterator[GatewayServer]:
    env = oidc_env(0, "keycloak", oidc_provider.issuer)
    with running_gateway(Path(gateway.settings.server.data_dir), seaweedfs, env) as server:
        yield server


def test_a_replica_accepts_and_revokes(gateway, replica, oidc_provider, root_s3) -> None:
    credentials = web_identity(gateway, id_token(oidc_provider, "bob"))["Credentials"]
    s3 = s3_with(replica, credentials)
    assert s3.get_object(Bucket="sts", Key="hello")["Body"].read() == b"hello"
    gateway.repo.revoke("session", credentials["AccessKeyId"])
    assert error_code(s3.get_object, Bucket="sts", Key="hello") == "InvalidToken"
