"""A gateway in front of the SeaweedFS peer that trusts the OpenID provider peer.

`[[oidc]]` 0 is the session's provider (claim mode, `policy` claim); 1 is a provider of
this package's own (`spare`), which the tests rotate and stop; 2 names an issuer where
nothing listens.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import httpx
import jwt
import pytest
from botocore.config import Config

from tests.gateway_server import GatewayServer, free_port, running_gateway
from tests.iam_helpers import ACCOUNT
from tests.peers import OidcProvider, start_oidc_provider

DEAD_ISSUER = f"http://127.0.0.1:{free_port()}/realms/storage"


@pytest.fixture(scope="session")
def spare(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    """A provider of its own: tests rotate its keys and stop it."""
    provider = start_oidc_provider(tmp_path_factory.mktemp("oidc-spare"))
    yield provider
    provider.stop()


@pytest.fixture(scope="session")
def gateway(seaweedfs, oidc_provider, spare, tmp_path_factory) -> Iterator[GatewayServer]:
    env = {
        **oidc_env(0, "keycloak", oidc_provider.issuer, claim_name="policy"),
        **oidc_env(1, "spare", spare.issuer),
        **oidc_env(2, "dead", DEAD_ISSUER),
    }
    with running_gateway(tmp_path_factory.mktemp("sts-gateway"), seaweedfs, env) as server:
        yield server


def oidc_env(index: int, name: str, issuer: str, **settings: str) -> dict[str, str]:
    """The environment of `[[oidc]]` number `index` (client id iamgw, more `settings`)."""
    env = {"name": name, "issuer": issuer, "client_id": "iamgw", **settings}
    return {f"IAMGW_OIDC_{index}_{key.upper()}": value for key, value in env.items()}


@pytest.fixture(scope="session")
def root_s3(gateway):
    s3 = gateway.client()
    s3.create_bucket(Bucket="sts")
    s3.put_object(Bucket="sts", Key="hello", Body=b"hello")
    return s3


def sts_client(gateway: GatewayServer, **keys: Any):
    """An STS client: unsigned unless keys are given."""
    if not keys:
        return boto3.client(
            "sts",
            endpoint_url=gateway.url,
            region_name="us-east-1",
            aws_access_key_id="unused",
            aws_secret_access_key="unused",
            config=Config(retries={"max_attempts": 1}),
        )
    return gateway.client("sts", **keys)


def sts_from(gateway: GatewayServer, credentials: dict[str, Any]):
    """An STS client signing with temporary `credentials`."""
    return sts_client(
        gateway,
        key=credentials["AccessKeyId"],
        secret=credentials["SecretAccessKey"],
        token=credentials["SessionToken"],
    )


def s3_with(gateway: GatewayServer, credentials: dict[str, Any]):
    return gateway.client(
        "s3",
        key=credentials["AccessKeyId"],
        secret=credentials["SecretAccessKey"],
        token=credentials["SessionToken"],
    )


def web_identity(gateway: GatewayServer, token: str, **params: Any) -> dict[str, Any]:
    params.setdefault("RoleArn", f"arn:aws:iam::{ACCOUNT}:role/none")
    params.setdefault("RoleSessionName", "test-session")
    return sts_client(gateway).assume_role_with_web_identity(WebIdentityToken=token, **params)


def error_code(call, *args: Any, **kwargs: Any) -> str:
    """The AWS error code `call` fails with (the test fails if it succeeds)."""
    try:
        call(*args, **kwargs)
    except botocore.exceptions.ClientError as exc:
        return str(exc.response["Error"]["Code"])
    raise AssertionError(f"{getattr(call, '__name__', call)} succeeded")


def id_token(provider: OidcProvider, username: str) -> str:
    return str(provider.token_for(username)["id_token"])


def signing_key(provider: OidcProvider) -> dict[str, Any]:
    """The provider's current private signing key (JWK), from its keys file."""
    return dict(json.loads(Path(provider.keys_path).read_text())["keys"][0])


def forge(provider: OidcProvider, *, header: dict[str, Any] | None = None,
          key: Any = None, alg: str = "RS256", **claims: Any) -> str:  # fmt: skip
    """A token signed with the provider's own private key, with the claims chosen by the
    test (None removes a claim): what a thief or a buggy provider might present."""
    jwk = signing_key(provider)
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": provider.issuer,
        "sub": "forged-subject",
        "aud": "iamgw",
        "iat": now,
        "exp": now + 300,
        "preferred_username": "mallory",
        "policy": ["readwrite"],
    }
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    headers = {"kid": jwk["kid"], **(header or {})}
    if key is None:
        key = jwt.PyJWK.from_dict(jwk).key
    return jwt.encode(body, key, algorithm=alg, headers=headers)


def raw_call(gateway: GatewayServer, action: str, **params: Any) -> httpx.Response:
    """An unsigned STS call by hand: for what boto3 would refuse to send."""
    return httpx.post(gateway.url, data={"Action": action, "Version": "2011-06-15", **params})


def raw_code(response: httpx.Response) -> str:
    text = response.text
    start = text.find("<Code>")
    if start < 0:
        return f"(status {response.status_code})"
    return text[start + 6 : text.find("</Code>")]
