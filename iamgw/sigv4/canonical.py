"""The canonical request and the string to sign (SigV4, "Create a canonical request").

S3 differs from the other services in one place: its canonical URI is the
path URI-encoded once and never normalised (no removal of `.`/`..` segments
or of `//`). Other services (STS, IAM) normalise the path and encode it twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from urllib.parse import quote, unquote_to_bytes

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

# RFC 3986 unreserved characters; everything else is percent-encoded (upper-case hex).
_UNRESERVED = "-_.~"


def _to_bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def canonical_uri(raw_path: str, service: str = "s3") -> str:
    """The canonical URI of `raw_path` (the path as sent, percent-encoded).

    S3: every segment is percent-decoded and re-encoded once with the RFC 3986
    unreserved set and '/' kept, so a client that encoded its key once (as
    botocore, the AWS SDKs and minio-go do) gets its own path back unchanged.
    Other services: dot segments and empty segments removed, then encoded again
    (botocore's `SigV4Auth._normalize_url_path`).
    """
    if service != "s3":
        return quote(_remove_dot_segments(raw_path or "/"), safe="/~")
    if not raw_path:
        return "/"
    # SigV4 for S3: no normalisation; '%2F' decodes to '/' like the key it names.
    return quote(unquote_to_bytes(raw_path), safe="/" + _UNRESERVED)


def canonical_uri_as_sent(raw_path: str) -> str:
    """The raw path used verbatim, as botocore's S3 signer does for any URL it is given."""
    return raw_path or "/"


def _remove_dot_segments(path: str) -> str:
    # RFC 3986 5.2.4, plus AWS's removal of empty segments (botocore.utils.remove_dot_segments)
    out: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if out:
                out.pop()
        else:
            out.append(segment)
    first = "/" if path.startswith("/") else ""
    last = "/" if path.endswith("/") and out else ""
    return first + "/".join(out) + last


def split_query(raw_query: str) -> list[tuple[str, str]]:
    """Raw `name=value` pairs in order; a name without '=' has the value ''."""
    pairs = []
    for part in raw_query.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((name, value))
    return pairs


def _encode_component(raw: str) -> str:
    # Form semantics as in the HTTP layer: '+' is a space, then percent-decoding.
    return quote(unquote_to_bytes(raw.replace("+", " ")), safe=_UNRESERVED)


def canonical_query(raw_query: str, *, exclude: Iterable[str] = ()) -> str:
    """Each name and value decoded, re-encoded per RFC 3986 (space -> %20),
    sorted by name then value, joined with '&'; names in `exclude` (decoded) left out."""
    excluded = set(exclude)
    pairs = []
    for name, value in split_query(raw_query):
        encoded_name = _encode_component(name)
        if (
            excluded
            and unquote_to_bytes(name.replace("+", " ")).decode("utf-8", "replace") in excluded
        ):
            continue
        pairs.append((encoded_name, _encode_component(value)))
    return "&".join(f"{n}={v}" for n, v in sorted(pairs))


def canonical_query_as_sent(raw_query: str, *, exclude: Iterable[str] = ()) -> str:
    """The raw pairs sorted but not re-encoded (botocore's `_canonical_query_string_url`)."""
    excluded = set(exclude)
    pairs = [(n, v) for n, v in split_query(raw_query) if n not in excluded]
    return "&".join(f"{n}={v}" for n, v in sorted(pairs))


def canonical_header_value(value: str) -> str:
    # SigV4: Trimall - strip, and collapse sequential whitespace to one space
    return " ".join(value.split())


def canonical_headers(headers: Mapping[str, str], signed_headers: Iterable[str]) -> str:
    """`name:value\\n` for each signed header, in the order given (lower-case names);
    a signed header missing from `headers` canonicalises to the empty value."""
    return "".join(
        f"{name}:{canonical_header_value(headers.get(name, ''))}\n" for name in signed_headers
    )


def canonical_request(
    method: str,
    uri: str,
    query: str,
    headers: Mapping[str, str],
    signed_headers: Iterable[str],
    payload_hash: str,
) -> str:
    """The canonical request from an already canonical URI and query."""
    names = list(signed_headers)
    return "\n".join(
        [
            method.upper(),
            uri,
            query,
            canonical_headers(headers, names),
            ";".join(names),
            payload_hash,
        ]
    )


def credential_scope(date: str, region: str, service: str) -> str:
    return f"{date}/{region}/{service}/{TERMINATOR}"


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8", "surrogateescape")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"
