"""AssumeRoleWithClientGrants (MinIO): temporary credentials for an OAuth 2.0
client-credentials access token (a JWT), with the same checks as a web identity token.

https://min.io/docs/minio/linux/developers/security-token-service/AssumeRoleWithClientGrants.html
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .assume_role_with_web_identity import assume
from .federation import audience
from .response import answer

ACTION = "AssumeRoleWithClientGrants"


async def handle(request: Request, params: dict[str, str]) -> Response:
    done = await assume(request, params, "Token", "sts:AssumeRoleWithClientGrants")
    result = {
        "Credentials": done.issued.credentials(),
        "SubjectFromToken": done.claims["sub"],
        "AssumedRoleUser": {
            "Arn": done.federated.grant.arn,
            "AssumedRoleId": done.federated.assumed_role_id,
        },
        "PackedPolicySize": done.packed,
        "Provider": done.provider.issuer,
        "Audience": audience(done.claims, done.provider),
    }
    return answer(request, ACTION, result)
