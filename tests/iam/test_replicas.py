"""Two gateway replicas on one PostgreSQL store: a policy change made through one
decides the very next request on the other (cache invalidation through the store)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from tests.gateway_server import GatewayServer, start_gateway
from tests.iam.conftest import client_for, policy_arn
from tests.iam_helpers import allow, make_user
from tests.postgres import pg_schema_url


@pytest.fixture(scope="module")
def replicas(
    seaweedfs, pg_database, tmp_path_factory
) -> Iterator[tuple[GatewayServer, GatewayServer]]:
    env = {"IAMGW_STORE_URL": pg_schema_url(pg_database)}
    upstream = [(seaweedfs.endpoint, seaweedfs.access_key, seaweedfs.secret_key)]
    dir_a, dir_b = tmp_path_factory.mktemp("replica-a"), tmp_path_factory.mktemp("replica-b")
    a = start_gateway(dir_a, upstream, env)
    shutil.copy(dir_a / "master.key", dir_b / "master.key")  # replicas share the master key
    b = start_gateway(dir_b, upstream, env)
    yield a, b
    b.stop()
    a.stop()


def test_detach_on_one_replica_denies_on_the_other(replicas) -> None:
    a, b = replicas
    admin_a = a.client("iam")
    arn = admin_a.create_policy(
        PolicyName="x-roles", PolicyDocument=allow(["iam:ListRoles", "s3:GetObject"])
    )["Policy"]["Arn"]
    keys = make_user(admin_a, "x-user", managed=[arn])
    bucket = f"replicas-{uuid.uuid4().hex[:8]}"
    a.client("s3").create_bucket(Bucket=bucket)
    a.client("s3").put_object(Bucket=bucket, Key="k", Body=b"v")
    on_b = client_for(b, keys)
    s3_b = client_for(b, keys, "s3")
    on_b.list_roles()  # B has now decided (and cached) with the policy attached
    s3_b.get_object(Bucket=bucket, Key="k")
    admin_a.detach_user_policy(UserName="x-user", PolicyArn=arn)
    with pytest.raises(ClientError) as err:
        on_b.list_roles()
    assert err.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError) as err:
        s3_b.get_object(Bucket=bucket, Key="k")
    assert err.value.response["Error"]["Code"] == "AccessDenied"
    # And back: an attach through B is seen by A at once.
    b.client("iam").attach_user_policy(UserName="x-user", PolicyArn=policy_arn("x-roles"))
    client_for(a, keys).list_roles()
    # A key deactivated through B no longer signs on A.
    b.client("iam").update_access_key(UserName="x-user", AccessKeyId=keys.key, Status="Inactive")
    with pytest.raises(ClientError) as err:
        client_for(a, keys).list_roles()
    assert err.value.response["Error"]["Code"] == "InvalidClientTokenId"
