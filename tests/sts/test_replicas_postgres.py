"""Two gateways on one PostgreSQL and one master key, as replicas run: credentials the
first issues work on the second, and a revocation made on the first stops them there."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from iamgw import cli
from tests.gateway_server import GatewayServer, start_gateway
from tests.postgres import pg_schema_url
from tests.sts.conftest import error_code, id_token, oidc_env, s3_with, web_identity


@pytest.fixture(scope="module")
def pair(seaweedfs, oidc_provider, pg_database, tmp_path_factory) -> Iterator[list[GatewayServer]]:
    env = {
        "IAMGW_STORE_URL": pg_schema_url(pg_database),
        **oidc_env(0, "keycloak", oidc_provider.issuer),
    }
    node = [(seaweedfs.endpoint, seaweedfs.access_key, seaweedfs.secret_key)]
    first = start_gateway(tmp_path_factory.mktemp("replica-a"), node, env)
    second_dir = tmp_path_factory.mktemp("replica-b")
    shutil.copy(first.settings.data_dir / "master.key", second_dir / "master.key")
    second = start_gateway(second_dir, node, env)
    yield [first, second]
    second.stop()
    first.stop()


def test_credentials_of_one_replica_work_on_the_other(pair, oidc_provider, monkeypatch) -> None:
    first, second = pair
    first.client().create_bucket(Bucket="replicas")
    first.client().put_object(Bucket="replicas", Key="k", Body=b"v")
    credentials = web_identity(first, id_token(oidc_provider, "alice"))["Credentials"]
    s3 = s3_with(second, credentials)
    assert s3.get_object(Bucket="replicas", Key="k")["Body"].read() == b"v"
    # Revoked through the first replica's store: the second refuses at its next request.
    monkeypatch.setenv("IAMGW_SERVER_DATA_DIR", str(first.settings.data_dir))
    monkeypatch.setenv("IAMGW_STORE_URL", first.settings.store_url)
    assert cli.main(["revoke", "--session", credentials["AccessKeyId"]]) == 0
    assert error_code(s3.get_object, Bucket="replicas", Key="k") == "InvalidToken"
