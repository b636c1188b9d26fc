"""`[[oidc]] limit_to_token_expiry`: a session never outlives the token that opened it."""

from __future__ import annotations

import time

import jwt

from tests.gateway_server import running_gateway
from tests.sts.conftest import id_token, oidc_env, web_identity


def test_sessions_end_with_the_token(seaweedfs, oidc_provider, tmp_path_factory) -> None:
    env = oidc_env(0, "keycloak", oidc_provider.issuer, limit_to_token_expiry="true")
    with running_gateway(tmp_path_factory.mktemp("token-expiry"), seaweedfs, env) as gateway:
        token = id_token(oidc_provider, "alice")
        expires = jwt.decode(token, options={"verify_signature": False})["exp"]
        credentials = web_identity(gateway, token, DurationSeconds=43200)["Credentials"]
        assert credentials["Expiration"].timestamp() <= expires
        assert credentials["Expiration"].timestamp() > time.time()
