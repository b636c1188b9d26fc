"""The payload hash: x-amz-content-sha256 values and verification of a streamed body."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import AsyncIterable, AsyncIterator
from enum import StrEnum

from iamgw.errors import InvalidArgument, XAmzContentSHA256Mismatch


class PayloadMode(StrEnum):
    SHA256 = "sha256"  # the value is the body's SHA-256 in hex
    UNSIGNED = "UNSIGNED-PAYLOAD"
    STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
    STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"


# SigV4 writes hashes as lower-case hex: an upper-case value is malformed, never a
# second spelling of the same hash that one reader verifies and another does not.
_HEX64 = re.compile(r"[0-9a-f]{64}")
_INVALID = (
    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER "
    "or a valid sha256 value."
)


def payload_mode(value: str) -> PayloadMode:
    """The kind of an x-amz-content-sha256 value; InvalidArgument for anything else."""
    if _HEX64.fullmatch(value):
        return PayloadMode.SHA256
    try:
        mode = PayloadMode(value)
    except ValueError:
        raise InvalidArgument(_INVALID) from None
    if mode is PayloadMode.SHA256:
        raise InvalidArgument(_INVALID)
    return mode


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class PayloadVerifier:
    """Hashes a body as it streams; `finish()` raises XAmzContentSHA256Mismatch on a
    difference. The caller forwards each chunk as it comes: the mismatch surfaces at the
    end (the upstream request must then be aborted)."""

    def __init__(self, expected: str) -> None:
        if not _HEX64.fullmatch(expected):
            raise InvalidArgument(_INVALID)
        self.expected = expected
        self._hash = hashlib.sha256()
        self.length = 0

    def update(self, chunk: bytes) -> None:
        self._hash.update(chunk)
        self.length += len(chunk)

    def finish(self) -> None:
        if not hmac.compare_digest(self._hash.hexdigest(), self.expected):
            raise XAmzContentSHA256Mismatch()


async def verify_payload(body: AsyncIterable[bytes], expected: str) -> AsyncIterator[bytes]:
    """Yield `body`'s chunks unchanged; raise XAmzContentSHA256Mismatch after the last one
    if their SHA-256 is not `expected`."""
    verifier = PayloadVerifier(expected)
    async for chunk in body:
        verifier.update(chunk)
        yield chunk
    verifier.finish()
