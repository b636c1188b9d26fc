"""AWS error types and their XML, rendered in one place.

Each error is a class carrying its wire code and HTTP status, as in the AWS
references: S3 errors (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html)
render as `<Error>`; the Query APIs (STS, IAM) as `<ErrorResponse>` with a
`Type` of Sender or Receiver.

    AWSError
     ├── S3Error          <Error><Code/><Message/><Resource/><RequestId/></Error>
     └── QueryError       <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>
"""

from __future__ import annotations

import re
from typing import ClassVar
from xml.sax.saxutils import escape

# What XML 1.0 cannot carry (control characters, lone UTF-16 surrogates, U+FFFE/U+FFFF):
# text echoed from a request (a key, a parameter, a claim) may hold any of them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: str) -> str:
    """`value` escaped for an XML element, with what XML cannot carry replaced by U+FFFD,
    so that an answer is always well-formed UTF-8."""
    return escape(_NOT_XML.sub("\ufffd", value))


class AWSError(Exception):
    code: ClassVar[str] = "InternalError"
    status: ClassVar[int] = 500
    default_message: ClassVar[str] = "We encountered an internal error. Please try again."

    def __init__(self, message: str | None = None, *, resource: str = "") -> None:
        self.message = message or self.default_message
        self.resource = resource
        super().__init__(self.message)

    def to_xml(self, request_id: str) -> str:
        raise NotImplementedError


class S3Error(AWSError):
    def to_xml(self, request_id: str) -> str:
        resource = f"<Resource>{xml_text(self.resource)}</Resource>" if self.resource else ""
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{self.code}</Code><Message>{xml_text(self.message)}</Message>"
            f"{resource}<RequestId>{request_id}</RequestId></Error>"
        )


class QueryError(AWSError):
    """An error of the STS or IAM Query API."""

    sender: ClassVar[bool] = True
    namespace: ClassVar[str] = "https://sts.amazonaws.com/doc/2011-06-15/"

    def to_xml(self, request_id: str) -> str:
        kind = "Sender" if self.sender else "Receiver"
        return (
            f'<ErrorResponse xmlns="{self.namespace}">'
            f"<Error><Type>{kind}</Type><Code>{self.code}</Code>"
            f"<Message>{xml_text(self.message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )


# --- S3 -------------------------------------------------------------------


class InternalError(S3Error):
    pass


class NotImplementedS3(S3Error):
    code = "NotImplemented"
    status = 501
    default_message = (
        "A header or operation you provided implies functionality that is not implemented."
    )


class AccessDenied(S3Error):
    code = "AccessDenied"
    status = 403
    default_message = "Access Denied"


class ServiceUnavailable(S3Error):
    code = "ServiceUnavailable"
    status = 503
    default_message = "Reduce your request rate or try again later: no storage node is available."


class MethodNotAllowed(S3Error):
    code = "MethodNotAllowed"
    status = 405
    default_message = "The specified method is not allowed against this resource."


class InvalidRequest(S3Error):
    code = "InvalidRequest"
    status = 400
    default_message = "Invalid Request"


# --- Query APIs (STS, IAM) --------------------------------------------------


class QueryInternalError(QueryError):
    code = "InternalFailure"
    status = 500
    sender = False
    default_message = "The request processing has failed because of an unknown error."


class QueryNotImplemented(QueryError):
    code = "NotImplemented"
    status = 501
    sender = False
    default_message = "This action is not implemented by iamgw yet."


class InvalidAction(QueryError):
    code = "InvalidAction"
    status = 400
    default_message = "The action or operation requested is invalid."


class MissingAction(QueryError):
    code = "MissingAction"
    status = 400
    default_message = "The request is missing an action or a required parameter."


class QueryRequestTooLarge(QueryError):
    code = "RequestEntityTooLarge"
    status = 413
    default_message = "The request body is larger than the 1 MiB a Query API call may have."


class QueryValidationError(QueryError):
    code = "ValidationError"
    status = 400


# --- S3 authentication (SigV4) and authorisation ------------------------------


class SignatureDoesNotMatch(S3Error):
    code = "SignatureDoesNotMatch"
    status = 403
    default_message = (
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method."
    )


class InvalidAccessKeyId(S3Error):
    code = "InvalidAccessKeyId"
    status = 403
    default_message = "The AWS Access Key Id you provided does not exist in our records."


class RequestTimeTooSkewed(S3Error):
    code = "RequestTimeTooSkewed"
    status = 403
    default_message = "The difference between the request time and the server's time is too large."


class AuthorizationHeaderMalformed(S3Error):
    code = "AuthorizationHeaderMalformed"
    status = 400
    default_message = "The authorization header is malformed."


class AuthorizationQueryParametersError(S3Error):
    code = "AuthorizationQueryParametersError"
    status = 400
    default_message = "Query-string authentication parameters are malformed."


class XAmzContentSHA256Mismatch(S3Error):
    code = "XAmzContentSHA256Mismatch"
    status = 400
    default_message = "The provided 'x-amz-content-sha256' header does not match what was computed."


class InvalidDigest(S3Error):
    code = "InvalidDigest"
    status = 400
    default_message = "The Content-MD5 or checksum you specified is not valid."


class IncompleteBody(S3Error):
    code = "IncompleteBody"
    status = 400
    default_message = (
        "You did not provide the number of bytes specified by the Content-Length header."
    )


class ExpiredToken(S3Error):
    code = "ExpiredToken"
    status = 400
    default_message = "The provided token has expired."


class InvalidToken(S3Error):
    code = "InvalidToken"
    status = 400
    default_message = "The provided token is malformed or otherwise invalid."


class MalformedPolicy(S3Error):
    code = "MalformedPolicy"
    status = 400
    default_message = "Policies must be valid JSON and the first byte must be '{'"


class NoSuchBucketPolicy(S3Error):
    code = "NoSuchBucketPolicy"
    status = 404
    default_message = "The bucket policy does not exist"


class InvalidArgument(S3Error):
    code = "InvalidArgument"
    status = 400
    default_message = "Invalid Argument"


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
