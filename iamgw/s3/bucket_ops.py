"""The S3 operations the gateway answers itself, or only in part.

- Bucket policies (Put/Get/DeleteBucketPolicy) live in the gateway's store: they
  are resource policies of its own decisions, validated when written.
- ListBuckets shows only the buckets the caller may use.
- DeleteObjects is decided key by key: denied keys are reported as errors in
  the result, allowed ones forwarded. A key a node would read as another key
  (iamgw.s3.keys.object_key) refuses the whole request.
"""

from __future__ import annotations

import base64
import hashlib
import xml.etree.ElementTree as ET  # noqa: S405 - expat refuses entity expansion attacks
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from iamgw.errors import (
    AccessDenied,
    InvalidRequest,
    MalformedPolicy,
    MalformedXML,
    NoSuchBucket,
    NoSuchBucketPolicy,
    S3Error,
)
from iamgw.identity import Identity
from iamgw.policy import Decision, MalformedPolicyDocument, Outcome, PolicyKind, parse_policy
from iamgw.s3 import keys
from iamgw.s3.operations import S3Operation, bucket_arn, object_arn

GATEWAY_OPERATIONS = {"PutBucketPolicy", "GetBucketPolicy", "DeleteBucketPolicy"}
S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
MAX_POLICY_BYTES = 20 * 1024  # S3 bucket policy size limit
MAX_DELETE_BODY = 2 * 1024 * 1024  # 1,000 keys of 1,024 bytes and their XML
MAX_LIST_BODY = 32 * 1024 * 1024


ReadBody = Callable[[int, S3Error], Awaitable[bytes]]
"""Reads the request's body whole, verified as signed, refusing more than `limit` bytes
with the error given (`iamgw.s3.body.read_whole` bound to the request)."""


async def handle(gateway: Any, op: S3Operation, read_body: ReadBody) -> Response:
    bucket = op.bucket or ""
    await _require_bucket(gateway, bucket)
    repo = gateway.repo
    if op.name == "GetBucketPolicy":
        document = await run_in_threadpool(repo.get_bucket_policy, bucket)
        if document is None:
            raise NoSuchBucketPolicy(resource=bucket)
        return Response(document, media_type="application/json")
    if op.name == "DeleteBucketPolicy":
        await run_in_threadpool(repo.delete_bucket_policy, bucket)
        return Response(status_code=204)
    body = await read_body(MAX_POLICY_BYTES, MalformedPolicy("Policies cannot exceed 20 KB."))
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedPolicy("The policy is not valid UTF-8.") from None
    try:
        policy = parse_policy(text, PolicyKind.RESOURCE, name=f"bucket:{bucket}")
    except MalformedPolicyDocument as exc:
        raise MalformedPolicy(str(exc)) from None
    _check_resources(policy, bucket)
    await run_in_threadpool(repo.put_bucket_policy, bucket, text)
    return Response(status_code=204)


def _check_resources(policy: Any, bucket: str) -> None:
    """S3 refuses a bucket policy naming resources outside its bucket."""
    own = (bucket_arn(bucket), bucket_arn(bucket) + "/")
    for statement in policy.statements:
        if statement.not_resource:
            continue
        for resource in statement.resources or ():
            text = resource.text
            if not (text == own[0] or text.startswith(own[1])):
                raise MalformedPolicy("Policy has invalid resource")


async def _require_bucket(gateway: Any, bucket: str) -> None:
    response = await gateway.proxy.forward("HEAD", bucket, None, [], {})
    if response.background is not None:
        await response.background()  # close the upstream response
    if response.status_code == 404:
        raise NoSuchBucket(resource=bucket)


async def list_buckets(
    gateway: Any, identity: Identity, context: dict, params: list, headers: dict
) -> Response:
    """ListBuckets: everything with s3:ListAllMyBuckets, else the buckets the caller may
    list or locate (MinIO shows the same)."""
    access = gateway.access
    response = await gateway.proxy.forward("GET", None, None, params, _plain(headers))
    body = await _collect(response)
    everything = await access.decide(identity, "s3:ListAllMyBuckets", "*", context)
    if response.status_code != 200 or everything.allowed:
        return Response(body, response.status_code, media_type="application/xml")
    root = _parse(body)
    buckets = root.find(f"{{{S3_NS}}}Buckets")
    if buckets is not None:
        for entry in list(buckets):
            name = entry.findtext(f"{{{S3_NS}}}Name") or ""
            allowed = False
            for action in ("s3:ListBucket", "s3:GetBucketLocation"):
                if (await access.decide(identity, action, bucket_arn(name), context, name)).allowed:
                    allowed = True
                    break
            if not allowed:
                buckets.remove(entry)
    return Response(_serialise(root), 200, media_type="application/xml")


async def delete_objects(
    gateway: Any,
    read_body: ReadBody,
    identity: Identity,
    op: S3Operation,
    context: dict,
    params: list,
    headers: dict,
) -> Response:
    bucket = op.bucket or ""
    body = await read_body(MAX_DELETE_BODY, MalformedXML())
    quiet, objects = _delete_request(_parse(body))
    for key, _version in objects:
        # The key decided on is the key the node deletes: none it reads as another.
        keys.object_key(key)
    denied: list[tuple[str, str | None]] = []
    allowed: list[tuple[str, str | None]] = []
    for key, version in objects:
        action = "s3:DeleteObjectVersion" if version else "s3:DeleteObject"
        ctx = {**context, **({"s3:VersionId": version} if version else {})}
        decision = await decide_object(gateway.access, identity, action, bucket, key, ctx)
        (allowed if decision.allowed else denied).append((key, version))
    if allowed:
        # Always a document of our own making, holding exactly the keys decided on:
        # never the client's bytes, which a node may read differently.
        payload = _serialise(_delete_document(quiet, allowed))
        forward = _plain(headers)
        forward["content-md5"] = base64.b64encode(hashlib.md5(payload).digest()).decode()  # noqa: S324
        forward["content-type"] = "application/xml"
        response = await gateway.proxy.forward(
            "POST", bucket, None, params, forward, payload, len(payload)
        )
        result = await _collect(response)
        if response.status_code != 200:
            return Response(result, response.status_code, media_type="application/xml")
        answer = _parse(result)
    else:
        answer = ET.Element(f"{{{S3_NS}}}DeleteResult")
    for key, version in denied:
        error = ET.SubElement(answer, f"{{{S3_NS}}}Error")
        ET.SubElement(error, f"{{{S3_NS}}}Key").text = key
        if version:
            ET.SubElement(error, f"{{{S3_NS}}}VersionId").text = version
        ET.SubElement(error, f"{{{S3_NS}}}Code").text = AccessDenied.code
        ET.SubElement(error, f"{{{S3_NS}}}Message").text = AccessDenied.default_message
    return Response(_serialise(answer), 200, media_type="application/xml")


async def decide_object(
    access: Any, identity: Identity, action: str, bucket: str, key: str, context: dict
) -> Decision:
    """The decision on `action` on a key, denied too when the key a node keeps in the same
    entry (`K` and `K/`, see keys.same_entry) is explicitly denied: a Deny on `prot/*`
    also protects the marker `prot/` from `DELETE prot`. An Allow must name the key
    itself, so that policies naming exact keys keep working."""
    decision = await access.decide(identity, action, object_arn(bucket, key), context, bucket)
    if not decision.allowed:
        return decision
    alias = object_arn(bucket, keys.same_entry(key))
    other = await access.decide(identity, action, alias, context, bucket)
    return other if other.outcome is Outcome.EXPLICITLY_DENIED else decision


def _plain(headers: dict[str, str]) -> dict[str, str]:
    """The client's headers without those describing its own body or checksum."""
    drop = ("content-md5", "content-length", "content-encoding")
    return {
        k: v
        for k, v in headers.items()
        if k not in drop
        and not k.startswith("x-amz-checksum")
        and k != "x-amz-sdk-checksum-algorithm"
    }


_OBJECT_FIELDS = {"Key", "VersionId", "ETag", "LastModifiedTime", "Size"}
MAX_DELETE_KEYS = 1000


def _local(tag: str) -> str | None:
    """The element's name in S3's namespace (or none); None for any other namespace."""
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return name if namespace == S3_NS else None
    return tag


def _delete_request(root: ET.Element) -> tuple[bool, list[tuple[str, str | None]]]:
    """(quiet, [(key, versionId)]) of a DeleteObjects body, read strictly: one Key per
    Object, nothing unknown, so that no node can find a key the gateway did not."""
    if _local(root.tag) != "Delete":
        raise MalformedXML()
    quiet, objects = False, []
    for child in root:
        name = _local(child.tag)
        if name == "Quiet":
            quiet = (child.text or "").strip().lower() == "true"
            continue
        if name != "Object":
            raise MalformedXML()
        fields: dict[str, str] = {}
        for field in child:
            field_name = _local(field.tag)
            if field_name not in _OBJECT_FIELDS or field_name in fields:
                raise MalformedXML()
            fields[field_name] = field.text or ""
        if not fields.get("Key"):
            raise MalformedXML()
        objects.append((fields["Key"], fields.get("VersionId")))
    if not objects or len(objects) > MAX_DELETE_KEYS:
        raise MalformedXML()
    return quiet, objects


def _delete_document(quiet: bool, objects: list[tuple[str, str | None]]) -> ET.Element:
    root = ET.Element(f"{{{S3_NS}}}Delete")
    ET.SubElement(root, f"{{{S3_NS}}}Quiet").text = "true" if quiet else "false"
    for key, version in objects:
        entry = ET.SubElement(root, f"{{{S3_NS}}}Object")
        ET.SubElement(entry, f"{{{S3_NS}}}Key").text = key
        if version is not None:
            ET.SubElement(entry, f"{{{S3_NS}}}VersionId").text = version
    return root


def _parse(body: bytes) -> ET.Element:
    try:
        return ET.fromstring(body)  # noqa: S314 - size-limited; expat refuses entity bombs
    except ET.ParseError:
        raise MalformedXML() from None


def _serialise(root: ET.Element) -> bytes:
    ET.register_namespace("", S3_NS)
    return ET.tostring(root, xml_declaration=True, encoding="UTF-8")


async def _collect(response: Response) -> bytes:
    """The whole body of a forwarded answer (a small one is already whole)."""
    if not isinstance(response, StreamingResponse):
        return bytes(response.body)
    body = bytearray()
    async for chunk in response.body_iterator:
        body += chunk if isinstance(chunk, bytes) else chunk.encode()
        if len(body) > MAX_LIST_BODY:
            raise InvalidRequest("The storage node's answer is too large.")
    if response.background is not None:
        await response.background()
    return bytes(body)
