"""The S3 data path: operations, decisions, and the proxy to the storage nodes.

https://docs.aws.amazon.com/AmazonS3/latest/API/Welcome.html
"""

from .context import transport_context
from .embedded import EmbeddedNodeError, SeaweedNode, start_seaweedfs
from .handler import handle
from .keys import bucket_name, object_key
from .proxy import Proxy
from .upstreams import Upstream, UpstreamPool

__all__ = [
    "EmbeddedNodeError",
    "Proxy",
    "SeaweedNode",
    "Upstream",
    "UpstreamPool",
    "bucket_name",
    "handle",
    "object_key",
    "start_seaweedfs",
    "transport_context",
]
