"""AWS Signature Version 4 for S3: verification (header, presigned, aws-chunked) and signing.

Implements:

- https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html
  (header auth: https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-auth-using-authorization-header.html)
- https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html (presigned URLs)
- https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html (aws-chunked)
- https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html (trailers)
- https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html (canonical request)

Pure code: no I/O. Flow for a request: `parse_auth` (claims, no secret) -> look up the
secret -> `verify` (-> `SigningContext`) -> body: `PayloadVerifier` for a SHA-256 payload,
`ChunkedDecoder` for STREAMING-*. Upstream: `sign_request`.
"""

from iamgw.errors import BadDigest
from iamgw.sigv4.canonical import (
    EMPTY_SHA256,
    UNSIGNED_PAYLOAD,
    canonical_query,
    canonical_request,
    canonical_uri,
    credential_scope,
    string_to_sign,
)
from iamgw.sigv4.headers import Headers, header_map, length_value
from iamgw.sigv4.parse import PRESIGN_PARAMETERS, AuthInfo, parse_amz_date, parse_auth
from iamgw.sigv4.payload import (
    PayloadMode,
    PayloadVerifier,
    payload_mode,
    sha256_hex,
    verify_payload,
)
from iamgw.sigv4.signing import (
    Credentials,
    SigningContext,
    format_amz_date,
    sign_request,
    signing_key,
)
from iamgw.sigv4.streaming import ChunkedDecoder
from iamgw.sigv4.verify import MAX_EXPIRES, verify

__all__ = [
    "EMPTY_SHA256",
    "MAX_EXPIRES",
    "PRESIGN_PARAMETERS",
    "UNSIGNED_PAYLOAD",
    "AuthInfo",
    "BadDigest",
    "ChunkedDecoder",
    "Headers",
    "Credentials",
    "PayloadMode",
    "PayloadVerifier",
    "SigningContext",
    "canonical_query",
    "canonical_request",
    "canonical_uri",
    "credential_scope",
    "format_amz_date",
    "header_map",
    "length_value",
    "parse_amz_date",
    "parse_auth",
    "payload_mode",
    "sha256_hex",
    "sign_request",
    "signing_key",
    "string_to_sign",
    "verify",
    "verify_payload",
]
