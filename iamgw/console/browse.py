"""The object browser: buckets, objects by prefix, upload, download, delete.

The page holds no data of its own: `static/browse.js` asks `POST /iamgw/api/presign` for
a presigned URL of one S3 operation and calls it itself, same origin, so every call
takes the gateway's S3 path with the session's credentials: authenticated, decided by
the same policies, audited and limited as any S3 client's. The console only signs
what a fixed list of operations needs, for the Host the browser uses, for five minutes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from iamgw.errors import AWSError
from iamgw.gateway import gateway_of
from iamgw.s3 import bucket_name, object_key
from iamgw.sigv4 import Credentials

from .forms import json_body
from .home import context
from .pages import render
from .presign import object_path, presign
from .signed import Signed, csrf_ok

EXPIRES = 300  # seconds a presigned URL of the browser lives: long enough for one call
CSRF_HEADER = "x-iamgw-csrf"
MAX_REQUEST_BYTES = 16 * 1024  # {operation, bucket, key, params}: a key is 1 KiB at most
MAX_PREFIX_BYTES = 1024  # S3's key limit: a longer prefix matches nothing
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MAX_KEYS = re.compile(r"[1-9][0-9]{0,3}")
_NO_STORE = {"cache-control": "no-store"}


@dataclass(frozen=True)
class Operation:
    """An S3 operation the browser may have presigned: method, IAM action, what it names
    (the service, a bucket or an object), its fixed and its allowed query parameters."""

    method: str
    action: str
    target: str  # "service", "bucket" or "object"
    allowed: tuple[str, ...] = ()
    fixed: tuple[tuple[str, str], ...] = ()


OPERATIONS = {
    "ListBuckets": Operation("GET", "s3:ListAllMyBuckets", "service"),
    "ListObjectsV2": Operation(
        "GET",
        "s3:ListBucket",
        "bucket",
        ("prefix", "delimiter", "continuation-token", "start-after", "max-keys"),
        (("list-type", "2"),),
    ),
    "GetObject": Operation("GET", "s3:GetObject", "object", ("response-content-disposition",)),
    "HeadObject": Operation("HEAD", "s3:GetObject", "object"),
    "PutObject": Operation("PUT", "s3:PutObject", "object"),
    "DeleteObject": Operation("DELETE", "s3:DeleteObject", "object"),
}


class Refused(Exception):
    """A presign request the console will not sign: why, in words."""

    code = "InvalidRequest"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def page(request: Request, signed: Signed) -> Response:
    """`/iamgw/browse[?bucket=B[&prefix=P][&token=T]]`: the buckets, or one bucket's
    objects under a prefix; the listing itself is made by browse.js."""
    bucket = request.query_params.get("bucket", "")
    prefix = request.query_params.get("prefix", "")
    token = request.query_params.get("token", "")
    error = ""
    try:
        if bucket:
            bucket_name(bucket)
        _prefix(prefix)
        _printable("continuation-token", token)
    except (AWSError, Refused) as exc:
        error, bucket, prefix, token = _message(exc), "", "", ""
    return render(
        request,
        "browse.html",
        400 if error else 200,
        **await context(request, signed),
        bucket=bucket,
        prefix=prefix,
        token=token,
        crumbs=_crumbs(bucket, prefix),
        browse_error=error,
    )


def _crumbs(bucket: str, prefix: str) -> list[tuple[str, str]]:
    """(label, link) from the bucket list down to the prefix's last folder."""
    if not bucket:
        return [("Buckets", "/iamgw/browse")]
    crumbs = [("Buckets", "/iamgw/browse"), (bucket, _link(bucket, ""))]
    walked = ""
    for segment in prefix.split("/")[:-1]:
        walked += segment + "/"
        crumbs.append((segment + "/", _link(bucket, walked)))
    return crumbs


def _link(bucket: str, prefix: str) -> str:
    query = {"bucket": bucket, **({"prefix": prefix} if prefix else {})}
    return "/iamgw/browse?" + urlencode(query, quote_via=quote)


async def presign_call(request: Request, signed: Signed) -> Response:
    """`POST /iamgw/api/presign` {operation, bucket, key, params}: {url, method, action,
    resource, expires} of one allowed S3 operation, for this session and this Host."""
    if not csrf_ok(request, signed, request.headers.get(CSRF_HEADER)):
        message = "This request did not come from the console's own page."
        return _refusal("Forbidden", message, 403)
    try:
        asked = await json_body(request, MAX_REQUEST_BYTES)
        if not isinstance(asked, dict):
            raise Refused("The request is a JSON object: {operation, bucket, key, params}.")
        answer = _presigned(request, signed, asked)
    except (AWSError, Refused) as exc:  # a key the S3 path refuses: its own code and words
        return _refusal(exc.code, exc.message, exc.status)
    return JSONResponse(answer, headers=_NO_STORE)


def _presigned(request: Request, signed: Signed, asked: dict[str, Any]) -> dict[str, Any]:
    name = asked.get("operation")
    operation = OPERATIONS.get(name) if isinstance(name, str) else None
    if operation is None:
        raise Refused(
            f"The console does not sign that operation; it signs {', '.join(OPERATIONS)}."
        )
    bucket, key = _target(operation, asked.get("bucket"), asked.get("key"))
    params = _params(operation, asked.get("params"), key)
    host = request.headers.get("host", "")
    if not host:
        raise Refused("The request has no Host header to sign for.")
    settings = gateway_of(request).settings
    public = settings.server.public_host
    if public and host.split(":")[0].lower().endswith("." + public):
        # The S3 path would read this host as a virtual-host bucket, not our path's.
        raise Refused(f"Open the console at {public}, not at a bucket's host name.")
    identity = signed.identity
    credentials = Credentials(identity.access_key, identity.secret_key, signed.session.token)
    url = presign(
        operation.method,
        object_path(bucket, key),
        params,
        credentials,
        host=host,
        region=settings.server.region,
        now=datetime.now(UTC),
        expires=EXPIRES,
    )
    resource = "/".join(p for p in (bucket, key) if p) or "*"
    return {
        "url": url,
        "method": operation.method,
        "action": operation.action,
        "resource": resource,
        "expires": EXPIRES,
    }


def _target(operation: Operation, bucket: Any, key: Any) -> tuple[str | None, str | None]:
    """The bucket and key the operation names, checked with the S3 path's own rules."""
    if operation.target == "service":
        if bucket or key:
            raise Refused("ListBuckets names no bucket and no key.")
        return None, None
    if not isinstance(bucket, str) or not bucket:
        raise Refused("A bucket name is required.")
    bucket_name(bucket)
    if operation.target == "bucket":
        if key:
            raise Refused("This operation names a bucket, not a key.")
        return bucket, None
    if not isinstance(key, str) or not key:
        raise Refused("An object key is required.")
    return bucket, object_key(key)


def _params(operation: Operation, given: Any, key: str | None) -> list[tuple[str, str]]:
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise Refused("params must be an object of strings.")
    unknown = sorted(str(n) for n in given if n not in operation.allowed)
    if unknown:
        raise Refused(f"The parameter {unknown[0][:64]!r} is not signed for this operation.")
    params = list(operation.fixed)
    for name in operation.allowed:
        value = given.get(name)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise Refused(f"The parameter {name} must be a string.")
        params.append((name, _param(name, value, key)))
    return params


def _param(name: str, value: str, key: str | None) -> str:
    if name == "delimiter" and value != "/":
        raise Refused("The delimiter is '/'.")
    if name == "max-keys" and not (_MAX_KEYS.fullmatch(value) and int(value) <= 1000):
        raise Refused("max-keys is a number from 1 to 1000.")
    if name in ("prefix", "start-after"):
        _prefix(value)
    if name == "continuation-token":
        _printable(name, value)
    if name == "response-content-disposition":
        if value not in ("attachment", "inline"):
            raise Refused("response-content-disposition is 'attachment' or 'inline'.")
        return _disposition(value, key or "")
    return value


def _prefix(prefix: str) -> None:
    if len(prefix.encode("utf-8")) > MAX_PREFIX_BYTES or _CONTROL.search(prefix):
        raise Refused("A prefix has at most 1,024 bytes and no control character.")


def _printable(name: str, value: str) -> None:
    if len(value) > 4096 or _CONTROL.search(value):
        raise Refused(f"The {name} is not one S3 gave.")


def _disposition(kind: str, key: str) -> str:
    """RFC 6266: the key's last segment as the file name, ASCII and UTF-8 (RFC 8187)."""
    filename = key.rstrip("/").rsplit("/", 1)[-1] or "download"
    fallback = "".join(c if c.isascii() and c not in '"\\' else "_" for c in filename)
    utf8 = quote(filename.encode("utf-8"), safe="")
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{utf8}"


def _message(exc: AWSError | Refused) -> str:
    return f"{exc.code}: {exc.message}" if isinstance(exc, AWSError) else exc.message


def _refusal(code: str, message: str, status: int) -> Response:
    # The shape of the console's other JSON errors (iamgw.console.handle).
    return JSONResponse({"error": code, "message": message}, status, headers=_NO_STORE)


ROUTES = {("GET", "/iamgw/browse"): page, ("POST", "/iamgw/api/presign"): presign_call}
NAV = [("Objects", "/iamgw/browse")]
