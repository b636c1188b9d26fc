"""GetCallerIdentity: who the signed caller is. Needs no permission (and no deny stops it).

https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .caller import signed_caller
from .response import answer

ACTION = "GetCallerIdentity"


async def handle(request: Request, params: dict[str, str]) -> Response:
    identity = await signed_caller(request)
    result = {"UserId": identity.userid, "Account": identity.account_id, "Arn": identity.arn}
    return answer(request, ACTION, result)
