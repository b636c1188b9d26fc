"""The AWS Query protocol that STS and IAM share: parameters, SigV4, XML answers.

https://docs.aws.amazon.com/IAM/latest/APIReference/iam-api.pdf (Making Query Requests)
A request is `POST /` with a form body (or the query string) carrying `Action`,
`Version` and the action's parameters; it is signed with SigV4 for the service
(`iam`, `sts`); the answer is `<{Action}Response><{Action}Result>...` with the
request id in `ResponseMetadata`.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from iamgw import identity
from iamgw.errors import RequestEntityTooLargeException, ValidationError, xml_text
from iamgw.gateway import gateway_of
from iamgw.ops import record_principal
from iamgw.sigv4 import length_value

# IAM and STS are global: SDKs sign them for us-east-1 whatever the configured region.
GLOBAL_REGION = "us-east-1"
MAX_BODY = 1 << 20  # far above any IAM/STS call (a 10 KiB policy, a 100 KB SAML assertion)
_BODY = "iamgw.query_body"  # scope key of the body read while routing
_FORM = "application/x-www-form-urlencoded"


def is_form_post(request: Request) -> bool:
    """A `POST` with a form body: the shape of a Query call (S3 never posts a form to `/`)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return request.method == "POST" and ctype == _FORM


async def query_params(request: Request) -> dict[str, str] | None:
    """The parameters of a Query API call (form body and query string), or None if not one.

    The body is read here, before anyone is authenticated, so it is bounded: a larger
    one (declared or streamed) is refused before it is held. A parameter may appear
    once, in the query or in the body: a second value would be read by one reader and
    not by another. The text must be UTF-8, as the protocol's form encoding is.
    """
    pairs = _pairs(request.scope.get("query_string", b""))
    if is_form_post(request):
        body = await read_bounded(request, MAX_BODY)
        request.scope[_BODY] = body
        request._body = body  # Starlette's own cache: an S3 handler after us reads it again
        pairs += _pairs(body)
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise ValidationError(f"The parameter {name[:64]} may appear only once.")
        params[name] = value
    return params if "Action" in params else None


def _pairs(raw: bytes) -> list[tuple[str, str]]:
    try:
        text = raw.decode("utf-8")
        return parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise ValidationError("The request parameters are not valid UTF-8.") from None


async def read_bounded(request: Request, limit: int) -> bytes:
    """The body of a request no one has authenticated yet: at most `limit` bytes, a
    larger one (declared or streamed) refused before it is held."""
    declared = request.headers.get("content-length")
    length = length_value(declared) if declared is not None else None
    if declared is not None and length is None:
        raise ValidationError("Content-Length is not a number.")
    if length is not None and length > limit:
        raise RequestEntityTooLargeException()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:  # chunked: no length to refuse on, so count
            raise RequestEntityTooLargeException()
    return bytes(body)


async def authenticate(request: Request, service: str) -> identity.Identity | None:
    """The verified identity of a signed Query request; None when it is not signed.

    The body's SHA-256 is computed here from the bytes received and is what the
    signature must cover: a Query call's body is never unsigned.
    """
    gateway = gateway_of(request)
    raw_path = request.scope.get("raw_path", b"/").decode("latin-1").split("?", 1)[0]
    raw_query = request.scope.get("query_string", b"").decode("latin-1")
    await gateway.access.refresh()
    result = await identity.authenticate(
        gateway.access,
        request.method,
        raw_path,
        raw_query,
        identity.request_headers(request),
        region=gateway.settings.server.region,
        also_region=GLOBAL_REGION,
        service=service,
        payload_hash=hashlib.sha256(request.scope.get(_BODY, b"")).hexdigest(),
    )
    if result.auth is None:
        return None
    record_principal(request, result.identity, result.auth.access_key)
    return result.identity


def xml_element(name: str, value: Any) -> str:
    """`<name>value</name>`; nested dicts and lists of dicts become nested elements,
    lists of scalars `<member>` items, as the Query protocol serialises them."""
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dict):
        text = "".join(xml_element(k, v) for k, v in value.items())
    elif isinstance(value, list):
        text = "".join(xml_element("member", v) for v in value)
    elif isinstance(value, datetime):
        text = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    else:
        text = xml_text(str(value))
    return f"<{name}>{text}</{name}>"


def xml_response(
    action: str, namespace: str, request_id: str, result: dict[str, Any] | None = None
) -> Response:
    """`<ActionResponse>` with `<ActionResult>` (when the action returns one)."""
    inner = xml_element(f"{action}Result", result) if result is not None else ""
    body = (
        f'<{action}Response xmlns="{namespace}">{inner}'
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        f"</{action}Response>"
    )
    return Response(body, media_type="text/xml")
