"""AWS Identity and Access Management, Query API version 2010-05-08.

https://docs.aws.amazon.com/IAM/latest/APIReference/welcome.html
"""

from starlette.requests import Request
from starlette.responses import Response

from iamgw.errors import QueryNotImplemented

__all__ = ["handle"]


async def handle(request: Request, params: dict[str, str]) -> Response:
    """Answer one IAM action. The actions land with the IAM issue; until then, NotImplemented."""
    raise QueryNotImplemented(f"IAM action {params.get('Action', '')!r} is not implemented yet.")
