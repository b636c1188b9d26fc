"""Every way a web identity token must be refused, each with a crafted token.

The forged tokens are signed with the provider's own private key (from its keys file)
unless the attack is about the signature: the check under test is the only thing
wrong with them.
"""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.sts.conftest import DEAD_ISSUER, error_code, forge, id_token, s3_with, web_identity


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FromNow:
    """A time claim relative to when the test runs, not to when the file was collected
    (the whole suite takes long enough for `now + 600` at collection to have passed)."""

    def __init__(self, seconds: int = 0) -> None:
        self.seconds = seconds

    def __add__(self, seconds: int) -> FromNow:
        return FromNow(self.seconds + seconds)

    def __sub__(self, seconds: int) -> FromNow:
        return FromNow(self.seconds - seconds)

    def at(self, now: float) -> int:
        return int(now) + self.seconds


FROM_NOW = FromNow()


def test_a_forged_token_with_nothing_wrong_is_accepted(gateway, oidc_provider) -> None:
    """The harness itself: what the other tests change is what gets them refused."""
    answer = web_identity(gateway, forge(oidc_provider))
    assert answer["SubjectFromWebIdentityToken"] == "forged-subject"


@pytest.mark.parametrize(
    ("claims", "code"),
    [
        ({"aud": "another-client"}, "InvalidIdentityToken"),
        ({"aud": ["another-client", "account"]}, "InvalidIdentityToken"),
        ({"aud": None}, "InvalidIdentityToken"),
        ({"exp": FROM_NOW - 120}, "ExpiredTokenException"),
        ({"nbf": FROM_NOW + 600}, "InvalidIdentityToken"),
        ({"iat": FROM_NOW + 600}, "InvalidIdentityToken"),
        ({"exp": None}, "InvalidIdentityToken"),
        ({"sub": None}, "InvalidIdentityToken"),
        ({"sub": ""}, "InvalidIdentityToken"),
        ({"iss": "http://127.0.0.1:1/realms/nobody"}, "InvalidIdentityToken"),
        ({"iss": None}, "InvalidIdentityToken"),
    ],
    ids=[
        "wrong-aud",
        "wrong-aud-list",
        "no-aud",
        "expired",
        "nbf-future",
        "iat-future",
        "no-exp",
        "no-sub",
        "empty-sub",
        "unknown-issuer",
        "no-issuer",
    ],  # fmt: skip
)
def test_claims_that_must_be_refused(gateway, oidc_provider, claims, code) -> None:
    claims = {k: v.at(time.time()) if isinstance(v, FromNow) else v for k, v in claims.items()}
    assert error_code(web_identity, gateway, forge(oidc_provider, **claims)) == code


def test_azp_names_the_client(gateway, oidc_provider) -> None:
    """Keycloak access tokens: `aud` is "account", `azp` the client (MinIO accepts it)."""
    token = forge(oidc_provider, aud="account", azp="iamgw")
    assert web_identity(gateway, token)["Audience"] == "account"


def test_issuer_of_another_configured_provider(gateway, oidc_provider, spare) -> None:
    """Signed by one trusted provider, claiming to be the other: the keys of the claimed
    issuer verify it, and they did not sign it."""
    token = forge(oidc_provider, iss=spare.issuer)
    assert error_code(web_identity, gateway, token) == "InvalidIdentityToken"


def test_alg_none(gateway, oidc_provider) -> None:
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    now = int(time.time())
    body = {"iss": oidc_provider.issuer, "sub": "x", "aud": "iamgw", "iat": now,
            "exp": now + 300, "policy": ["readwrite"]}  # fmt: skip
    token = f"{header}.{b64(json.dumps(body).encode())}."
    assert error_code(web_identity, gateway, token) == "InvalidIdentityToken"


def test_hs256_signed_with_the_public_key(gateway, oidc_provider) -> None:
    """The classic key-confusion attack: HMAC keyed with the published RSA key."""
    public = jwt.PyJWK.from_dict(
        {
            k: v
            for k, v in json.loads(oidc_provider.keys_path.read_text())["keys"][0].items()
            if k in ("kty", "n", "e", "kid")
        }  # fmt: skip
    ).key
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = int(time.time())
    body = {"iss": oidc_provider.issuer, "sub": "x", "aud": "iamgw", "iat": now,
            "exp": now + 300, "policy": ["readwrite"]}  # fmt: skip
    kid = json.loads(oidc_provider.keys_path.read_text())["keys"][0]["kid"]
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    payload = b64(json.dumps(body).encode())
    import hashlib
    import hmac

    signature = hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    token = f"{header}.{payload}.{b64(signature)}"
    assert error_code(web_identity, gateway, token) == "InvalidIdentityToken"


def test_tampered_payload(gateway, oidc_provider) -> None:
    """Carol (no policy) rewrites her real token's claim to readwrite."""
    header, payload, signature = id_token(oidc_provider, "carol").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["policy"] = ["readwrite", "consoleAdmin"]
    token = f"{header}.{b64(json.dumps(claims).encode())}.{signature}"
    assert error_code(web_identity, gateway, token) == "InvalidIdentityToken"


def test_signed_by_another_key_with_the_right_kid(gateway, oidc_provider) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert error_code(web_identity, gateway, forge(oidc_provider, key=key)) == (
        "InvalidIdentityToken"
    )


def test_unknown_kid(gateway, oidc_provider) -> None:
    token = forge(oidc_provider, header={"kid": "no-such-key"})
    assert error_code(web_identity, gateway, token) == "InvalidIdentityToken"


def test_algorithm_not_matching_the_key(gateway, oidc_provider) -> None:
    """An EC signature presented under the RSA key's kid."""
    key = ec.generate_private_key(ec.SECP256R1())
    token = forge(oidc_provider, key=key, alg="ES256")
    assert error_code(web_identity, gateway, token) == "InvalidIdentityToken"


def test_another_rsa_algorithm_than_the_key_declares(gateway, oidc_provider) -> None:
    """The key publishes alg RS256: another RSA algorithm is refused too (pinned)."""
    assert error_code(web_identity, gateway, forge(oidc_provider, alg="RS512")) == (
        "InvalidIdentityToken"
    )


def test_garbage_tokens(gateway) -> None:
    for token in ("abcd", "a.b.c", "e30.e30.", "x" * 5000):
        assert error_code(web_identity, gateway, token) == "InvalidIdentityToken"


def test_provider_that_cannot_be_reached(gateway, spare) -> None:
    """A configured issuer where nothing listens: IDPCommunicationError, not a 500."""
    token = forge(spare, iss=DEAD_ISSUER)
    assert error_code(web_identity, gateway, token) == "IDPCommunicationError"


def test_session_policy_cannot_lift_a_deny_of_the_claims(gateway, oidc_provider, root_s3):
    """bob (readonly) forges nothing: a Policy allowing everything changes nothing."""
    statement = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    everything = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    creds = web_identity(gateway, id_token(oidc_provider, "bob"), Policy=everything)
    s3 = s3_with(gateway, creds["Credentials"])
    assert error_code(s3.create_bucket, Bucket="bob-bucket") == "AccessDenied"
