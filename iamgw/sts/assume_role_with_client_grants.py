"""AssumeRoleWithClientGrants (MinIO): temporary credentials for an OAuth 2.0
client-credentials access token (a JWT), with the same checks as a web identity token.

https://min.io/docs/minio/linux/developers/security-token-service/AssumeRoleWithClientGrants.html
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .assume_role_with_web_identity import federated_answer

ACTION = "AssumeRoleWithClientGrants"


async def handle(request: Request, params: dict[str, str]) -> Response:
    return await federated_answer(request, params, ACTION, "Token", "SubjectFromToken")
