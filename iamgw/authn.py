"""Authentication of a signed request: SigV4 claims -> identity -> signature verified.

One sequence for every API: `sigv4.parse_auth` reads what the request claims
(no secret needed), `Access.resolve` finds the identity and its secret, and
`sigv4.verify` checks the signature, scope and time. Unsigned requests are
anonymous.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from iamgw.identity import Access, Identity, anonymous
from iamgw.sigv4 import AuthInfo, SigningContext, parse_auth, verify


@dataclass(frozen=True)
class Authenticated:
    identity: Identity
    auth: AuthInfo | None = None  # None: an anonymous request
    signing: SigningContext | None = None  # for aws-chunked chunk signatures


async def authenticate(
    access: Access,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    *,
    region: str,
    service: str,
    also_region: str | None = None,
    payload_hash: str | None = None,
    now: datetime | None = None,
) -> Authenticated:
    """`also_region`: a second scope region accepted (IAM and STS are signed for us-east-1
    by SDKs whatever the gateway's region)."""
    auth = parse_auth(method, raw_path, raw_query, headers)
    if auth is None:
        return Authenticated(anonymous(access.account_id))
    identity = await access.resolve(auth.access_key, auth.security_token)
    if also_region is not None and auth.region == also_region:
        region = also_region
    signing = verify(
        auth,
        identity.secret_key,
        method,
        raw_path,
        raw_query,
        headers,
        now=now or datetime.now(UTC),
        region=region,
        service=service,
        payload_hash=payload_hash,
    )
    return Authenticated(identity, auth, signing)
