"""AWS Security Token Service, Query API version 2011-06-15.

https://docs.aws.amazon.com/STS/latest/APIReference/welcome.html
"""

from starlette.requests import Request
from starlette.responses import Response

from iamgw.errors import QueryNotImplemented

__all__ = ["handle"]


async def handle(request: Request, params: dict[str, str]) -> Response:
    """Answer one STS action. The actions land with the STS issue; until then, NotImplemented."""
    raise QueryNotImplemented(f"STS action {params.get('Action', '')!r} is not implemented yet.")
