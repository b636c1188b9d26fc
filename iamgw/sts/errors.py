"""STS errors, each with its wire code and HTTP status (STS API Reference, "Common Errors"
and each action's "Errors" section).

    QueryError (iamgw.errors)
     └── STSError
          ├── InvalidIdentityToken      400  the web identity token cannot be trusted
          ├── ExpiredTokenException     400  ... or its time is over
          ├── IDPRejectedClaim          403  a claim the role or the provider needs is refused
          ├── IDPCommunicationError     400  the provider's keys cannot be fetched
          ├── AccessDenied              403  trust policy, root, session rules
          ├── MalformedPolicyDocument   400  the session policy is not a valid policy
          ├── PackedPolicyTooLarge      400  session policies and tags exceed the packed limit
          ├── ValidationError           400  a parameter outside its bounds
          ├── MissingParameter          400
          ├── InvalidParameterValue     400
          ├── MissingAuthenticationToken 403  an action that needs SigV4 was not signed
          └── RegionDisabled            403
"""

from __future__ import annotations

from iamgw.errors import QueryError


class STSError(QueryError):
    """An error of an STS action."""


class InvalidIdentityToken(STSError):
    code = "InvalidIdentityToken"
    status = 400
    default_message = "The web identity token that was passed could not be validated by AWS."


class ExpiredTokenException(STSError):
    code = "ExpiredTokenException"
    status = 400
    default_message = "Token expired."


class IDPRejectedClaim(STSError):
    code = "IDPRejectedClaim"
    status = 403
    default_message = "The identity provider rejected a claim of the token."


class IDPCommunicationError(STSError):
    code = "IDPCommunicationError"
    status = 400
    default_message = "The identity provider could not be reached; try again."


class AccessDenied(STSError):
    code = "AccessDenied"
    status = 403
    default_message = "Access denied."


class MalformedPolicyDocument(STSError):
    code = "MalformedPolicyDocument"
    status = 400
    default_message = "The policy document is malformed."


class PackedPolicyTooLarge(STSError):
    code = "PackedPolicyTooLarge"
    status = 400
    default_message = "The session policies and tags exceed the packed size limit."


class ValidationError(STSError):
    code = "ValidationError"
    status = 400


class MissingParameter(STSError):
    code = "MissingParameter"
    status = 400


class InvalidParameterValue(STSError):
    code = "InvalidParameterValue"
    status = 400


class MissingAuthenticationToken(STSError):
    code = "MissingAuthenticationToken"
    status = 403
    default_message = "Request is missing Authentication Token"


class RegionDisabled(STSError):
    code = "RegionDisabled"
    status = 403
    default_message = "STS is not activated in the requested region."
