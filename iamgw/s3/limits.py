"""Limits S3 sets on a request, checked before the request reaches a storage node.

User metadata: "Within the PUT request header, the user-defined metadata is limited
to 2 KB in size. The size of user-defined metadata is measured by taking the sum of
the number of bytes in the UTF-8 encoding of each key and value" (Amazon S3 User
Guide, "Working with object metadata"). S3 refuses more with `MetadataTooLarge`.
Storage nodes do not all enforce it (SeaweedFS stores any size), and an object whose
metadata cannot be answered in one header field can no longer be read by every
client, so the gateway refuses it for every request that writes metadata
(PutObject, CopyObject, CreateMultipartUpload; any PUT or POST).
"""

from __future__ import annotations

from collections.abc import Mapping

from iamgw.errors import S3Error

USER_METADATA_MAX_BYTES = 2048
META_PREFIX = "x-amz-meta-"
_WRITES = frozenset({"PUT", "POST"})


class MetadataTooLarge(S3Error):
    code = "MetadataTooLarge"
    status = 400
    default_message = "Your metadata headers exceed the maximum allowed metadata size."


def user_metadata_bytes(headers: Mapping[str, str]) -> int:
    """The size S3 counts: bytes of each key (without `x-amz-meta-`) and of its value.

    Header values arrive decoded as Latin-1 (one character per byte on the wire);
    a name or value holding other characters is counted in UTF-8.
    """
    size = 0
    for name, value in headers.items():
        lowered = name.lower()
        if lowered.startswith(META_PREFIX):
            size += _wire_bytes(lowered[len(META_PREFIX) :]) + _wire_bytes(value)
    return size


def check_user_metadata(method: str, headers: Mapping[str, str]) -> None:
    """Raise MetadataTooLarge when a write carries more than 2 KB of user metadata."""
    if method.upper() not in _WRITES:
        return
    size = user_metadata_bytes(headers)
    if size > USER_METADATA_MAX_BYTES:
        raise MetadataTooLarge(
            "Your metadata headers exceed the maximum allowed metadata size: "
            f"{size} bytes, {USER_METADATA_MAX_BYTES} allowed."
        )


def _wire_bytes(text: str) -> int:
    try:
        return len(text.encode("latin-1"))
    except UnicodeEncodeError:
        return len(text.encode("utf-8", "surrogatepass"))
