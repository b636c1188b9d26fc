"""`[[oidc]] limit_to_token_expiry`: a session never outlives the token that opened it."""

from __future__ import annotations

import time

import jwt

from tests.gateway_server import start_gateway
from tests.sts.conftest import id_token, web_identity


def test_sessions_end_with_the_token(seaweedfs, oidc_provider, tmp_path_factory) -> None:
    env = {
        "IAMGW_OIDC_0_NAME": "keycloak",
        "IAMGW_OIDC_0_ISSUER": oidc_provider.issuer,
        "IAMGW_OIDC_0_CLIENT_ID": "iamgw",
        "IAMGW_OIDC_0_LIMIT_TO_TOKEN_EXPIRY": "true",
    }
    gateway = start_gateway(
        tmp_path_factory.mktemp("token-expiry"),
        [(seaweedfs.endpoint, seaweedfs.access_key, seaweedfs.secret_key)],
        env,
    )
    try:
        token = id_token(oidc_provider, "alice")
        expires = jwt.decode(token, options={"verify_signature": False})["exp"]
        credentials = web_identity(gateway, token, DurationSeconds=43200)["Credentials"]
        assert credentials["Expiration"].timestamp() <= expires
        assert credentials["Expiration"].timestamp() > time.time()
    finally:
        gateway.stop()
