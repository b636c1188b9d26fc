"""IAM errors, each carrying its wire code and HTTP status.

https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html and the
"Errors" section of each action. The store's errors (`iamgw.store.StoreError`,
each with the same `code`) and the policy library's `MalformedPolicyDocument`
are converted where they enter the IAM layer (`from_store`, `from_policy`).

    QueryError (iamgw.errors)
     └── IAMError               <ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
          ├── EntityAlreadyExists, NoSuchEntity, DeleteConflict, LimitExceeded (409/404)
          ├── MalformedPolicyDocument, InvalidInput, ValidationError (400)
          └── AccessDenied, MissingAuthenticationToken (403)
"""

from __future__ import annotations

from typing import ClassVar

from iamgw.errors import QueryError
from iamgw.policy import MalformedPolicyDocument as PolicyDocumentError
from iamgw.store import StoreError

IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"


class IAMError(QueryError):
    namespace: ClassVar[str] = IAM_NS


class EntityAlreadyExists(IAMError):
    code = "EntityAlreadyExists"
    status = 409


class NoSuchEntity(IAMError):
    code = "NoSuchEntity"
    status = 404


class DeleteConflict(IAMError):
    code = "DeleteConflict"
    status = 409


class LimitExceeded(IAMError):
    code = "LimitExceeded"
    status = 409


class MalformedPolicyDocument(IAMError):
    code = "MalformedPolicyDocument"
    status = 400


class InvalidInput(IAMError):
    code = "InvalidInput"
    status = 400


class ValidationError(IAMError):
    code = "ValidationError"
    status = 400


class AccessDenied(IAMError):
    code = "AccessDenied"
    status = 403
    default_message = "Access Denied"


class MissingAuthenticationToken(IAMError):
    code = "MissingAuthenticationToken"
    status = 403
    default_message = "Request is missing Authentication Token"


class ServiceFailure(IAMError):
    code = "ServiceFailure"
    status = 500
    sender = False


_BY_CODE: dict[str, type[IAMError]] = {
    cls.code: cls
    for cls in (
        EntityAlreadyExists,
        NoSuchEntity,
        DeleteConflict,
        LimitExceeded,
        InvalidInput,
        ServiceFailure,
    )
}


def from_store(exc: StoreError) -> IAMError:
    """The IAM error of a store error (same code, same message)."""
    return _BY_CODE.get(exc.code, ServiceFailure)(str(exc) or None)


def from_policy(exc: PolicyDocumentError) -> IAMError:
    """IAM's MalformedPolicyDocument, with the JSON path of the fault when there is one;
    a document over its size quota is LimitExceeded, as IAM answers it."""
    if exc.message.startswith("Cannot exceed quota"):
        return LimitExceeded(exc.message)
    where = f" (at {exc.path})" if exc.path else ""
    return MalformedPolicyDocument(f"{exc.message}{where}")
