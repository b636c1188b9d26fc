"""STS's own errors, each with its wire code and HTTP status (STS API Reference, "Common
Errors" and each action's "Errors" section; botocore's sts model). The errors STS shares
with IAM and S3 (AccessDenied, ValidationError, MalformedPolicyDocument,
MissingAuthenticationToken, the SigV4 failures) are in `iamgw.errors`; the policy
library's `MalformedPolicyDocument` is converted where it enters (`from_policy`).

    QueryError (iamgw.errors)
     └── STSError
          ├── InvalidIdentityToken      400  the web identity token cannot be trusted
          ├── ExpiredTokenException     400  ... or its time is over
          ├── IDPCommunicationError     400  the provider's keys cannot be fetched
          ├── PackedPolicyTooLarge      400  session policies and tags exceed the packed limit
          ├── MissingParameter          400
          ├── InvalidParameterValue     400
          └── Throttling                400  too many failed logins (AssumeRoleWithLDAPIdentity)

An LDAP directory that cannot be reached is the shared `ServiceUnavailable` (503).
"""

from __future__ import annotations

from iamgw import policy
from iamgw.errors import API, MalformedPolicyDocument, QueryError


class STSError(QueryError):
    """An error only STS answers."""

    apis = frozenset({API.STS})


class InvalidIdentityToken(STSError):
    code = "InvalidIdentityToken"
    status = 400
    default_message = "The web identity token that was passed could not be validated by AWS."


class ExpiredTokenException(STSError):
    code = "ExpiredTokenException"
    status = 400
    default_message = "Token expired."


class IDPCommunicationError(STSError):
    code = "IDPCommunicationError"
    status = 400
    default_message = "The identity provider could not be reached; try again."


class PackedPolicyTooLarge(STSError):
    code = "PackedPolicyTooLarge"
    status = 400
    default_message = "The session policies and tags exceed the packed size limit."


class MissingParameter(STSError):
    code = "MissingParameter"
    status = 400


class InvalidParameterValue(STSError):
    code = "InvalidParameterValue"
    status = 400


class Throttling(STSError):
    """AWS's rate-limit answer to Query calls ("Rate exceeded"; botocore retries it, its
    `data/_retry.json` "throttling"): here, failed LDAP logins of one user name or from
    one address beyond the directory's limit."""

    code = "Throttling"
    status = 400
    default_message = "Rate exceeded"


def from_policy(exc: policy.MalformedPolicyDocument) -> MalformedPolicyDocument:
    """STS's MalformedPolicyDocument for a session policy the library refuses."""
    return MalformedPolicyDocument(str(exc))
