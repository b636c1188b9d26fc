"""`[[oidc]] groups_claim`: the groups of a token map to policies through the store
(`iamgw oidc attach-policy`), beside the policy claim, in claim mode; real ID tokens of
the OpenID provider peer (whose `groups` mapper gives alice s3-writers, bob s3-readers)
and, for a dotted path, tokens signed with the peer's own key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.gateway_server import GatewayServer, running_gateway
from tests.sts.conftest import error_code, forge, id_token, oidc_env, s3_with, web_identity


@pytest.fixture(scope="module")
def groups_gateway(seaweedfs, oidc_provider, tmp_path_factory) -> Iterator[GatewayServer]:
    """Policies from the groups claim only (no policy claim)."""
    env = oidc_env(0, "keycloak", oidc_provider.issuer, claim_name="", groups_claim="groups")
    with running_gateway(tmp_path_factory.mktemp("oidc-groups"), seaweedfs, env) as server:
        server.client().create_bucket(Bucket="groups")
        server.client().put_object(Bucket="groups", Key="hello", Body=b"hello")
        yield server


@pytest.fixture(scope="module")
def roles_gateway(seaweedfs, oidc_provider, tmp_path_factory) -> Iterator[GatewayServer]:
    """Keycloak's realm roles as groups (a dotted path), beside the policy claim."""
    env = oidc_env(
        0, "keycloak", oidc_provider.issuer, claim_name="policy", groups_claim="realm_access.roles"
    )
    with running_gateway(tmp_path_factory.mktemp("oidc-roles"), seaweedfs, env) as server:
        server.client().create_bucket(Bucket="roles")
        yield server


def test_groups_map_to_policies_at_the_next_login(groups_gateway, oidc_provider) -> None:
    gateway, repo = groups_gateway, groups_gateway.repo
    alice, bob = id_token(oidc_provider, "alice"), id_token(oidc_provider, "bob")
    # Nothing mapped: the tokens name no policy.
    assert error_code(web_identity, gateway, alice) == "AccessDenied"
    repo.attach_oidc_group_policies("keycloak", "s3-writers", ["readwrite"])
    repo.attach_oidc_group_policies("keycloak", "s3-readers", ["readonly"])
    writer = s3_with(gateway, web_identity(gateway, alice)["Credentials"])
    writer.put_object(Bucket="groups", Key="by-alice", Body=b"a")
    reader = s3_with(gateway, web_identity(gateway, bob)["Credentials"])
    assert reader.get_object(Bucket="groups", Key="hello")["Body"].read() == b"hello"
    assert error_code(reader.put_object, Bucket="groups", Key="by-bob", Body=b"b") == (
        "AccessDenied"
    )
    # carol is in no group.
    carol = id_token(oidc_provider, "carol")
    assert error_code(web_identity, gateway, carol) == "AccessDenied"
    # Detached: the next login has no policy; the session already issued keeps its own.
    repo.detach_oidc_group_policies("keycloak", "s3-readers", ["readonly"])
    assert error_code(web_identity, gateway, bob) == "AccessDenied"
    assert reader.get_object(Bucket="groups", Key="hello")["Body"].read() == b"hello"


def test_mapped_policy_deleted_is_dropped(groups_gateway, oidc_provider) -> None:
    gateway, repo = groups_gateway, groups_gateway.repo
    repo.create_policy("groups-temp", '{"Version":"2012-10-17","Statement":[]}')
    repo.attach_oidc_group_policies("keycloak", "s3-readers", ["groups-temp"])
    repo.delete_policy(repo.policy_arn(repo.get_policy("groups-temp")))
    assert error_code(web_identity, gateway, id_token(oidc_provider, "bob")) == "AccessDenied"


def test_dotted_groups_claim(roles_gateway, oidc_provider) -> None:
    gateway, repo = roles_gateway, roles_gateway.repo
    repo.attach_oidc_group_policies("keycloak", "storage-admin", ["readwrite"])
    # The groups claim's policies join those of the policy claim.
    token = forge(oidc_provider, policy=["readonly"], realm_access={"roles": ["storage-admin"]})
    s3 = s3_with(gateway, web_identity(gateway, token)["Credentials"])
    s3.put_object(Bucket="roles", Key="by-admin", Body=b"x")
    # A role nothing maps and no policy claim: no policy at all.
    other = forge(oidc_provider, policy=None, realm_access={"roles": ["offline_access"]})
    assert error_code(web_identity, gateway, other) == "AccessDenied"
    # Without the groups the policy claim alone decides: readonly cannot write.
    plain = forge(oidc_provider, policy=["readonly"])
    s3 = s3_with(gateway, web_identity(gateway, plain)["Credentials"])
    assert error_code(s3.put_object, Bucket="roles", Key="by-reader", Body=b"x") == "AccessDenied"
