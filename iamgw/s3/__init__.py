"""The S3 data path: operations, proxy to the storage nodes, upstream pool, embedded node.

https://docs.aws.amazon.com/AmazonS3/latest/API/Welcome.html
"""

from starlette.requests import Request
from starlette.responses import Response

from iamgw.errors import NotImplementedS3

__all__ = ["handle"]


async def handle(request: Request) -> Response:
    """Answer one S3 request. Verification and forwarding land with the S3 issue."""
    raise NotImplementedS3("S3 requests are not served by this version of iamgw yet.")
