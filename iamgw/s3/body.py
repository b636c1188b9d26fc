"""Request bodies: verified before any byte of them reaches a storage node.

A body that carries a checksum the client signed (a real `x-amz-content-sha256`,
or aws-chunked with chunk signatures and trailing checksums) is spooled (memory
up to 1 MiB, then a temporary file) while it is verified, and forwarded only
once it passed. Storage nodes do not all verify payload hashes or refuse short
bodies (SeaweedFS stores both), so forwarding as the bytes arrive would let a
tampered or truncated body be stored. Memory stays constant for any size.
An unsigned payload has nothing to verify and streams straight through.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import IO, Any

from starlette.requests import Request

from iamgw.errors import AccessDenied, IncompleteBody, InvalidArgument, InvalidRequest, S3Error
from iamgw.s3.limits import check_user_metadata
from iamgw.sigv4 import ChunkedDecoder, PayloadMode, PayloadVerifier, length_value, payload_mode

UNSIGNED = "UNSIGNED-PAYLOAD"
SPOOL_IN_MEMORY = 1 << 20
READ_SIZE = 256 << 10


@dataclass
class Body:
    stream: AsyncIterator[bytes] | None
    length: int | None
    payload_hash: str  # what the upstream request is signed with
    close: Callable[[], None] = lambda: None
    replay: Callable[[], AsyncIterator[bytes]] | None = None  # the body again, from its start


@dataclass
class _Check:
    """How a body is verified as it is read: each received piece -> the body's bytes."""

    transform: Callable[[bytes], list[bytes]]
    finish: Callable[[], object]
    payload_hash: str  # what the upstream request is signed with


def _declared(headers: dict[str, str], auth: Any) -> str:
    """The payload hash the request declares: for a signed request the one its signature
    covers (the x-amz-content-sha256 header, or a presigned URL's X-Amz-Content-Sha256
    parameter), for an anonymous one its header."""
    if auth is None:
        return headers.get("x-amz-content-sha256", "")
    if auth.presigned and auth.payload_hash.startswith("STREAMING-"):
        raise InvalidArgument("A presigned URL cannot carry an aws-chunked body.")
    return str(auth.payload_hash)


def _check(headers: dict[str, str], auth: Any, signing: Any) -> _Check | None:
    """The verification a body needs (aws-chunked decoding and signatures, or the declared
    SHA-256); None when it has none (UNSIGNED-PAYLOAD, or no declared hash)."""
    declared = _declared(headers, auth)
    mode = payload_mode(declared) if declared else PayloadMode.UNSIGNED
    if mode.startswith("STREAMING-"):
        decoded = length_value(headers.get("x-amz-decoded-content-length", ""))
        if decoded is None:
            raise InvalidRequest("x-amz-decoded-content-length is required with aws-chunked.")
        signed = "HMAC" in declared
        if signed and signing is None:
            raise AccessDenied("Chunk signatures need a signed request.")
        decoder = ChunkedDecoder(
            signing if signed else None,
            signed=signed,
            trailer=declared.endswith("-TRAILER"),
            decoded_length=decoded,
            trailer_header=headers.get("x-amz-trailer"),
        )
        return _Check(decoder.feed, decoder.finish, UNSIGNED)
    if mode is PayloadMode.SHA256:  # declared by a signed or an anonymous request alike
        verifier = PayloadVerifier(declared)

        def update(data: bytes) -> list[bytes]:
            verifier.update(data)
            return [data]

        return _Check(update, verifier.finish, declared)
    return None


async def prepare(request: Request, headers: dict[str, str], auth: Any, signing: Any) -> Body:
    """The body to forward, its length, and the payload hash to sign it with upstream."""
    check_user_metadata(request.method, headers)  # refused before any of the body is read
    length = length_value(headers.get("content-length", ""))
    if length is None and "transfer-encoding" not in headers:
        return Body(None, None, UNSIGNED)
    check = _check(headers, auth, signing)
    if check is not None:
        spooled = await _spool(request.stream(), check.transform, check.finish, check.payload_hash)
        if check.payload_hash != UNSIGNED and length is not None and spooled.length != length:
            spooled.close()
            raise IncompleteBody()
        return spooled
    if length == 0:
        return Body(None, 0, UNSIGNED)
    return Body(request.stream(), length, UNSIGNED)


async def read_whole(
    request: Request,
    headers: dict[str, str],
    auth: Any,
    signing: Any,
    limit: int,
    too_large: S3Error,
) -> bytes:
    """A body the gateway answers itself (a bucket policy, a DeleteObjects list), read
    whole up to `limit` bytes and verified as a forwarded one is: the decision and the
    change are made on exactly the bytes that were signed."""
    length = length_value(headers.get("content-length", ""))
    if (
        length is not None
        and length > limit
        and not _declared(headers, auth).startswith("STREAMING-")  # counts the framing
    ):
        raise too_large
    check = _check(headers, auth, signing)
    body = bytearray()
    async for data in request.stream():
        for piece in check.transform(data) if check is not None else [data]:
            body += piece
        if len(body) > limit:
            raise too_large
    if check is not None:
        check.finish()
    return bytes(body)


async def _spool(
    source: AsyncIterator[bytes],
    transform: Callable[[bytes], list[bytes]],
    finish: Callable[[], object],
    payload_hash: str,
) -> Body:
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
    try:
        size = 0
        async for data in source:
            for piece in transform(data):
                spool.write(piece)
                size += len(piece)
        finish()
    except BaseException:
        spool.close()
        raise
    return Body(_read(spool), size, payload_hash, spool.close, lambda: _read(spool))


async def _read(spool: IO[bytes]) -> AsyncIterator[bytes]:
    spool.seek(0)
    while piece := spool.read(READ_SIZE):
        yield piece
