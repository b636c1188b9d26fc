"""AWS error types and their XML, rendered in one place.

Each failure is one class carrying its wire code and HTTP status (as authlib's errors
carry theirs) for every API that can answer it, checked against botocore's models
(tests/test_errors.py):

- S3 (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html) answers
  `code` and `status` as `<Error><Code/><Message/><Resource/><RequestId/></Error>`;
- IAM and STS, the Query APIs (https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html),
  answer `<ErrorResponse xmlns=API><Error><Type/><Code/><Message/></Error><RequestId/>`
  with `Type` Sender (4xx) or Receiver (5xx). Where they name a failure otherwise
  than S3 does, `query_code`, `query_status` and `query_message` say how: an unknown
  access key is S3's `InvalidAccessKeyId`, IAM's and STS's `InvalidClientTokenId`.

    AWSError            answered by every API: SigV4, authorisation, internal failures
     ├── S3Error        S3 only
     └── QueryError     IAM and STS only (shared ones here; iamgw.iam.errors and
                        iamgw.sts.errors hold each API's own)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar
from xml.sax.saxutils import escape

# What XML 1.0 cannot carry (control characters, lone UTF-16 surrogates, U+FFFE/U+FFFF):
# text echoed from a request (a key, a parameter, a claim) may hold any of them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: str) -> str:
    """`value` escaped for an XML element, with what XML cannot carry replaced by U+FFFD,
    so that an answer is always well-formed UTF-8."""
    return escape(_NOT_XML.sub("\ufffd", value))


class API(StrEnum):
    """The APIs whose error forms differ (a route's `api` is one of these, or answers as S3)."""

    S3 = "s3"
    IAM = "iam"
    STS = "sts"


NAMESPACES = {
    API.IAM: "https://iam.amazonaws.com/doc/2010-05-08/",
    API.STS: "https://sts.amazonaws.com/doc/2011-06-15/",
}


@dataclass(frozen=True)
class Wire:
    """What one API answers for an error."""

    api: API
    code: str
    status: int
    message: str


class AWSError(Exception):
    """An AWS error: its S3 form (`code`, `status`, the message), and IAM's and STS's
    where they differ (`query_*`); `apis` are the APIs that can answer it."""

    code: ClassVar[str]
    status: ClassVar[int]
    default_message: ClassVar[str] = "We encountered an internal error. Please try again."
    apis: ClassVar[frozenset[API]] = frozenset(API)
    query_code: ClassVar[str | None] = None
    query_status: ClassVar[int | None] = None
    query_message: ClassVar[str | None] = None  # replaces the message on IAM and STS

    def __init__(self, message: str | None = None, *, resource: str = "") -> None:
        self.message = message or self.default_message
        self.resource = resource
        super().__init__(self.message)

    def wire(self, api: str) -> Wire:
        """The answer on the route of `api` ("iam", "sts"; any other route answers as S3)."""
        answering = API(api) if api in NAMESPACES else API.S3
        if answering not in self.apis and answering is API.S3:
            # A Query call refused while its parameters are read, before its Version
            # says which API it is for: STS, the Query API of a bare `Action`.
            answering = API.STS
        if answering is API.S3:
            return Wire(API.S3, self.code, self.status, self.message)
        return Wire(
            answering,
            self.query_code or self.code,
            self.query_status or self.status,
            self.query_message or self.message,
        )

    def to_xml(self, api: str, request_id: str) -> str:
        wire = self.wire(api)
        message = xml_text(wire.message)
        if wire.api is API.S3:
            resource = f"<Resource>{xml_text(self.resource)}</Resource>" if self.resource else ""
            return (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Error><Code>{wire.code}</Code><Message>{message}</Message>"
                f"{resource}<RequestId>{request_id}</RequestId></Error>"
            )
        kind = "Sender" if wire.status < 500 else "Receiver"
        return (
            f'<ErrorResponse xmlns="{NAMESPACES[wire.api]}">'
            f"<Error><Type>{kind}</Type><Code>{wire.code}</Code><Message>{message}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )


class S3Error(AWSError):
    """An error only S3 answers."""

    apis = frozenset({API.S3})


class QueryError(AWSError):
    """An error only the Query APIs (IAM, STS) answer."""

    apis = frozenset({API.IAM, API.STS})


# --- every API: failures of the gateway ------------------------------------------


class InternalError(AWSError):
    code = "InternalError"
    status = 500
    query_code = "InternalFailure"
    query_message = "The request processing has failed because of an unknown error."


class ServiceUnavailable(AWSError):
    code = "ServiceUnavailable"
    status = 503
    default_message = "Reduce your request rate or try again later: no storage node is available."


# --- every API: authentication (SigV4) and authorisation -------------------------
# IAM and STS name some of S3's SigV4 failures otherwise (their Common Errors, and
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-troubleshooting.html).

_INVALID_CLIENT_MESSAGE = "The security token included in the request is invalid."


class AccessDenied(AWSError):
    code = "AccessDenied"
    status = 403
    default_message = "Access Denied"


class SignatureDoesNotMatch(AWSError):
    code = "SignatureDoesNotMatch"
    status = 403
    default_message = (
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method."
    )


class InvalidAccessKeyId(AWSError):
    code = "InvalidAccessKeyId"
    status = 403
    default_message = "The AWS Access Key Id you provided does not exist in our records."
    query_code = "InvalidClientTokenId"
    query_message = _INVALID_CLIENT_MESSAGE


class InvalidToken(AWSError):
    code = "InvalidToken"
    status = 400
    default_message = "The provided token is malformed or otherwise invalid."
    query_code = "InvalidClientTokenId"
    query_status = 403
    query_message = _INVALID_CLIENT_MESSAGE


class ExpiredToken(AWSError):
    code = "ExpiredToken"
    status = 400
    default_message = "The provided token has expired."
    query_code = "ExpiredTokenException"
    query_status = 403


class RequestTimeTooSkewed(AWSError):
    code = "RequestTimeTooSkewed"
    status = 403
    default_message = "The difference between the request time and the server's time is too large."
    query_code = "SignatureDoesNotMatch"
    query_message = (
        "Signature expired: the request time is more than 15 minutes away from the server's time."
    )


class AuthorizationHeaderMalformed(AWSError):
    code = "AuthorizationHeaderMalformed"
    status = 400
    default_message = "The authorization header is malformed."
    query_code = "IncompleteSignature"


class AuthorizationQueryParametersError(AWSError):
    code = "AuthorizationQueryParametersError"
    status = 400
    default_message = "Query-string authentication parameters are malformed."
    query_code = "IncompleteSignature"


class InvalidRequest(AWSError):
    """A request that cannot be read one way only (a repeated signed header, an
    unsupported signing mechanism)."""

    code = "InvalidRequest"
    status = 400
    default_message = "Invalid Request"
    query_code = "IncompleteSignature"


class InvalidArgument(AWSError):
    """A malformed authentication value (x-amz-content-sha256, two mechanisms at once)."""

    code = "InvalidArgument"
    status = 400
    default_message = "Invalid Argument"
    query_code = "InvalidParameterValue"


class XAmzContentSHA256Mismatch(AWSError):
    code = "XAmzContentSHA256Mismatch"
    status = 400
    default_message = "The provided 'x-amz-content-sha256' header does not match what was computed."
    # A Query body is what its signature covers: another body is another signature.
    query_code = "SignatureDoesNotMatch"
    query_status = 403


# --- S3 only ---------------------------------------------------------------------


class NotImplementedS3(S3Error):
    code = "NotImplemented"
    status = 501
    default_message = (
        "A header or operation you provided implies functionality that is not implemented."
    )


class InvalidDigest(S3Error):
    code = "InvalidDigest"
    status = 400
    default_message = "The Content-MD5 or checksum you specified is not valid."


class BadDigest(S3Error):
    """A trailing checksum (x-amz-checksum-*) that does not match the body."""

    code = "BadDigest"
    status = 400
    default_message = "The checksum you specified did not match the calculated checksum."


class IncompleteBody(S3Error):
    code = "IncompleteBody"
    status = 400
    default_message = (
        "You did not provide the number of bytes specified by the Content-Length header."
    )


class MalformedPolicy(S3Error):
    code = "MalformedPolicy"
    status = 400
    default_message = "Policies must be valid JSON and the first byte must be '{'"


class NoSuchBucketPolicy(S3Error):
    code = "NoSuchBucketPolicy"
    status = 404
    default_message = "The bucket policy does not exist"


class NoSuchBucket(S3Error):
    code = "NoSuchBucket"
    status = 404
    default_message = "The specified bucket does not exist"


class InvalidBucketName(S3Error):
    code = "InvalidBucketName"
    status = 400
    default_message = "The specified bucket is not valid."


class InvalidObjectName(S3Error):
    code = "InvalidObjectName"
    status = 400
    default_message = "Object name contains an unsupported path segment ('.' or '..')."


class MalformedXML(S3Error):
    code = "MalformedXML"
    status = 400
    default_message = "The XML you provided was not well-formed or did not validate."


# --- IAM and STS -----------------------------------------------------------------


class InvalidAction(QueryError):
    code = "InvalidAction"
    status = 400
    default_message = "The action or operation requested is invalid."


class MissingAuthenticationToken(QueryError):
    code = "MissingAuthenticationToken"
    status = 403
    default_message = "Request is missing Authentication Token"


class ValidationError(QueryError):
    code = "ValidationError"
    status = 400


class MalformedPolicyDocument(QueryError):
    """A policy document IAM or STS refuses (from the policy library's error of the same
    name: iamgw.iam.errors.from_policy, iamgw.sts.errors.from_policy)."""

    code = "MalformedPolicyDocument"
    status = 400


class RequestEntityTooLargeException(QueryError):
    code = "RequestEntityTooLargeException"
    status = 413
    default_message = "The request body is larger than the 1 MiB a Query API call may have."
