"""Several providers at once, chosen by issuer; IAM OIDC provider objects; a provider
that rotates its keys; a provider that goes down after its keys were cached."""

from __future__ import annotations

from collections.abc import Iterator

import botocore.exceptions
import pytest

from iamgw.identity.oidc import OidcVerifier
from tests.iam_helpers import web_identity_trust
from tests.peers import OidcProvider, start_oidc_provider
from tests.sts.conftest import ACCOUNT, error_code, forge, id_token, s3_with, web_identity
from tests.waiting import wait_until


def verifier(gateway) -> OidcVerifier:
    """The serving process's verifier (its key cache)."""
    return gateway.server.config.app.state.gateway.oidc


@pytest.fixture
def fast_refresh(gateway, oidc_provider) -> Iterator[OidcVerifier]:
    web_identity(gateway, id_token(oidc_provider, "alice"))  # the verifier exists
    found = verifier(gateway)
    saved = found.refresh_interval, found.max_age
    found.refresh_interval = 0.5
    yield found
    found.refresh_interval, found.max_age = saved


def test_two_providers_chosen_by_issuer(gateway, oidc_provider, spare, root_s3) -> None:
    first = web_identity(gateway, id_token(oidc_provider, "alice"), RoleSessionName="one")
    second = web_identity(gateway, id_token(spare, "bob"), RoleSessionName="two")
    assert first["Provider"] == oidc_provider.issuer
    assert second["Provider"] == spare.issuer
    assert first["AssumedRoleUser"]["Arn"].endswith(":assumed-role/keycloak/one")
    assert second["AssumedRoleUser"]["Arn"].endswith(":assumed-role/spare/two")
    s3 = s3_with(gateway, second["Credentials"])
    assert s3.get_object(Bucket="sts", Key="hello")["Body"].read() == b"hello"
    assert error_code(s3.put_object, Bucket="sts", Key="spare", Body=b"x") == "AccessDenied"


@pytest.fixture(scope="module")
def iam_only(tmp_path_factory) -> Iterator[OidcProvider]:
    provider = start_oidc_provider(tmp_path_factory.mktemp("oidc-iam-object"))
    yield provider
    provider.stop()


def test_iam_provider_object_in_role_mode(gateway, iam_only, root_s3) -> None:
    host_path = iam_only.issuer.split("://", 1)[1]
    token = id_token(iam_only, "alice")
    # Not yet registered: nobody trusts this issuer.
    assert error_code(web_identity, gateway, token) == "InvalidIdentityToken"
    gateway.repo.create_oidc_provider(host_path, ["iamgw"], [])
    # Registered, but an IAM object has no claim mode: a role is needed.
    assert error_code(web_identity, gateway, token) == "AccessDenied"
    trust = web_identity_trust(iam_only, preferred_username="alice")
    gateway.repo.create_role("object-role", trust)
    gateway.repo.attach_policy("role", "object-role", f"arn:aws:iam::{ACCOUNT}:policy/readonly")
    arn = f"arn:aws:iam::{ACCOUNT}:role/object-role"
    answer = web_identity(gateway, token, RoleArn=arn)
    assert answer["Provider"] == iam_only.issuer
    s3 = s3_with(gateway, answer["Credentials"])
    assert s3.get_object(Bucket="sts", Key="hello")["Body"].read() == b"hello"
    assert error_code(web_identity, gateway, id_token(iam_only, "bob"), RoleArn=arn) == (
        "AccessDenied"
    )
    # Its client ids are the audiences.
    assert error_code(web_identity, gateway, forge(iam_only, aud="other"), RoleArn=arn) == (
        "InvalidIdentityToken"
    )


def accepted(gateway, token: str) -> bool:
    try:
        return web_identity(gateway, token)["Provider"] is not None
    except botocore.exceptions.ClientError as exc:
        assert exc.response["Error"]["Code"] == "InvalidIdentityToken"
        return False


def test_key_rotation_at_the_provider(gateway, spare, fast_refresh) -> None:
    before = id_token(spare, "alice")
    assert web_identity(gateway, before)["Provider"] == spare.issuer  # its keys are cached now
    spare.rotate_keys(keep_old=False)
    after = id_token(spare, "alice")
    # An unknown kid refreshes the keys, at most once per refresh interval: the new key
    # verifies once the interval since the last fetch has passed.
    wait_until(lambda: accepted(gateway, after), what="the rotated key verifies")
    # The withdrawn key is gone from the cache too.
    assert error_code(web_identity, gateway, before) == "InvalidIdentityToken"


def test_rotation_keeping_the_old_key(gateway, spare, fast_refresh) -> None:
    old = id_token(spare, "alice")
    assert web_identity(gateway, old)["Provider"] == spare.issuer
    spare.rotate_keys(keep_old=True)
    new = id_token(spare, "alice")
    wait_until(lambda: accepted(gateway, new), what="the new key verifies")
    assert web_identity(gateway, old)["Provider"] == spare.issuer


def test_provider_down_after_keys_were_cached(gateway, spare, fast_refresh) -> None:
    token = id_token(spare, "bob")
    assert web_identity(gateway, token)["Provider"] == spare.issuer
    spare.stop()
    try:
        # Every use now tries the provider first (no rate limit, no fresh keys), and fails.
        fast_refresh.max_age = fast_refresh.refresh_interval = 0
        answer = web_identity(gateway, token)
        assert answer["Provider"] == spare.issuer
        # A kid that is not cached cannot be checked while the provider is down.
        assert error_code(web_identity, gateway, forge(spare, header={"kid": "new"})) == (
            "InvalidIdentityToken"
        )
    finally:
        spare.restart()
