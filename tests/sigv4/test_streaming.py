"""aws-chunked bodies, written from the spec (and by botocore for unsigned trailers)."""

from __future__ import annotations

import base64
import hashlib
import io

import pytest
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum, Sha256Checksum

from iamgw.errors import IncompleteBody, InvalidArgument, InvalidDigest, SignatureDoesNotMatch
from iamgw.sigv4 import BadDigest, ChunkedDecoder, SigningContext, parse_auth, verify
from tests.sigv4.sigv4_helpers import (
    ENDPOINT,
    NOW,
    REGION,
    SK,
    boto_sign,
    chunk_signatures,
    crc32_b64,
    encode_chunked,
    trailer_signature,
)

PAYLOAD = bytes(range(256)) * 700  # 179200 bytes
CHUNKS = [PAYLOAD[:65536], PAYLOAD[65536:131072], PAYLOAD[131072:], b""]
SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"


def _context(mode: str, length: int = len(PAYLOAD), trailer: str | None = None) -> SigningContext:
    headers = {
        "X-Amz-Content-SHA256": mode,
        "X-Amz-Decoded-Content-Length": str(length),
        "Content-Encoding": "aws-chunked",
    }
    if trailer:
        headers["X-Amz-Trailer"] = trailer
    signed = boto_sign("PUT", ENDPOINT + "/bucket/key", headers=headers, generic=True)
    auth = parse_auth(*signed.args())
    assert auth is not None and auth.payload_hash == mode
    return verify(auth, SK, *signed.args(), now=NOW, region=REGION)


def _sigs(ctx: SigningContext, chunks: list[bytes] = CHUNKS) -> list[str]:
    return chunk_signatures(
        ctx.signing_key, ctx.amz_date_str, ctx.scope, ctx.seed_signature, chunks
    )


def _decode(decoder: ChunkedDecoder, body: bytes, step: int | None = None) -> bytes:
    step = step or len(body)
    out = bytearray()
    for i in range(0, len(body), step):
        for piece in decoder.feed(body[i : i + step]):
            out += piece
    decoder.finish()
    return bytes(out)


@pytest.mark.parametrize("step", [1, 2, 3, 7, 64, 1000, 65537, None])
def test_signed_body_any_split(step: int | None) -> None:
    ctx = _context(SIGNED)
    body = encode_chunked(CHUNKS, _sigs(ctx))
    decoder = ChunkedDecoder(ctx, signed=True, trailer=False, decoded_length=len(PAYLOAD))
    if step == 1:  # byte by byte over the whole body is slow in CI: use a small payload
        small = [b"hello ", b"world", b""]
        body = encode_chunked(small, _sigs(ctx, small))
        decoder = ChunkedDecoder(ctx, signed=True, trailer=False, decoded_length=11)
        assert _decode(decoder, body, 1) == b"hello world"
        return
    assert _decode(decoder, body, step) == PAYLOAD


def test_chunk_is_released_only_once_verified() -> None:
    ctx = _context(SIGNED)
    body = encode_chunked(CHUNKS, _sigs(ctx))
    decoder = ChunkedDecoder(ctx, signed=True, trailer=False, decoded_length=len(PAYLOAD))
    first_end = body.index(b"\r\n") + 2 + 65536
    assert decoder.feed(body[:first_end]) == []
    assert decoder.feed(body[first_end : first_end + 2]) == [PAYLOAD[:65536]]


def test_missing_final_crlf_is_tolerated() -> None:
    ctx = _context(SIGNED)
    body = encode_chunked(CHUNKS, _sigs(ctx))
    decoder = ChunkedDecoder(ctx, signed=True, trailer=False, decoded_length=len(PAYLOAD))
    assert _decode(decoder, body[:-2]) == PAYLOAD


def _signed_decoder(ctx: SigningContext, length: int = len(PAYLOAD)) -> ChunkedDecoder:
    return ChunkedDecoder(ctx, signed=True, trailer=False, decoded_length=length)


def test_tampered_chunk() -> None:
    ctx = _context(SIGNED)
    body = bytearray(encode_chunked(CHUNKS, _sigs(ctx)))
    body[70000] ^= 1
    with pytest.raises(SignatureDoesNotMatch):
        _decode(_signed_decoder(ctx), bytes(body))


def test_tampered_chunk_signature() -> None:
    ctx = _context(SIGNED)
    sigs = _sigs(ctx)
    sigs[1] = sigs[1][:-1] + ("0" if sigs[1][-1] != "0" else "1")
    with pytest.raises(SignatureDoesNotMatch):
        _decode(_signed_decoder(ctx), encode_chunked(CHUNKS, sigs))


def test_reordered_chunks() -> None:
    ctx = _context(SIGNED)
    sigs = _sigs(ctx)
    order = [1, 0, 2, 3]
    body = encode_chunked([CHUNKS[i] for i in order], [sigs[i] for i in order])
    with pytest.raises(SignatureDoesNotMatch):
        _decode(_signed_decoder(ctx), body)


def test_chunks_signed_for_another_request() -> None:
    ctx = _context(SIGNED)
    other = _context(SIGNED, length=len(PAYLOAD) + 0)
    forged = SigningContext(other.signing_key, "f" * 64, other.amz_date_str, other.scope)
    with pytest.raises(SignatureDoesNotMatch):
        _decode(_signed_decoder(ctx), encode_chunked(CHUNKS, _sigs(forged)))


def test_final_chunk_signature_is_checked() -> None:
    ctx = _context(SIGNED)
    sigs = _sigs(ctx)
    sigs[-1] = "0" * 64
    decoder = _signed_decoder(ctx)
    with pytest.raises(SignatureDoesNotMatch):
        _decode(decoder, encode_chunked(CHUNKS, sigs))


def test_dropped_final_chunk() -> None:
    ctx = _context(SIGNED)
    body = encode_chunked(CHUNKS, _sigs(ctx))
    cut = body.rindex(b"0;chunk-signature=")
    with pytest.raises(IncompleteBody):
        _decode(_signed_decoder(ctx), body[:cut])


@pytest.mark.parametrize("cut", [1, 50, 100, 70000, 140000])
def test_truncated_stream(cut: int) -> None:
    ctx = _context(SIGNED)
    body = encode_chunked(CHUNKS, _sigs(ctx))
    with pytest.raises(IncompleteBody):
        _decode(_signed_decoder(ctx), body[:cut])


@pytest.mark.parametrize("declared", [len(PAYLOAD) - 1, len(PAYLOAD) + 1, 0])
def test_wrong_decoded_length(declared: int) -> None:
    ctx = _context(SIGNED, length=declared)
    body = encode_chunked(CHUNKS, _sigs(ctx))
    with pytest.raises(IncompleteBody):
        _decode(_signed_decoder(ctx, declared), body)


@pytest.mark.parametrize(
    "header",
    [
        b"zz;chunk-signature=" + b"a" * 64,
        b"10",
        b"10;chunk-signature=" + b"A" * 64,
        b"10;chunk-signature=" + b"a" * 63,
        b"1000001;chunk-signature=" + b"a" * 64,  # over 16 MiB: refused before buffering
        b"x" * 5000,
    ],
)
def test_malformed_chunk_header(header: bytes) -> None:
    ctx = _context(SIGNED)
    with pytest.raises(InvalidArgument):
        _signed_decoder(ctx).feed(header + b"\r\n")


def test_chunk_longer_than_its_size() -> None:
    ctx = _context(SIGNED)
    sigs = _sigs(ctx, [b"abc", b""])
    body = f"2;chunk-signature={sigs[0]}\r\nabc\r\n".encode()
    with pytest.raises(InvalidArgument):
        _signed_decoder(ctx, 3).feed(body)


def test_data_after_the_end() -> None:
    ctx = _context(SIGNED)
    decoder = _signed_decoder(ctx)
    with pytest.raises(InvalidArgument):
        decoder.feed(encode_chunked(CHUNKS, _sigs(ctx)) + b"more")


def test_signed_needs_a_context() -> None:
    with pytest.raises(ValueError, match="SigningContext"):
        ChunkedDecoder(None, signed=True, trailer=False, decoded_length=None)


# --- signed trailers ---------------------------------------------------------------------


def _trailer_body(
    ctx: SigningContext,
    name: str = "x-amz-checksum-crc32",
    value: str | None = None,
    bad_sig: bool = False,
) -> bytes:
    value = value if value is not None else crc32_b64(PAYLOAD)
    sigs = _sigs(ctx)
    lines = f"{name}:{value}\n"
    tsig = trailer_signature(ctx.signing_key, ctx.amz_date_str, ctx.scope, sigs[-1], lines)
    if bad_sig:
        tsig = "0" * 64
    return encode_chunked(CHUNKS, sigs, [(name, value)], tsig)


def _trailer_decoder(ctx: SigningContext, declared: str | None = None) -> ChunkedDecoder:
    return ChunkedDecoder(
        ctx, signed=True, trailer=True, decoded_length=len(PAYLOAD), trailer_header=declared
    )


@pytest.mark.parametrize("declared", [None, "x-amz-checksum-crc32"])
@pytest.mark.parametrize("step", [3, 4096, None])
def test_signed_trailer(declared: str | None, step: int | None) -> None:
    ctx = _context(SIGNED_TRAILER, trailer="x-amz-checksum-crc32")
    decoder = _trailer_decoder(ctx, declared)
    body = _trailer_body(ctx)
    if step == 3:
        body, decoder = _small_trailer(ctx)
        assert _decode(decoder, body, 3) == b"hello world"
        return
    assert _decode(decoder, body, step) == PAYLOAD
    assert decoder.trailers == {"x-amz-checksum-crc32": crc32_b64(PAYLOAD)}


def _small_trailer(ctx: SigningContext) -> tuple[bytes, ChunkedDecoder]:
    chunks = [b"hello world", b""]
    sigs = _sigs(ctx, chunks)
    value = crc32_b64(b"hello world")
    lines = f"x-amz-checksum-crc32:{value}\n"
    tsig = trailer_signature(ctx.signing_key, ctx.amz_date_str, ctx.scope, sigs[-1], lines)
    body = encode_chunked(chunks, sigs, [("x-amz-checksum-crc32", value)], tsig)
    return body, ChunkedDecoder(ctx, signed=True, trailer=True, decoded_length=11)


@pytest.mark.parametrize(
    ("name", "digest"),
    [
        ("x-amz-checksum-sha256", hashlib.sha256(PAYLOAD).digest()),
        ("x-amz-checksum-sha1", hashlib.sha1(PAYLOAD).digest()),  # noqa: S324
    ],
)
def test_signed_trailer_sha(name: str, digest: bytes) -> None:
    ctx = _context(SIGNED_TRAILER, trailer=name)
    body = _trailer_body(ctx, name, base64.b64encode(digest).decode())
    assert _decode(_trailer_decoder(ctx, name), body) == PAYLOAD


@pytest.mark.parametrize("name", ["x-amz-checksum-crc32c", "x-amz-checksum-crc64nvme"])
def test_crc32c_and_crc64nvme_are_accepted_unverified(name: str) -> None:
    ctx = _context(SIGNED_TRAILER, trailer=name)
    body = _trailer_body(ctx, name, "AAAAAA==")
    decoder = _trailer_decoder(ctx, name)
    assert _decode(decoder, body) == PAYLOAD
    assert decoder.trailers == {name: "AAAAAA=="}


def test_bad_trailer_signature() -> None:
    ctx = _context(SIGNED_TRAILER)
    with pytest.raises(SignatureDoesNotMatch):
        _decode(_trailer_decoder(ctx), _trailer_body(ctx, bad_sig=True))


def test_trailer_value_changed_after_signing() -> None:
    ctx = _context(SIGNED_TRAILER)
    body = _trailer_body(ctx).replace(crc32_b64(PAYLOAD).encode(), b"AAAAAA==")
    with pytest.raises(SignatureDoesNotMatch):
        _decode(_trailer_decoder(ctx), body)


def test_missing_trailer_signature() -> None:
    ctx = _context(SIGNED_TRAILER)
    body = encode_chunked(CHUNKS, _sigs(ctx), [("x-amz-checksum-crc32", crc32_b64(PAYLOAD))])
    with pytest.raises(SignatureDoesNotMatch):
        _decode(_trailer_decoder(ctx), body)


def test_bad_checksum_correctly_signed() -> None:
    ctx = _context(SIGNED_TRAILER)
    with pytest.raises(BadDigest):
        _decode(_trailer_decoder(ctx), _trailer_body(ctx, value=crc32_b64(b"other")))


def test_checksum_not_base64() -> None:
    ctx = _context(SIGNED_TRAILER)
    with pytest.raises(InvalidDigest):
        _decode(_trailer_decoder(ctx), _trailer_body(ctx, value="!!notbase64"))


def test_declared_trailer_must_arrive() -> None:
    ctx = _context(SIGNED_TRAILER)
    with pytest.raises(InvalidArgument, match="x-amz-checksum-sha256"):
        _decode(_trailer_decoder(ctx, "x-amz-checksum-sha256"), _trailer_body(ctx))


def test_trailer_cut_off() -> None:
    ctx = _context(SIGNED_TRAILER)
    body = _trailer_body(ctx)
    cut = body.index(b"x-amz-checksum-crc32")
    with pytest.raises(IncompleteBody):
        _decode(_trailer_decoder(ctx), body[:cut])


def test_trailer_without_trailer_mode() -> None:
    ctx = _context(SIGNED)
    with pytest.raises(InvalidArgument):
        _decode(_signed_decoder(ctx), _trailer_body(ctx))


# --- unsigned trailers (botocore's AwsChunkedWrapper) ------------------------------------


@pytest.mark.parametrize(
    ("cls", "name", "chunk_size"),
    [
        (Crc32Checksum, "x-amz-checksum-crc32", 65536),
        (Sha256Checksum, "x-amz-checksum-sha256", 1000),
        (Crc32Checksum, "x-amz-checksum-crc32", 10**7),
    ],
)
def test_unsigned_trailer_from_botocore(cls, name: str, chunk_size: int) -> None:  # type: ignore[no-untyped-def]
    wrapper = AwsChunkedWrapper(
        io.BytesIO(PAYLOAD), checksum_cls=cls, checksum_name=name, chunk_size=chunk_size
    )
    body = wrapper.read()
    decoder = ChunkedDecoder.from_headers(
        None,
        {
            "x-amz-content-sha256": UNSIGNED_TRAILER,
            "x-amz-decoded-content-length": str(len(PAYLOAD)),
            "x-amz-trailer": name,
        },
    )
    assert _decode(decoder, body, 4093) == PAYLOAD
    assert name in decoder.finish()


def test_unsigned_trailer_bad_checksum() -> None:
    body = encode_chunked([PAYLOAD, b""], None, [("x-amz-checksum-crc32", crc32_b64(b"x"))])
    decoder = ChunkedDecoder(None, signed=False, trailer=True, decoded_length=len(PAYLOAD))
    with pytest.raises(BadDigest):
        _decode(decoder, body)


def test_unsigned_trailer_refuses_a_signature_line() -> None:
    body = encode_chunked(
        [PAYLOAD, b""], None, [("x-amz-checksum-crc32", crc32_b64(PAYLOAD))], "a" * 64
    )
    decoder = ChunkedDecoder(None, signed=False, trailer=True, decoded_length=len(PAYLOAD))
    with pytest.raises(InvalidArgument):
        _decode(decoder, body)


def test_from_headers_refuses_plain_payloads() -> None:
    with pytest.raises(InvalidArgument):
        ChunkedDecoder.from_headers(None, {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})


def test_from_headers_signed() -> None:
    ctx = _context(SIGNED)
    decoder = ChunkedDecoder.from_headers(
        ctx,
        {"x-amz-content-sha256": SIGNED, "x-amz-decoded-content-length": str(len(PAYLOAD))},
    )
    assert _decode(decoder, encode_chunked(CHUNKS, _sigs(ctx))) == PAYLOAD


def test_signed_trailer_without_final_crlf() -> None:
    ctx = _context(SIGNED_TRAILER)
    decoder = _trailer_decoder(ctx)
    assert _decode(decoder, _trailer_body(ctx)[:-2]) == PAYLOAD


def test_bad_trailer_signature_without_final_crlf() -> None:
    ctx = _context(SIGNED_TRAILER)
    with pytest.raises(SignatureDoesNotMatch):
        _decode(_trailer_decoder(ctx), _trailer_body(ctx, bad_sig=True)[:-2])
