"""aws-chunked bodies: STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER] and
STREAMING-UNSIGNED-PAYLOAD-TRAILER.

Signed chunk (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html):

    hex(size);chunk-signature=<sig>\\r\\n <size bytes> \\r\\n   ...   0;chunk-signature=<sig>\\r\\n
    [trailer lines "name:value\\r\\n", then "x-amz-trailer-signature:<sig>\\r\\n"]  \\r\\n

Each chunk's signature chains from the previous one (the seed is the request's):

    AWS4-HMAC-SHA256-PAYLOAD\\n<amz-date>\\n<scope>\\n<prev-sig>\\n<sha256("")>\\n<sha256(chunk)>

and the trailer's (sigv4-streaming-trailers.html) over the lines "name:value\\n":

    AWS4-HMAC-SHA256-TRAILER\\n<amz-date>\\n<scope>\\n<final-chunk-sig>\\n<sha256(trailers)>
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import zlib
from collections.abc import Mapping
from typing import Protocol

from iamgw.errors import (
    BadDigest,
    IncompleteBody,
    InvalidArgument,
    InvalidDigest,
    SignatureDoesNotMatch,
)
from iamgw.sigv4.canonical import EMPTY_SHA256
from iamgw.sigv4.headers import length_value
from iamgw.sigv4.payload import PayloadMode, payload_mode
from iamgw.sigv4.signing import SigningContext, signature

MAX_CHUNK_SIZE = 16 * 1024 * 1024  # a signed chunk is held until verified: bound it
MAX_LINE = 4096
MAX_TRAILER = 16 * 1024
TRAILER_SIGNATURE = "x-amz-trailer-signature"

_SIGNED_HEADER = re.compile(rb"([0-9a-fA-F]{1,8});chunk-signature=([0-9a-f]{64})")
_UNSIGNED_HEADER = re.compile(rb"([0-9a-fA-F]{1,8})")

_HEADER, _DATA, _DATA_END, _TRAILER, _DONE = range(5)


class _Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...
    def digest(self) -> bytes: ...


class _Crc32:
    def __init__(self) -> None:
        self.value = 0

    def update(self, data: bytes, /) -> None:
        self.value = zlib.crc32(data, self.value)

    def digest(self) -> bytes:
        return self.value.to_bytes(4, "big")


def _checksum(name: str) -> _Hasher | None:
    if name == "x-amz-checksum-crc32":
        return _Crc32()
    if name == "x-amz-checksum-sha1":
        return hashlib.sha1()  # noqa: S324 - the algorithm the client chose, not a security use
    if name == "x-amz-checksum-sha256":
        return hashlib.sha256()
    # x-amz-checksum-crc32c and -crc64nvme are accepted unverified: the standard library
    # has neither and a pure-Python CRC would cost more than the whole proxy. The chunk
    # signatures (signed modes) still protect the body.
    return None


class ChunkedDecoder:
    """Incremental decoder of an aws-chunked body: `feed` any split of the bytes,
    forward what it returns (signed chunks only once verified), then `finish`.

    Unsigned chunks (STREAMING-UNSIGNED-PAYLOAD-TRAILER) are released as they come and
    their checksum is known only at `finish`: on an error there, abort the upstream request.
    """

    def __init__(
        self,
        ctx: SigningContext | None,
        *,
        signed: bool,
        trailer: bool,
        decoded_length: int | None,
        trailer_header: str | None = None,
    ) -> None:
        if signed and ctx is None:
            raise ValueError("a signed aws-chunked body needs the request's SigningContext")
        self.ctx = ctx
        self.signed = signed
        self.trailer = trailer
        self.decoded_length = decoded_length
        self.decoded = 0
        self._state = _HEADER
        self._line = bytearray()
        self._need = 0
        self._final = False
        self._prev = ctx.seed_signature if ctx else ""
        self._chunk_sig = ""
        self._chunk_hash = hashlib.sha256()
        self._pending: list[bytes] = []
        self._trailer_lines: list[tuple[str, str]] = []
        self._trailer_size = 0
        self.trailers: dict[str, str] = {}
        # x-amz-trailer names the checksum to come; without it compute every one we can.
        self._declared = trailer_header.strip().lower() if trailer_header else None
        names = (
            [self._declared]
            if self._declared
            else ["x-amz-checksum-crc32", "x-amz-checksum-sha1", "x-amz-checksum-sha256"]
        )
        self._checksums: dict[str, _Hasher] = {}
        if trailer:
            for name in names:
                hasher = _checksum(name)
                if hasher is not None:
                    self._checksums[name] = hasher

    @classmethod
    def from_headers(cls, ctx: SigningContext | None, headers: Mapping[str, str]) -> ChunkedDecoder:
        """A decoder for the request's x-amz-content-sha256 (a STREAMING-* value),
        x-amz-decoded-content-length and x-amz-trailer (lower-case header names)."""
        mode = payload_mode(headers.get("x-amz-content-sha256", ""))
        if mode not in (
            PayloadMode.STREAMING_SIGNED,
            PayloadMode.STREAMING_SIGNED_TRAILER,
            PayloadMode.STREAMING_UNSIGNED_TRAILER,
        ):
            raise InvalidArgument("The request body is not aws-chunked.")
        length_text = headers.get("x-amz-decoded-content-length")
        length = length_value(length_text) if length_text is not None else None
        if length_text is not None and length is None:
            raise InvalidArgument("x-amz-decoded-content-length must be a number.")
        return cls(
            ctx,
            signed=mode is not PayloadMode.STREAMING_UNSIGNED_TRAILER,
            trailer=mode is not PayloadMode.STREAMING_SIGNED,
            decoded_length=length,
            trailer_header=headers.get("x-amz-trailer"),
        )

    # -- feeding ------------------------------------------------------------------------

    def feed(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        view = memoryview(data)
        pos = 0
        while pos < len(view):
            if self._state == _DATA:
                take = min(self._need, len(view) - pos)
                self._data(bytes(view[pos : pos + take]), out)
                pos += take
                self._need -= take
                if self._need == 0:
                    self._state = _DATA_END
                continue
            if self._state == _DONE:
                raise InvalidArgument("Unexpected data after the end of the aws-chunked body.")
            end = data.find(b"\n", pos)
            if end < 0:
                self._line += view[pos:]
                pos = len(view)
            else:
                self._line += view[pos : end + 1]
                pos = end + 1
            if len(self._line) > MAX_LINE:
                raise InvalidArgument("An aws-chunked line is too long.")
            if end >= 0:
                line = bytes(self._line)
                self._line.clear()
                if not line.endswith(b"\r\n"):
                    raise InvalidArgument("aws-chunked lines must end with CRLF.")
                self._on_line(line[:-2], out)
        return out

    def _data(self, piece: bytes, out: list[bytes]) -> None:
        self.decoded += len(piece)
        if self.decoded_length is not None and self.decoded > self.decoded_length:
            raise IncompleteBody("The body is longer than x-amz-decoded-content-length.")
        for hasher in self._checksums.values():
            hasher.update(piece)
        if self.signed:
            self._chunk_hash.update(piece)
            self._pending.append(piece)
        else:
            out.append(piece)

    def _on_line(self, line: bytes, out: list[bytes]) -> None:
        if self._state == _HEADER:
            self._on_chunk_header(line)
        elif self._state == _DATA_END:
            if line:
                raise InvalidArgument("An aws-chunked chunk is longer than its size.")
            self._end_chunk(out)
            self._state = _HEADER
        elif self._state == _TRAILER:
            if not line:
                self._end_trailer()
                self._state = _DONE
                return
            self._trailer_size += len(line)
            if self._trailer_size > MAX_TRAILER:
                raise InvalidArgument("The aws-chunked trailer is too long.")
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep or not name.strip():
                raise InvalidArgument("Malformed aws-chunked trailer line.")
            self._trailer_lines.append((name.strip().lower(), value.strip()))

    def _on_chunk_header(self, line: bytes) -> None:
        pattern = _SIGNED_HEADER if self.signed else _UNSIGNED_HEADER
        match = pattern.fullmatch(line)
        if match is None:
            raise InvalidArgument("Malformed aws-chunked chunk header.")
        size = int(match.group(1), 16)
        if size > MAX_CHUNK_SIZE:
            raise InvalidArgument("An aws-chunked chunk is larger than 16 MiB.")
        self._chunk_sig = match.group(2).decode() if self.signed else ""
        self._chunk_hash = hashlib.sha256()
        if size == 0:
            # The final chunk: its signature is verified now, then the trailer or CRLF.
            self._end_chunk([])
            self._final = True
            self._state = _TRAILER
        else:
            self._need = size
            self._state = _DATA

    def _end_chunk(self, out: list[bytes]) -> None:
        if self.signed:
            assert self.ctx is not None
            to_sign = "\n".join(
                [
                    "AWS4-HMAC-SHA256-PAYLOAD",
                    self.ctx.amz_date_str,
                    self.ctx.scope,
                    self._prev,
                    EMPTY_SHA256,
                    self._chunk_hash.hexdigest(),
                ]
            )
            expected = signature(self.ctx.signing_key, to_sign)
            if not hmac.compare_digest(expected, self._chunk_sig):
                raise SignatureDoesNotMatch()
            self._prev = self._chunk_sig
            out.extend(self._pending)
            self._pending = []

    def _end_trailer(self) -> None:
        lines = [(n, v) for n, v in self._trailer_lines if n != TRAILER_SIGNATURE]
        sigs = [v for n, v in self._trailer_lines if n == TRAILER_SIGNATURE]
        if not self.trailer:
            if self._trailer_lines:
                raise InvalidArgument("Trailing headers sent without a *-TRAILER payload.")
            return
        if not lines:
            raise IncompleteBody("The aws-chunked body ended without its trailing checksum.")
        if self.signed:
            assert self.ctx is not None
            if len(sigs) != 1:
                raise SignatureDoesNotMatch("The trailer has no x-amz-trailer-signature.")
            canonical = "".join(f"{n}:{v}\n" for n, v in lines).encode("latin-1")
            to_sign = "\n".join(
                [
                    "AWS4-HMAC-SHA256-TRAILER",
                    self.ctx.amz_date_str,
                    self.ctx.scope,
                    self._prev,
                    hashlib.sha256(canonical).hexdigest(),
                ]
            )
            expected = signature(self.ctx.signing_key, to_sign)
            if not hmac.compare_digest(expected, sigs[0]):
                raise SignatureDoesNotMatch()
        elif sigs:
            raise InvalidArgument("An unsigned trailer carries x-amz-trailer-signature.")
        self.trailers = dict(lines)
        if self._declared and self._declared not in self.trailers:
            raise InvalidArgument(f"The trailing header {self._declared} was not sent.")
        for name, value in self.trailers.items():
            hasher = self._checksums.get(name)
            if hasher is None:
                continue
            try:
                claimed = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise InvalidDigest(f"The value of {name} is not valid base64.") from None
            if not hmac.compare_digest(claimed, hasher.digest()):
                raise BadDigest(f"The {name} you specified did not match the calculated checksum.")

    def finish(self) -> dict[str, str]:
        """The trailing headers; IncompleteBody if the body stopped early or its decoded
        length is not x-amz-decoded-content-length."""
        if self._state == _TRAILER and not self._line:
            # Some clients leave out the final CRLF: the trailer (if any) is still verified.
            self._end_trailer()
            self._state = _DONE
        if self._state != _DONE:
            raise IncompleteBody("The aws-chunked body ended before its final chunk.")
        if self.decoded_length is not None and self.decoded != self.decoded_length:
            raise IncompleteBody(
                "The decoded body length does not match x-amz-decoded-content-length."
            )
        return dict(self.trailers)
