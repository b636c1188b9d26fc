"""S3 request -> operation, IAM action, resource ARN and condition context.

The table follows the S3 API reference (one row per operation boto3 exposes)
and the permissions each needs, from "Actions, resources, and condition keys
for Amazon S3" and "Required permissions for Amazon S3 API operations":
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations_Amazon_Simple_Storage_Service.html

An operation is recognised by method, by whether the path names a bucket and
a key, by the sub-resource in the query (`?tagging`) and, where these tie,
by a distinguishing parameter or header (`uploadId`, `x-amz-copy-source`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from iamgw.errors import S3Error
from iamgw.s3 import keys
from iamgw.s3.context import s3_context

# Where an operation acts: the service (no bucket), a bucket, or an object.
SERVICE, BUCKET, OBJECT = "service", "bucket", "object"


@dataclass(frozen=True)
class Rule:
    operation: str
    method: str
    target: str
    subresource: str | None = None  # query parameter naming the sub-resource
    needs: tuple[str, ...] = ()  # query params or headers that must be present
    action: str = ""  # IAM action; default s3:<operation>
    version_action: str | None = None  # IAM action when ?versionId is given
    forwarded: bool = False  # sent to a storage node (see FORWARDED)


def _r(
    op: str,
    method: str,
    target: str,
    sub: str | None,
    forwarded: bool,
    *needs: str,
    action: str = "",
    version: str | None = None,
) -> Rule:
    return Rule(op, method, target, sub, needs, action or f"s3:{op}", version, forwarded)


# `forwarded`: the operation is sent to a storage node. Nodes answer a sub-resource
# they do not know as the plain request (SeaweedFS, probed by tests/s3/test_confusion.py,
# test_the_node_implements_every_forwarded_sub_resource: `DELETE /bucket?website`
# deletes the bucket, `PUT /bucket?abac` creates one, `GET /bucket/key?annotation`
# returns the object), so forwarding one would let a caller allowed only the narrow
# action perform the plain one. Every other operation is answered by the gateway
# itself (iamgw.s3.bucket_ops) or NotImplemented.
#
# Ordered: for a tie, the first rule whose `needs` are all present wins.
# ruff: noqa: E501 - a table: one rule a line
# fmt: off
RULES: tuple[Rule, ...] = (
    #  operation                                           method    target   sub-resource               forwarded, needs, IAM action (if not s3:<operation>)
    _r("ListBuckets",                                      "GET",    SERVICE, None,                      True,  action="s3:ListAllMyBuckets"),
    _r("WriteGetObjectResponse",                           "POST",   BUCKET,  None,                      False, "x-amz-request-route", action="s3-object-lambda:WriteGetObjectResponse"),
    # Bucket sub-resources.
    _r("CreateBucketMetadataConfiguration",                "POST",   BUCKET,  "metadataConfiguration",   False),
    _r("CreateBucketMetadataTableConfiguration",           "POST",   BUCKET,  "metadataTable",           False),
    _r("CreateSession",                                    "GET",    BUCKET,  "session",                 False, action="s3express:CreateSession"),
    _r("DeleteObjects",                                    "POST",   BUCKET,  "delete",                  True,  action="s3:DeleteObject"),
    _r("DeleteBucketAnalyticsConfiguration",               "DELETE", BUCKET,  "analytics",               False, action="s3:PutAnalyticsConfiguration"),
    _r("DeleteBucketCors",                                 "DELETE", BUCKET,  "cors",                    True,  action="s3:PutBucketCORS"),
    _r("DeleteBucketEncryption",                           "DELETE", BUCKET,  "encryption",              True,  action="s3:PutEncryptionConfiguration"),
    _r("DeleteBucketIntelligentTieringConfiguration",      "DELETE", BUCKET,  "intelligent-tiering",     False, action="s3:PutIntelligentTieringConfiguration"),
    _r("DeleteBucketInventoryConfiguration",               "DELETE", BUCKET,  "inventory",               False, action="s3:PutInventoryConfiguration"),
    _r("DeleteBucketLifecycle",                            "DELETE", BUCKET,  "lifecycle",               True,  action="s3:PutLifecycleConfiguration"),
    _r("DeleteBucketMetadataConfiguration",                "DELETE", BUCKET,  "metadataConfiguration",   False),
    _r("DeleteBucketMetadataTableConfiguration",           "DELETE", BUCKET,  "metadataTable",           False),
    _r("DeleteBucketMetricsConfiguration",                 "DELETE", BUCKET,  "metrics",                 False, action="s3:PutMetricsConfiguration"),
    _r("DeleteBucketOwnershipControls",                    "DELETE", BUCKET,  "ownershipControls",       True,  action="s3:PutBucketOwnershipControls"),
    _r("DeleteBucketPolicy",                               "DELETE", BUCKET,  "policy",                  False),
    _r("DeleteBucketReplication",                          "DELETE", BUCKET,  "replication",             False, action="s3:PutReplicationConfiguration"),
    _r("DeleteBucketTagging",                              "DELETE", BUCKET,  "tagging",                 True,  action="s3:PutBucketTagging"),
    _r("DeleteBucketWebsite",                              "DELETE", BUCKET,  "website",                 False),
    _r("DeletePublicAccessBlock",                          "DELETE", BUCKET,  "publicAccessBlock",       False, action="s3:PutBucketPublicAccessBlock"),
    _r("GetBucketAbac",                                    "GET",    BUCKET,  "abac",                    False),
    _r("GetBucketAccelerateConfiguration",                 "GET",    BUCKET,  "accelerate",              True,  action="s3:GetAccelerateConfiguration"),
    _r("GetBucketAcl",                                     "GET",    BUCKET,  "acl",                     True),
    _r("GetBucketAnalyticsConfiguration",                  "GET",    BUCKET,  "analytics",               False, "id", action="s3:GetAnalyticsConfiguration"),
    _r("ListBucketAnalyticsConfigurations",                "GET",    BUCKET,  "analytics",               False, action="s3:GetAnalyticsConfiguration"),
    _r("GetBucketCors",                                    "GET",    BUCKET,  "cors",                    True,  action="s3:GetBucketCORS"),
    _r("GetBucketEncryption",                              "GET",    BUCKET,  "encryption",              True,  action="s3:GetEncryptionConfiguration"),
    _r("GetBucketIntelligentTieringConfiguration",         "GET",    BUCKET,  "intelligent-tiering",     False, "id", action="s3:GetIntelligentTieringConfiguration"),
    _r("ListBucketIntelligentTieringConfigurations",       "GET",    BUCKET,  "intelligent-tiering",     False, action="s3:GetIntelligentTieringConfiguration"),
    _r("GetBucketInventoryConfiguration",                  "GET",    BUCKET,  "inventory",               False, "id", action="s3:GetInventoryConfiguration"),
    _r("ListBucketInventoryConfigurations",                "GET",    BUCKET,  "inventory",               False, action="s3:GetInventoryConfiguration"),
    _r("GetBucketLifecycleConfiguration",                  "GET",    BUCKET,  "lifecycle",               True,  action="s3:GetLifecycleConfiguration"),
    _r("GetBucketLocation",                                "GET",    BUCKET,  "location",                True),
    _r("GetBucketLogging",                                 "GET",    BUCKET,  "logging",                 True),
    _r("GetBucketMetadataConfiguration",                   "GET",    BUCKET,  "metadataConfiguration",   False),
    _r("GetBucketMetadataTableConfiguration",              "GET",    BUCKET,  "metadataTable",           False),
    _r("GetBucketMetricsConfiguration",                    "GET",    BUCKET,  "metrics",                 False, "id", action="s3:GetMetricsConfiguration"),
    _r("ListBucketMetricsConfigurations",                  "GET",    BUCKET,  "metrics",                 False, action="s3:GetMetricsConfiguration"),
    _r("GetBucketNotificationConfiguration",               "GET",    BUCKET,  "notification",            True,  action="s3:GetBucketNotification"),
    _r("GetBucketOwnershipControls",                       "GET",    BUCKET,  "ownershipControls",       True),
    _r("GetBucketPolicy",                                  "GET",    BUCKET,  "policy",                  False),
    _r("GetBucketPolicyStatus",                            "GET",    BUCKET,  "policyStatus",            False),
    _r("GetBucketReplication",                             "GET",    BUCKET,  "replication",             True,  action="s3:GetReplicationConfiguration"),
    _r("GetBucketRequestPayment",                          "GET",    BUCKET,  "requestPayment",          True),
    _r("GetBucketTagging",                                 "GET",    BUCKET,  "tagging",                 True),
    _r("GetBucketVersioning",                              "GET",    BUCKET,  "versioning",              True),
    _r("GetBucketWebsite",                                 "GET",    BUCKET,  "website",                 True),
    _r("GetObjectLockConfiguration",                       "GET",    BUCKET,  "object-lock",             True,  action="s3:GetBucketObjectLockConfiguration"),
    _r("GetPublicAccessBlock",                             "GET",    BUCKET,  "publicAccessBlock",       False, action="s3:GetBucketPublicAccessBlock"),
    _r("ListMultipartUploads",                             "GET",    BUCKET,  "uploads",                 True,  action="s3:ListBucketMultipartUploads"),
    _r("ListObjectVersions",                               "GET",    BUCKET,  "versions",                True,  action="s3:ListBucketVersions"),
    _r("ListObjectsV2",                                    "GET",    BUCKET,  "list-type",               True,  action="s3:ListBucket"),
    _r("PutBucketAbac",                                    "PUT",    BUCKET,  "abac",                    False),
    _r("PutBucketAccelerateConfiguration",                 "PUT",    BUCKET,  "accelerate",              False, action="s3:PutAccelerateConfiguration"),
    _r("PutBucketAcl",                                     "PUT",    BUCKET,  "acl",                     True),
    _r("PutBucketAnalyticsConfiguration",                  "PUT",    BUCKET,  "analytics",               False, action="s3:PutAnalyticsConfiguration"),
    _r("PutBucketCors",                                    "PUT",    BUCKET,  "cors",                    True,  action="s3:PutBucketCORS"),
    _r("PutBucketEncryption",                              "PUT",    BUCKET,  "encryption",              True,  action="s3:PutEncryptionConfiguration"),
    _r("PutBucketIntelligentTieringConfiguration",         "PUT",    BUCKET,  "intelligent-tiering",     False, action="s3:PutIntelligentTieringConfiguration"),
    _r("PutBucketInventoryConfiguration",                  "PUT",    BUCKET,  "inventory",               False, action="s3:PutInventoryConfiguration"),
    _r("PutBucketLifecycleConfiguration",                  "PUT",    BUCKET,  "lifecycle",               True,  action="s3:PutLifecycleConfiguration"),
    _r("PutBucketLogging",                                 "PUT",    BUCKET,  "logging",                 False),
    _r("PutBucketMetricsConfiguration",                    "PUT",    BUCKET,  "metrics",                 False, action="s3:PutMetricsConfiguration"),
    _r("PutBucketNotificationConfiguration",               "PUT",    BUCKET,  "notification",            False, action="s3:PutBucketNotification"),
    _r("PutBucketOwnershipControls",                       "PUT",    BUCKET,  "ownershipControls",       True),
    _r("PutBucketPolicy",                                  "PUT",    BUCKET,  "policy",                  False),
    _r("PutBucketReplication",                             "PUT",    BUCKET,  "replication",             False, action="s3:PutReplicationConfiguration"),
    _r("PutBucketRequestPayment",                          "PUT",    BUCKET,  "requestPayment",          True),
    _r("PutBucketTagging",                                 "PUT",    BUCKET,  "tagging",                 True),
    _r("PutBucketVersioning",                              "PUT",    BUCKET,  "versioning",              True),
    _r("PutBucketWebsite",                                 "PUT",    BUCKET,  "website",                 False),
    _r("PutObjectLockConfiguration",                       "PUT",    BUCKET,  "object-lock",             True,  action="s3:PutBucketObjectLockConfiguration"),
    _r("PutPublicAccessBlock",                             "PUT",    BUCKET,  "publicAccessBlock",       False, action="s3:PutBucketPublicAccessBlock"),
    _r("UpdateBucketMetadataAnnotationTableConfiguration", "PUT",    BUCKET,  "metadataAnnotationTable", False),
    _r("UpdateBucketMetadataInventoryTableConfiguration",  "PUT",    BUCKET,  "metadataInventoryTable",  False),
    _r("UpdateBucketMetadataJournalTableConfiguration",    "PUT",    BUCKET,  "metadataJournalTable",    False),
    # Plain bucket requests.
    _r("CreateBucket",                                     "PUT",    BUCKET,  None,                      True),
    _r("DeleteBucket",                                     "DELETE", BUCKET,  None,                      True),
    _r("HeadBucket",                                       "HEAD",   BUCKET,  None,                      True,  action="s3:ListBucket"),
    _r("ListObjects",                                      "GET",    BUCKET,  None,                      True,  action="s3:ListBucket"),
    # Object sub-resources.
    _r("CreateMultipartUpload",                            "POST",   OBJECT,  "uploads",                 True,  action="s3:PutObject"),
    _r("DeleteObjectAnnotation",                           "DELETE", OBJECT,  "annotation",              False),
    _r("DeleteObjectTagging",                              "DELETE", OBJECT,  "tagging",                 True,  version="s3:DeleteObjectVersionTagging"),
    _r("GetObjectAcl",                                     "GET",    OBJECT,  "acl",                     True,  version="s3:GetObjectVersionAcl"),
    _r("GetObjectAnnotation",                              "GET",    OBJECT,  "annotation",              False, "annotationName"),
    _r("ListObjectAnnotations",                            "GET",    OBJECT,  "annotation",              False, action="s3:GetObjectAnnotation"),
    _r("GetObjectAttributes",                              "GET",    OBJECT,  "attributes",              True,  version="s3:GetObjectVersionAttributes"),
    _r("GetObjectLegalHold",                               "GET",    OBJECT,  "legal-hold",              True),
    _r("GetObjectRetention",                               "GET",    OBJECT,  "retention",               True),
    _r("GetObjectTagging",                                 "GET",    OBJECT,  "tagging",                 True,  version="s3:GetObjectVersionTagging"),
    _r("GetObjectTorrent",                                 "GET",    OBJECT,  "torrent",                 False, version="s3:GetObjectVersionTorrent"),
    _r("PutObjectAcl",                                     "PUT",    OBJECT,  "acl",                     True,  version="s3:PutObjectVersionAcl"),
    _r("PutObjectAnnotation",                              "PUT",    OBJECT,  "annotation",              False),
    _r("PutObjectLegalHold",                               "PUT",    OBJECT,  "legal-hold",              True),
    _r("PutObjectRetention",                               "PUT",    OBJECT,  "retention",               True),
    _r("PutObjectTagging",                                 "PUT",    OBJECT,  "tagging",                 True,  version="s3:PutObjectVersionTagging"),
    _r("RenameObject",                                     "PUT",    OBJECT,  "renameObject",            False, action="s3:PutObject"),
    _r("RestoreObject",                                    "POST",   OBJECT,  "restore",                 False),
    _r("SelectObjectContent",                              "POST",   OBJECT,  "select",                  False, action="s3:GetObject"),
    _r("UpdateObjectEncryption",                           "PUT",    OBJECT,  "encryption",              False, action="s3:PutObject"),
    # Multipart parts, told apart by uploadId / partNumber / copy source.
    _r("UploadPartCopy",                                   "PUT",    OBJECT,  None,                      True,  "uploadId", "partNumber", "x-amz-copy-source", action="s3:PutObject"),
    _r("UploadPart",                                       "PUT",    OBJECT,  None,                      True,  "uploadId", "partNumber", action="s3:PutObject"),
    _r("CompleteMultipartUpload",                          "POST",   OBJECT,  None,                      True,  "uploadId", action="s3:PutObject"),
    _r("AbortMultipartUpload",                             "DELETE", OBJECT,  None,                      True,  "uploadId"),
    _r("ListParts",                                        "GET",    OBJECT,  None,                      True,  "uploadId", action="s3:ListMultipartUploadParts"),
    # Plain object requests.
    _r("CopyObject",                                       "PUT",    OBJECT,  None,                      True,  "x-amz-copy-source", action="s3:PutObject"),
    _r("PutObject",                                        "PUT",    OBJECT,  None,                      True),
    _r("GetObject",                                        "GET",    OBJECT,  None,                      True,  version="s3:GetObjectVersion"),
    _r("HeadObject",                                       "HEAD",   OBJECT,  None,                      True,  action="s3:GetObject", version="s3:GetObjectVersion"),
    _r("DeleteObject",                                     "DELETE", OBJECT,  None,                      True,  version="s3:DeleteObjectVersion"),
)
# fmt: on

_BY_KEY: dict[tuple[str, str, str | None], list[Rule]] = {}
OPERATION_NAMES = frozenset(r.operation for r in RULES)  # what metrics may label

for _rule in RULES:
    _BY_KEY.setdefault((_rule.method, _rule.target, _rule.subresource), []).append(_rule)
_SUBRESOURCES = {r.subresource for r in RULES if r.subresource}
FORWARDED = frozenset(r.operation for r in RULES if r.forwarded)


class UnknownOperation(Exception):
    """No S3 operation matches the method, path and query."""


class AmbiguousOperation(UnknownOperation):
    """The request could be read as more than one operation."""


_MULTIPART_PARAMS = {"uploadId", "partNumber"}
# The query parameters of the S3 API other than sub-resources (S3 API Reference, the
# "URI Request Parameters" of each operation; `x-id` is what botocore adds). A node
# routes on parameters of its own (SeaweedFS: `PUT /bucket?seaweedfs-quota` sets a
# quota), which the decision would not see: any other parameter is refused.
_PARAMETERS = frozenset({
    "versionId", "uploadId", "partNumber", "prefix", "delimiter", "marker", "max-keys",
    "list-type", "continuation-token", "start-after", "fetch-owner", "encoding-type",
    "key-marker", "version-id-marker", "upload-id-marker", "max-uploads", "max-parts",
    "part-number-marker", "response-content-type", "response-content-language",
    "response-expires", "response-cache-control", "response-content-disposition",
    "response-content-encoding", "x-id", "id", "annotationName", "select-type",
})  # fmt: skip
_PART_NUMBER = re.compile(r"[1-9][0-9]{0,4}")  # 1..10000, as S3 writes it: no sign, no 0s


class UnsupportedParameter(UnknownOperation):
    """A query parameter that is not part of the S3 API."""


class BadParameter(ValueError):
    """A parameter of the S3 API with a value a node could read as another operation."""


def _check_parameters(query: Mapping[str, str]) -> None:
    unknown = sorted(n for n in query if n not in _PARAMETERS and n not in _SUBRESOURCES)
    if unknown:
        raise UnsupportedParameter(f"the query parameter {unknown[0][:64]!r} is not supported")
    # SeaweedFS takes the part route only for a numeric partNumber; any other value is
    # read as a plain PutObject / CopyObject, which asks for other permissions.
    part = query.get("partNumber")
    if part is not None and not (_PART_NUMBER.fullmatch(part) and int(part) <= 10_000):
        raise BadParameter("Part number must be an integer between 1 and 10000, inclusive.")
    if "uploadId" in query and not query["uploadId"]:
        raise BadParameter("The uploadId must not be empty.")


def _has(need: str, query: Mapping[str, str], headers: Mapping[str, str]) -> bool:
    # A header need is met by a header only: a query parameter of that name is not one.
    return need in headers if need.startswith("x-amz-") else need in query


@dataclass(frozen=True)
class S3Operation:
    name: str
    action: str
    bucket: str | None
    key: str | None
    resource: str  # the ARN the action acts on
    context: dict[str, str] = field(default_factory=dict)  # s3: condition keys


def bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def object_arn(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def classify(
    method: str,
    bucket: str | None,
    key: str | None,
    query: Mapping[str, str],
    headers: Mapping[str, str],
) -> S3Operation:
    """The S3 operation of a request whose bucket and key are already known.

    `key` is the decoded object key (the ARN's resource part is the key as stored,
    not as percent-encoded on the wire); `query` and `headers` are decoded, header
    names lower-case.
    """
    method = method.upper()
    target = SERVICE if not bucket else OBJECT if key else BUCKET
    _check_parameters(query)
    present = [s for s in query if s in _SUBRESOURCES]
    if len(present) > 1:
        # A node picks one by its own route order: which one is not ours to guess.
        raise AmbiguousOperation(f"the request names several sub-resources: {sorted(present)}")
    subresource = present[0] if present else None
    if subresource is not None and _MULTIPART_PARAMS & set(query) and subresource != "uploads":
        raise AmbiguousOperation(f"?{subresource} cannot be combined with a multipart upload")
    candidates = _BY_KEY.get((method, target, subresource), [])
    rule = next((r for r in candidates if all(_has(n, query, headers) for n in r.needs)), None)
    if rule is None:
        raise UnknownOperation(f"{method} {target} ?{subresource or ''}")
    version_id = query.get("versionId")
    action = rule.version_action if (version_id and rule.version_action) else rule.action
    if target == SERVICE:
        resource = "*"
    elif target == BUCKET:
        resource = bucket_arn(bucket or "")
    else:
        resource = object_arn(bucket or "", key or "")
    context = s3_context(rule.operation, rule.action, query, headers)
    return S3Operation(rule.operation, action, bucket, key, resource, context)


class BadCopySource(ValueError):
    """`x-amz-copy-source` names no object, or one a node would read as another
    (iamgw.s3.keys.object_key), or repeats or adds query parameters."""


def copy_source(headers: Mapping[str, str]) -> tuple[str, str, str | None] | None:
    """(bucket, key, versionId) of `x-amz-copy-source`, which CopyObject and
    UploadPartCopy also need `s3:GetObject` (or `s3:GetObjectVersion`) on.
    None without the header; BadCopySource when it cannot be decided on as sent.

    Read as the node reads it (tests/s3/test_key_forms.py): split at the first
    `?`, percent-decoded once, one leading `/` dropped, bucket up to the next `/`."""
    raw = headers.get("x-amz-copy-source")
    if raw is None:
        return None
    source, _, query = raw.partition("?")
    try:
        source = keys.decode(source)
        source = source.removeprefix("/")
        bucket, _, key = source.partition("/")
        keys.bucket_name(bucket)
        keys.object_key(key)
    except S3Error:
        raise BadCopySource(raw) from None
    version = None
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if name == "versionId" and version is None:
            try:
                version = keys.decode(value)
            except S3Error:
                raise BadCopySource(raw) from None
        elif name:
            raise BadCopySource(raw)
    return bucket, key, version
