"""iamgw.identity.oidc on its own, with the provider played by httpx's MockTransport:
key caching, refresh limits, keys served while the provider is down, key types."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from iamgw.identity.oidc import (
    InvalidToken,
    OidcVerifier,
    Provider,
    ProviderUnavailable,
    TokenExpired,
    iam_object_issuer,
)

ISSUER = "https://idp.example.org/realms/x"
PROVIDER = Provider("idp", ISSUER, ("iamgw",), "000000000000")


class FakeIdp:
    def __init__(self) -> None:
        self.keys: dict[str, Any] = {}
        self.public: list[dict[str, Any]] = []
        self.up = True
        self.jwks_fetches = 0
        self.discovery_issuer = ISSUER

    def add_rsa(self, kid: str, alg: str | None = "RS256") -> Any:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
        jwk.update({"kid": kid, "use": "sig"}, **({"alg": alg} if alg else {}))
        self.keys[kid] = key
        self.public.append(jwk)
        return key

    def add_ec(self, kid: str) -> Any:
        key = ec.generate_private_key(ec.SECP256R1())
        jwk = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
        jwk.update({"kid": kid})
        self.keys[kid] = key
        self.public.append(jwk)
        return key

    def handler(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            raise httpx.ConnectError("down", request=request)
        if request.url.path.endswith("/.well-known/openid-configuration"):
            return httpx.Response(
                200, json={"issuer": self.discovery_issuer, "jwks_uri": ISSUER + "/certs"}
            )
        self.jwks_fetches += 1
        return httpx.Response(200, json={"keys": self.public})

    def token(self, kid: str, alg: str = "RS256", **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "sub": "s", "aud": "iamgw", "iat": now, "exp": now + 60}
        body.update(claims)
        return jwt.encode(body, self.keys[kid], algorithm=alg, headers={"kid": kid})


@pytest.fixture
def idp() -> FakeIdp:
    fake = FakeIdp()
    fake.add_rsa("k1")
    return fake


def verifier(idp: FakeIdp, **options: Any) -> OidcVerifier:
    return OidcVerifier(transport=httpx.MockTransport(idp.handler), **options)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_keys_are_cached(idp) -> None:
    v = verifier(idp)

    async def twice() -> None:
        await v.verify(idp.token("k1"), PROVIDER)
        await v.verify(idp.token("k1"), PROVIDER)

    run(twice())
    assert idp.jwks_fetches == 1


def test_unknown_kid_refreshes_at_most_once_per_interval(idp) -> None:
    v = verifier(idp, refresh_interval=60)

    async def flood() -> None:
        await v.verify(idp.token("k1"), PROVIDER)
        idp.add_rsa("k2")
        for _ in range(20):
            with pytest.raises(InvalidToken):
                await v.verify(idp.token("k2") + "x", PROVIDER)  # never verifies

    run(flood())
    assert idp.jwks_fetches == 1  # the first fetch was less than 60 s ago: no refresh


def test_unknown_kid_after_the_interval_fetches_the_new_key(idp) -> None:
    v = verifier(idp, refresh_interval=0.05)

    async def rotate() -> None:
        await v.verify(idp.token("k1"), PROVIDER)
        idp.add_rsa("k2")
        await asyncio.sleep(0.06)  # deliberate: the refresh interval itself must pass
        await v.verify(idp.token("k2"), PROVIDER)

    run(rotate())
    assert idp.jwks_fetches == 2


def test_cached_keys_serve_while_the_provider_is_down(idp) -> None:
    v = verifier(idp, refresh_interval=0, max_age=0)

    async def down() -> None:
        await v.verify(idp.token("k1"), PROVIDER)
        idp.up = False
        assert (await v.verify(idp.token("k1"), PROVIDER))["sub"] == "s"

    run(down())


def test_provider_down_without_cached_keys(idp) -> None:
    idp.up = False
    v = verifier(idp, refresh_interval=60)

    async def down() -> None:
        for _ in range(3):
            with pytest.raises(ProviderUnavailable):
                await v.verify(idp.token("k1"), PROVIDER)

    run(down())


def test_discovery_naming_another_issuer(idp) -> None:
    idp.discovery_issuer = "https://evil.example.org/"
    with pytest.raises(ProviderUnavailable):
        run(verifier(idp).verify(idp.token("k1"), PROVIDER))


def test_ec_keys_pin_their_curve(idp) -> None:
    idp.add_ec("e1")
    v = verifier(idp)
    assert run(v.verify(idp.token("e1", alg="ES256"), PROVIDER))["sub"] == "s"


def test_rsa_key_without_declared_alg_accepts_ps256_but_not_es256(idp) -> None:
    idp.add_rsa("r2", alg=None)
    v = verifier(idp)
    assert run(v.verify(idp.token("r2", alg="PS256"), PROVIDER))["sub"] == "s"


def test_symmetric_keys_in_the_jwks_are_ignored(idp) -> None:
    secret = "a-shared-secret-long-enough-for-hs256!"
    k = jwt.utils.base64url_encode(secret.encode()).decode()
    idp.public.append({"kty": "oct", "kid": "h1", "k": k})
    token = jwt.encode({"iss": ISSUER, "sub": "s", "aud": "iamgw", "iat": int(time.time()),
                        "exp": int(time.time()) + 60}, secret, algorithm="HS256",
                       headers={"kid": "h1"})  # fmt: skip
    with pytest.raises(InvalidToken):
        run(verifier(idp).verify(token, PROVIDER))


def test_token_without_kid(idp) -> None:
    now = int(time.time())
    body = {"iss": ISSUER, "sub": "s", "aud": "iamgw", "iat": now, "exp": now + 60}
    token = jwt.encode(body, idp.keys["k1"], algorithm="RS256")
    assert run(verifier(idp).verify(token, PROVIDER))["sub"] == "s"
    idp.add_rsa("k2")
    with pytest.raises(InvalidToken):  # two keys: which one is not for the token to guess
        run(verifier(idp).verify(token, PROVIDER))


@pytest.mark.parametrize(
    ("claims", "error"),
    [
        ({"exp": -100}, TokenExpired),  # seconds from now, when the test runs
        ({"exp": -10}, None),  # within the leeway
        ({"aud": ["a", "iamgw"]}, None),
        ({"aud": "account", "azp": "iamgw"}, None),
        ({"aud": "account", "azp": "other"}, InvalidToken),
        ({"iss": ISSUER + "/"}, InvalidToken),
        ({"sub": 5}, InvalidToken),
    ],
)
def test_claim_rules(idp, claims, error) -> None:
    if "exp" in claims:  # relative: collection may happen long before the test runs
        claims = {**claims, "exp": int(time.time()) + claims["exp"]}
    coro = verifier(idp).verify(idp.token("k1", **claims), PROVIDER)
    if error is None:
        run(coro)
    else:
        with pytest.raises(error):
            run(coro)


def test_iam_objects_need_https_except_on_loopback() -> None:
    assert iam_object_issuer("idp.example.org/x", "https://idp.example.org/x")
    assert iam_object_issuer("idp.example.org/x", "http://idp.example.org/x") is None
    assert iam_object_issuer("127.0.0.1:8080/r", "http://127.0.0.1:8080/r")
    assert iam_object_issuer("idp.example.org/x", "https://idp.example.org/y") is None
    assert iam_object_issuer("idp.example.org/x", "https://idp.example.org/x?a=b") is None
    assert iam_object_issuer("idp.example.org/x", "https://u@idp.example.org/x") is None
