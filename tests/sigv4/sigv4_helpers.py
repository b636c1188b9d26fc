"""Requests signed by botocore, in the shape the S3 layer hands to iamgw.sigv4."""

from __future__ import annotations

import base64
import hashlib
import hmac
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from unittest import mock
from urllib.parse import urlsplit

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

NOW = datetime(2026, 11, 27, 6, 0, 0, tzinfo=UTC)
AMZ_NOW = NOW.strftime("%Y%m%dT%H%M%SZ")
AK = "AKIDEXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
ENDPOINT = "http://127.0.0.1:9000"


@dataclass
class Signed:
    method: str
    raw_path: str
    raw_query: str
    headers: dict[str, str]
    canonical: str = ""
    string_to_sign: str = ""
    body: bytes = b""
    extra: dict[str, str] = field(default_factory=dict)

    def args(self) -> tuple[str, str, str, dict[str, str]]:
        return self.method, self.raw_path, self.raw_query, self.headers


def boto_sign(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    presign: bool = False,
    expires: int = 3600,
    token: str | None = None,
    service: str = "s3",
    now: datetime = NOW,
    region: str = REGION,
    secret: str = SK,
    generic: bool = False,
) -> Signed:
    """Sign with botocore's own signer and capture its canonical request and string to sign.

    `generic` uses SigV4Auth, which keeps a given X-Amz-Content-SHA256 (STREAMING-*)."""
    creds = Credentials(AK, secret, token)
    auth: SigV4Auth
    if presign:
        auth = S3SigV4QueryAuth(creds, service, region, expires=expires)
    elif service == "s3" and not generic:
        auth = S3SigV4Auth(creds, service, region)
    else:
        auth = SigV4Auth(creds, service, region)
    request = AWSRequest(method=method, url=url, headers=dict(headers or {}), data=body)
    captured: dict[str, str] = {}
    original = auth.string_to_sign

    def capture(req: AWSRequest, canonical: str) -> str:
        captured["canonical"] = canonical
        captured["sts"] = original(req, canonical)
        return captured["sts"]

    auth.string_to_sign = capture  # type: ignore[method-assign]
    with mock.patch("botocore.auth.get_current_datetime", return_value=now.replace(tzinfo=None)):
        auth.add_auth(request)
    parts = urlsplit(request.url)
    wire = {k.lower(): v for k, v in request.headers.items()}
    wire.setdefault("host", parts.netloc)
    return Signed(
        method, parts.path, parts.query, wire, captured["canonical"], captured["sts"], body
    )


# --- aws-chunked bodies, written from the spec (sigv4-streaming.html) ----------------------


def hmac_hex(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def chunk_signatures(
    key: bytes, amz_date: str, scope: str, seed: str, chunks: list[bytes]
) -> list[str]:
    """The signature chain over `chunks` (the final empty chunk included by the caller)."""
    sigs, prev = [], seed
    for chunk in chunks:
        prev = hmac_hex(
            key,
            "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev, sha(b""), sha(chunk)]),
        )
        sigs.append(prev)
    return sigs


def trailer_signature(key: bytes, amz_date: str, scope: str, prev: str, lines: str) -> str:
    return hmac_hex(
        key, "\n".join(["AWS4-HMAC-SHA256-TRAILER", amz_date, scope, prev, sha(lines.encode())])
    )


def encode_chunked(
    chunks: list[bytes],
    sigs: list[str] | None,
    trailer: list[tuple[str, str]] | None = None,
    trailer_sig: str | None = None,
) -> bytes:
    """chunks must end with b"" (the final chunk); sigs aligned with chunks or None."""
    out = bytearray()
    for i, chunk in enumerate(chunks):
        ext = f";chunk-signature={sigs[i]}" if sigs is not None else ""
        out += f"{len(chunk):x}{ext}\r\n".encode()
        if chunk:
            out += chunk + b"\r\n"
    for name, value in trailer or []:
        out += f"{name}:{value}\r\n".encode()
    if trailer_sig is not None:
        out += f"x-amz-trailer-signature:{trailer_sig}\r\n".encode()
    out += b"\r\n"
    return bytes(out)
