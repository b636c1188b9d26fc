"""GetSessionToken: temporary credentials of an IAM user, with the user's own permissions.

https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html
Temporary credentials cannot call it ("Cannot call GetSessionToken with session
credentials"); neither can root here: a session stands for policies, and root has none.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from iamgw.errors import AccessDenied
from iamgw.gateway import gateway_of
from iamgw.identity import IdentityKind

from .caller import signed_caller
from .response import answer
from .session import Grant, duration, issue

ACTION = "GetSessionToken"


async def handle(request: Request, params: dict[str, str]) -> Response:
    identity = await signed_caller(request)
    if identity.kind is IdentityKind.SESSION:
        raise AccessDenied("Cannot call GetSessionToken with session credentials")
    if identity.kind is not IdentityKind.USER or identity.arn is None:
        raise AccessDenied("GetSessionToken is for IAM users; root credentials need no session.")
    sts = gateway_of(request).settings.sts
    seconds = duration(
        params, sts.min_duration_seconds, sts.default_duration_seconds, sts.max_duration_seconds
    )
    grant = Grant(
        arn=identity.arn,
        typ="User",
        src=identity.arn,
        uid=identity.userid,
        un=identity.username,
        pol=identity.policies,
        bnd=identity.boundary or "",
        tags=dict(identity.tags),
    )
    issued = issue(gateway_of(request).tokens, grant, seconds)
    return answer(request, ACTION, {"Credentials": issued.credentials()})
