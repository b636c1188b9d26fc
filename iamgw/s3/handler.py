"""One S3 request, start to end: address, authenticate, classify, decide, forward.

The order is the contract of DESIGN.md §1 (`sigv4` -> `identity` ->
`s3.operations` -> `policy` -> `s3.proxy`): nothing reaches a storage node
before the signature is verified and the decision allows it, and the body is
not read (no `100 Continue` is sent) before that either.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from iamgw.errors import (
    AccessDenied,
    InvalidArgument,
    InvalidBucketName,
    InvalidRequest,
    NotImplementedS3,
)
from iamgw.gateway import gateway_of
from iamgw.identity import Access, Identity, authenticate, request_headers
from iamgw.ops import audit_fields, record_principal
from iamgw.s3 import bucket_ops, keys
from iamgw.s3.body import prepare as prepare_body
from iamgw.s3.body import read_whole
from iamgw.s3.context import header_actions, request_context
from iamgw.s3.operations import (
    FORWARDED,
    AmbiguousOperation,
    BadCopySource,
    BadParameter,
    S3Operation,
    UnknownOperation,
    UnsupportedParameter,
    classify,
    copy_source,
    object_arn,
)
from iamgw.sigv4 import PRESIGN_PARAMETERS, Headers

_PRESIGN_PARAMS = frozenset(p.lower() for p in PRESIGN_PARAMETERS)
_STREAMING = "STREAMING-"


def address(request: Request, public_host: str) -> tuple[str | None, str | None, str]:
    """(bucket, key, raw path) of a path-style or virtual-host-style request.

    The path is percent-decoded once as UTF-8 (the ARN names the key as stored).
    A key a storage node would read as another key (a leading `/`, `//`, `\\`, `.`
    or `..` segments, control characters: iamgw.s3.keys) is refused, since the
    decision is made on the literal name; so is a key without a bucket.
    """
    # ASGI's raw_path is optional: without it, the decoded path encoded again.
    raw_bytes = request.scope.get("raw_path") or quote(request.url.path).encode("ascii")
    raw_path = raw_bytes.decode("latin-1").split("?", 1)[0]
    host = request.headers.get("host", "").split(":")[0].lower()
    path = keys.decode(raw_path)
    if public_host and host.endswith("." + public_host):
        bucket: str | None = host[: -len(public_host) - 1]
        key: str | None = path[1:] or None
    else:
        bucket, _, rest = path[1:].partition("/")
        bucket = bucket or None
        key = rest or None
    if bucket is None and key is not None:
        raise InvalidBucketName("The request names a key but no bucket.")
    if bucket is not None:
        keys.bucket_name(bucket)
    if key is not None:
        keys.object_key(key)
    return bucket, key, raw_path


async def handle(request: Request) -> Response:
    gateway = gateway_of(request)
    access: Access = gateway.access
    settings = gateway.settings
    bucket, key, raw_path = address(request, settings.server.public_host)
    raw_query = request.scope.get("query_string", b"").decode("latin-1")
    headers = request_headers(request)
    now = datetime.now(UTC)

    await access.refresh()
    result = await authenticate(
        access,
        request.method,
        raw_path,
        raw_query,
        headers,
        region=settings.server.region,
        service="s3",
        now=now,
    )
    identity, auth, signing = result.identity, result.auth, result.signing
    if auth is not None:
        record_principal(request, identity, auth.access_key)

    params = _parameters(raw_query, auth)
    operation = _operation(request.method, bucket, key, dict(params), headers)
    context = request_context(request, auth, now)
    context.update(operation.context)
    await authorize(access, identity, operation, context, headers, audit_fields(request))

    read_body = functools.partial(read_whole, request, headers, auth, signing)
    if operation.name in bucket_ops.GATEWAY_OPERATIONS:
        return await bucket_ops.handle(gateway, operation, read_body)
    if operation.name == "ListBuckets" and not identity.is_root:
        return await bucket_ops.list_buckets(gateway, identity, context, params, headers)
    if operation.name == "DeleteObjects" and not identity.is_root:
        return await bucket_ops.delete_objects(
            gateway, read_body, identity, operation, context, params, headers
        )
    body = await prepare_body(request, headers, auth, signing)
    try:
        response = await gateway.proxy.forward(
            request.method,
            bucket,
            key,
            params,
            headers,
            body.stream,
            body.length,
            body.payload_hash,
            body.replay,
        )
    finally:
        body.close()  # the node has read the whole body before it answers
    if operation.name in ("CreateBucket", "DeleteBucket") and response.status_code < 300:
        # A bucket policy belongs to the bucket, not to its name: a new bucket of the
        # same name must not inherit what the deleted one allowed.
        await run_in_threadpool(gateway.repo.delete_bucket_policy, bucket)
    return response


def _parameters(raw_query: str, auth: Any) -> list[tuple[str, str]]:
    """The query's parameters as the node will read them, without a presigned URL's own."""
    params = [
        (k, v)
        for k, v in parse_qsl(raw_query, keep_blank_values=True)
        if not (auth is not None and auth.presigned and k.lower() in _PRESIGN_PARAMS)
    ]
    if len({k for k, _ in params}) != len(params):
        # The decision must be made on what the node will read: a repeated parameter
        # (`versionId=a&versionId=`) can be read by the gateway and the node differently.
        raise InvalidRequest("A query parameter may appear only once.")
    return params


def _operation(
    method: str, bucket: str | None, key: str | None, query: dict[str, str], headers: Headers
) -> S3Operation:
    """The operation of the request, if it is one the gateway forwards or answers."""
    try:
        operation = classify(method, bucket, key, query, headers)
    except AmbiguousOperation as exc:
        raise InvalidRequest(f"The request is ambiguous: {exc}.") from None
    except UnsupportedParameter as exc:
        raise NotImplementedS3(f"The request is not supported: {exc}.") from None
    except UnknownOperation:
        raise NotImplementedS3(f"{method} on this resource is not supported.") from None
    except BadParameter as exc:
        raise InvalidArgument(str(exc)) from None
    if operation.name not in FORWARDED and operation.name not in bucket_ops.GATEWAY_OPERATIONS:
        raise NotImplementedS3(f"{operation.name} is not supported by iamgw's storage nodes.")
    return operation


async def authorize(
    access: Any,
    identity: Identity,
    op: S3Operation,
    context: dict[str, Any],
    headers: dict,
    audit: dict[str, Any],
) -> None:
    """Raise AccessDenied unless policy allows the operation (and a copy's source read)."""
    audit.update(operation=op.name, action=op.action, resource=op.resource)
    if identity.is_root:
        audit["decision"] = "Allowed (root)"
        return
    if op.name == "ListBuckets" and identity.arn is None:
        raise AccessDenied()  # S3 lists buckets only for a signed request
    if op.name in ("ListBuckets", "DeleteObjects"):
        return  # decided per bucket / per key by bucket_ops
    if op.key is not None and op.bucket is not None:
        decision = await bucket_ops.decide_object(
            access, identity, op.action, op.bucket, op.key, context
        )
    else:
        decision = await access.decide(identity, op.action, op.resource, context, op.bucket)
    audit.update(
        decision=str(decision.outcome), policy=decision.policy, statement=decision.statement
    )
    if not decision.allowed:
        raise AccessDenied()
    for action in header_actions(op, headers):
        extra = await access.decide(identity, action, op.resource, context, op.bucket)
        if not extra.allowed:
            audit.update(
                decision=f"{extra.outcome} ({action})",
                policy=extra.policy,
                statement=extra.statement,
            )
            raise AccessDenied()
    try:
        source = copy_source(headers) if op.name in ("CopyObject", "UploadPartCopy") else None
    except BadCopySource:
        raise InvalidArgument(
            "Invalid copy source: it must be bucket/key[?versionId=...]."
        ) from None
    if source is not None:
        src_bucket, src_key, version = source
        action = "s3:GetObjectVersion" if version else "s3:GetObject"
        src = object_arn(src_bucket, src_key)
        read = await access.decide(identity, action, src, context, src_bucket)
        if not read.allowed:
            audit.update(
                decision=f"{read.outcome} ({action} on {src})",
                policy=read.policy,
                statement=read.statement,
            )
            raise AccessDenied()
