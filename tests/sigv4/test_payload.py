"""x-amz-content-sha256 values and the streamed payload hash."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from iamgw.errors import InvalidArgument, XAmzContentSHA256Mismatch
from iamgw.sigv4 import PayloadMode, PayloadVerifier, payload_mode, sha256_hex, verify_payload

BODY = [b"hello ", b"", b"world"]
HASH = sha256_hex(b"hello world")


@pytest.mark.parametrize(
    ("value", "mode"),
    [
        (HASH, PayloadMode.SHA256),
        ("UNSIGNED-PAYLOAD", PayloadMode.UNSIGNED),
        ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", PayloadMode.STREAMING_SIGNED),
        ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", PayloadMode.STREAMING_SIGNED_TRAILER),
        ("STREAMING-UNSIGNED-PAYLOAD-TRAILER", PayloadMode.STREAMING_UNSIGNED_TRAILER),
    ],
)
def test_payload_mode(value: str, mode: PayloadMode) -> None:
    assert payload_mode(value) is mode


@pytest.mark.parametrize(
    "value",
    [
        "",
        "sha256",
        HASH[:-1],
        HASH + "0",
        "z" * 64,
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
        "UNSIGNED-PAYLOAD ",
        "streaming-unsigned-payload-trailer",
        HASH.upper(),  # SigV4 hashes are lower-case hex; upper case went unverified once
    ],
)
def test_payload_mode_refuses(value: str) -> None:
    with pytest.raises(InvalidArgument, match="must be UNSIGNED-PAYLOAD"):
        payload_mode(value)


def test_verifier_accepts_the_right_body() -> None:
    verifier = PayloadVerifier(HASH)
    for chunk in BODY:
        verifier.update(chunk)
    verifier.finish()
    assert verifier.length == 11


@pytest.mark.parametrize("body", [[b"hello world!"], [b"hello"], [], [b"hello", b"World"]])
def test_verifier_refuses_another_body(body: list[bytes]) -> None:
    verifier = PayloadVerifier(HASH)
    for chunk in body:
        verifier.update(chunk)
    with pytest.raises(XAmzContentSHA256Mismatch):
        verifier.finish()


def test_verifier_needs_a_hash() -> None:
    with pytest.raises(InvalidArgument):
        PayloadVerifier("UNSIGNED-PAYLOAD")


async def _stream(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def _collect(chunks: list[bytes], expected: str) -> list[bytes]:
    return [chunk async for chunk in verify_payload(_stream(chunks), expected)]


def test_verify_payload_passes_chunks_through() -> None:
    assert asyncio.run(_collect(BODY, HASH)) == BODY


def test_verify_payload_raises_at_the_end() -> None:
    with pytest.raises(XAmzContentSHA256Mismatch):
        asyncio.run(_collect([b"tampered"], HASH))
