"""The S3 data path: operations, decisions, and the proxy to the storage nodes.

https://docs.aws.amazon.com/AmazonS3/latest/API/Welcome.html
"""

from .embedded import EmbeddedNodeError, SeaweedNode, start_seaweedfs
from .handler import handle
from .keys import bucket_name, object_key
from .operations import OPERATION_NAMES
from .proxy import Proxy
from .upstreams import Upstream, UpstreamPool

__all__ = [
    "OPERATION_NAMES",
    "EmbeddedNodeError",
    "Proxy",
    "SeaweedNode",
    "Upstream",
    "UpstreamPool",
    "bucket_name",
    "handle",
    "object_key",
    "start_seaweedfs",
]
