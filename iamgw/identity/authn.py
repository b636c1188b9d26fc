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

from starlette.requests import Request

from iamgw.errors import InvalidToken
from iamgw.ops import count_auth_failures
from iamgw.sigv4 import AuthInfo, Headers, SigningContext, header_map, parse_auth, verify

from .access import Access
from .principals import Identity, anonymous

_HEADERS = "iamgw.headers"


@dataclass(frozen=True)
class Authenticated:
    identity: Identity
    auth: AuthInfo | None = None  # None: an anonymous request
    signing: SigningContext | None = None  # for aws-chunked chunk signatures


@count_auth_failures  # an AWS error raised here: a failure, counted by its code
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
    if auth.security_token is not None and identity.session is None:
        # Long-term keys (root's, an IAM user's) take no session token: a token sent
        # with them is a mistake or a probe, never something to ignore.
        raise InvalidToken("A session token was sent with long-term credentials.")
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


def request_headers(request: Request) -> Headers:
    """The request's headers by lower-case name, read once per request (see sigv4.headers):
    InvalidRequest when a header that must be single is repeated."""
    headers = request.scope.get(_HEADERS)
    if headers is None:
        headers = request.scope[_HEADERS] = header_map(request.scope["headers"])
    return headers
