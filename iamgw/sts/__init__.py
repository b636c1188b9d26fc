"""AWS Security Token Service, Query API version 2011-06-15.

https://docs.aws.amazon.com/STS/latest/APIReference/welcome.html
One module per action; `handle` dispatches and counts issued credentials and
failures (the only place STS metrics are counted). OpenID federation:
`iamgw.sts.federation` over `iamgw.identity.oidc`; LDAP logins:
`iamgw.sts.assume_role_with_ldap_identity` over `iamgw.identity.ldap`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from iamgw.errors import AWSError, InvalidAction
from iamgw.gateway import gateway_of

from . import (
    assume_role,
    assume_role_with_certificate,
    assume_role_with_client_grants,
    assume_role_with_ldap_identity,
    assume_role_with_web_identity,
    get_caller_identity,
    get_session_token,
)
from .assume_role_with_ldap_identity import assume as assume_ldap_identity
from .assume_role_with_web_identity import assume as assume_web_identity
from .federation import Catalog, startup_lines, virtual_role_arn

__all__ = [
    "ACTIONS",
    "Catalog",
    "assume_ldap_identity",
    "assume_web_identity",
    "handle",
    "startup_lines",
    "virtual_role_arn",
]

Handler = Callable[[Request, dict[str, str]], Awaitable[Response]]

ACTIONS: dict[str, Handler] = {
    "AssumeRole": assume_role.handle,
    "AssumeRoleWithWebIdentity": assume_role_with_web_identity.handle,
    "AssumeRoleWithClientGrants": assume_role_with_client_grants.handle,
    "AssumeRoleWithLDAPIdentity": assume_role_with_ldap_identity.handle,
    "AssumeRoleWithCertificate": assume_role_with_certificate.handle,
    "GetCallerIdentity": get_caller_identity.handle,
    "GetSessionToken": get_session_token.handle,
}
_ISSUING = frozenset(ACTIONS) - {"GetCallerIdentity"}


async def handle(request: Request, params: dict[str, str]) -> Response:
    """Answer one STS action."""
    action = params.get("Action", "")
    handler = ACTIONS.get(action)
    metrics = gateway_of(request).metrics
    try:
        if handler is None:
            raise InvalidAction(f"Could not find operation {action[:64]} for version 2011-06-15")
        response = await handler(request, params)
    except AWSError as exc:  # also SigV4 failures of the signed actions
        metrics.sts_failures.labels(exc.code).inc()
        raise
    if action in _ISSUING:
        metrics.sts_issued.labels(action).inc()
    return response
