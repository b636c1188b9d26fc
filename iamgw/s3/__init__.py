"""The S3 data path: operations, decisions, and the proxy to the storage nodes.

https://docs.aws.amazon.com/AmazonS3/latest/API/Welcome.html
"""

from .handler import handle

__all__ = ["handle"]
