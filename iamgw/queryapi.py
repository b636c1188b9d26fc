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
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import Response

from iamgw import authn
from iamgw.identity import Identity
from iamgw.ops.audit import audit_fields

# IAM and STS are global: SDKs sign them for us-east-1 whatever the configured region.
GLOBAL_REGION = "us-east-1"
MAX_BODY = 1 << 20


async def query_params(request: Request) -> dict[str, str] | None:
    """The parameters of a Query API call (form body or query string), or None if not one."""
    params = dict(parse_qsl(request.url.query, keep_blank_values=True))
    if request.method == "POST":
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        length = request.headers.get("content-length", "0")
        if ctype == "application/x-www-form-urlencoded" and length.isdigit():
            if int(length) > MAX_BODY:
                return None
            body = await request.body()  # cached: signature verification reads it again
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return params if "Action" in params else None


async def authenticate(request: Request, service: str) -> Identity | None:
    """The verified identity of a signed Query request; None when it is not signed."""
    gateway = request.app.state.gateway
    raw_path = request.scope.get("raw_path", b"/").decode("latin-1").split("?", 1)[0]
    raw_query = request.scope.get("query_string", b"").decode("latin-1")
    headers = {k.lower(): v for k, v in request.headers.items()}
    await gateway.access.refresh()
    result = await authn.authenticate(
        gateway.access,
        request.method,
        raw_path,
        raw_query,
        headers,
        region=gateway.settings.server.region,
        also_region=GLOBAL_REGION,
        service=service,
        payload_hash=hashlib.sha256(await request.body()).hexdigest(),
    )
    if result.auth is None:
        return None
    audit_fields(request).update(principal=result.identity.arn, access_key=result.auth.access_key)
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
        text = escape(str(value))
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
