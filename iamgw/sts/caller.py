"""The signed caller of AssumeRole, GetSessionToken and GetCallerIdentity."""

from __future__ import annotations

from starlette.requests import Request

from iamgw.errors import MissingAuthenticationToken
from iamgw.identity import Identity
from iamgw.queryapi import authenticate


async def signed_caller(request: Request) -> Identity:
    """The SigV4-verified identity; these actions are never anonymous."""
    identity = await authenticate(request, "sts")
    if identity is None:
        raise MissingAuthenticationToken()
    return identity
