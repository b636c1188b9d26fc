"""What a request brings to the decision besides its action and resource.

The condition keys: the global ones ("AWS global condition context keys",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html)
and S3's own ("Actions, resources, and condition keys for Amazon S3",
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html);
and the actions some headers need on top of the operation's own.

`aws:SourceIp` and `aws:SecureTransport` come from the connection: the peer's address
and the ASGI scope's scheme (https only over the gateway's own TLS). A peer within
`[server] trusted_proxies` speaks for its client: `X-Forwarded-For` is read right to
left, as proxies append to it, and the first address outside the trusted networks is
the client's (the ones further left are the client's own say); `X-Forwarded-Proto`
gives the transport (secure only when every hop it lists is https). From any other
peer both headers are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from starlette.requests import Request

from iamgw.identity import transport_context

if TYPE_CHECKING:
    from iamgw.s3.operations import S3Operation

# Request headers that become s3: condition keys as they are.
_HEADER_KEYS = (
    "x-amz-acl",
    "x-amz-server-side-encryption",
    "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-storage-class",
    "x-amz-copy-source",
    "x-amz-metadata-directive",
    "x-amz-grant-read",
    "x-amz-grant-write",
    "x-amz-grant-read-acp",
    "x-amz-grant-write-acp",
    "x-amz-grant-full-control",
    "x-amz-content-sha256",
    "x-amz-object-lock-mode",
    "x-amz-object-lock-retain-until-date",
    "x-amz-object-lock-legal-hold",
    "x-amz-website-redirect-location",
)
# Query parameters of the list operations that become s3: condition keys.
_LIST_KEYS = ("prefix", "delimiter", "max-keys")
_LIST_ACTIONS = ("s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads")
_LISTINGS = ("ListObjects", "ListObjectsV2", "ListObjectVersions")
_WRITES_OBJECT = {"PutObject", "CopyObject", "CreateMultipartUpload"}


def s3_context(
    operation: str, action: str, query: Mapping[str, str], headers: Mapping[str, str]
) -> dict[str, str]:
    """The s3: condition keys of a request for `operation`, whose table action is
    `action` (the one without ?versionId); `query` and `headers` decoded, header
    names lower-case."""
    context: dict[str, str] = {}
    for name in _HEADER_KEYS:
        if name in headers:
            value = headers[name]
            context[f"s3:{name}"] = unquote(value) if name == "x-amz-copy-source" else value
    if action in _LIST_ACTIONS:
        for name in _LIST_KEYS:
            if name in query:
                context[f"s3:{name}"] = query[name]
        if operation in _LISTINGS:
            context.setdefault("s3:prefix", "")  # no prefix asked = the empty prefix
    version_id = query.get("versionId")
    if version_id is not None:
        context["s3:VersionId"] = version_id
    return context


def request_context(request: Request, auth: Any, now: datetime) -> dict[str, Any]:
    """The global condition keys of one request, and the s3: keys of its signature."""
    ctx: dict[str, Any] = {
        "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(now.timestamp())),
        **transport_context(request),
        "aws:UserAgent": request.headers.get("user-agent"),
        "aws:Referer": request.headers.get("referer"),
    }
    if auth is not None:
        ctx["s3:signatureversion"] = "AWS4-HMAC-SHA256"
        ctx["s3:authType"] = "REST-QUERY-STRING" if auth.presigned else "REST-HEADER"
        age_ms = max(0, int((now - auth.amz_date).total_seconds() * 1000))
        ctx["s3:signatureAge"] = str(age_ms)
    return ctx


def header_actions(op: S3Operation, headers: Mapping[str, str]) -> list[str]:
    """Actions a request's headers also need, as S3 asks for them: tags, object-lock
    retention and legal hold set with the object, and bypassing governance mode."""
    actions = []
    if op.name in _WRITES_OBJECT:
        if "x-amz-tagging" in headers:
            actions.append("s3:PutObjectTagging")
        if "x-amz-object-lock-mode" in headers or "x-amz-object-lock-retain-until-date" in headers:
            actions.append("s3:PutObjectRetention")
        if "x-amz-object-lock-legal-hold" in headers:
            actions.append("s3:PutObjectLegalHold")
        if any(name == "x-amz-acl" or name.startswith("x-amz-grant-") for name in headers):
            actions.append("s3:PutObjectAcl")
    if headers.get("x-amz-bypass-governance-retention", "").lower() == "true":
        actions.append("s3:BypassGovernanceRetention")
    return actions
