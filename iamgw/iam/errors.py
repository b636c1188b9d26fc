"""IAM's own errors, each carrying its wire code and HTTP status.

https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html and the
"Errors" section of each action (botocore's iam model). The errors IAM shares with
STS and S3 (AccessDenied, ValidationError, MalformedPolicyDocument,
MissingAuthenticationToken, the SigV4 failures) are in `iamgw.errors`. The store's
errors and the policy library's `MalformedPolicyDocument` are converted where they
enter the IAM layer (`from_store`, `from_policy`).

    QueryError (iamgw.errors)
     └── IAMError      <ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
          ├── EntityAlreadyExists, DeleteConflict, LimitExceeded   409
          ├── NoSuchEntity                                         404
          ├── InvalidInput                                         400
          └── ServiceFailure                                       500
"""

from __future__ import annotations

from iamgw import policy, store
from iamgw.errors import API, NAMESPACES, AWSError, MalformedPolicyDocument, QueryError

IAM_NS = NAMESPACES[API.IAM]


class IAMError(QueryError):
    """An error only IAM answers."""

    apis = frozenset({API.IAM})


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


class InvalidInput(IAMError):
    code = "InvalidInput"
    status = 400


class ServiceFailure(IAMError):
    code = "ServiceFailure"
    status = 500


_FROM_STORE: dict[type[store.StoreError], type[IAMError]] = {
    store.EntityAlreadyExists: EntityAlreadyExists,
    store.NoSuchEntity: NoSuchEntity,
    store.DeleteConflict: DeleteConflict,
    store.LimitExceeded: LimitExceeded,
    store.InvalidInput: InvalidInput,
}


def from_store(exc: store.StoreError) -> IAMError:
    """The IAM error of a store error (the same name, the same message)."""
    cls = next((v for k, v in _FROM_STORE.items() if isinstance(exc, k)), ServiceFailure)
    return cls(str(exc) or None)


def from_policy(exc: policy.MalformedPolicyDocument) -> AWSError:
    """IAM's MalformedPolicyDocument, with the JSON path of the fault when there is one;
    a document over its size quota is LimitExceeded, as IAM answers it."""
    if isinstance(exc, policy.PolicySizeExceeded):
        return LimitExceeded(exc.message)
    where = f" (at {exc.path})" if exc.path else ""
    return MalformedPolicyDocument(f"{exc.message}{where}")
