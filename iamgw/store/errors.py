"""Store errors, each carrying the IAM error code the API layer answers with.

SQLAlchemy's exceptions are converted where they enter (`raise ... from exc`),
so nothing above the store sees a database driver's error type.
"""

from __future__ import annotations

from typing import ClassVar


class StoreError(Exception):
    code: ClassVar[str] = "ServiceFailure"
    status: ClassVar[int] = 500


class StoreUnavailable(StoreError):
    code = "ServiceFailure"
    status = 503


class EntityAlreadyExists(StoreError):
    code = "EntityAlreadyExists"
    status = 409


class NoSuchEntity(StoreError):
    code = "NoSuchEntity"
    status = 404


class DeleteConflict(StoreError):
    code = "DeleteConflict"
    status = 409


class LimitExceeded(StoreError):
    code = "LimitExceeded"
    status = 409


class InvalidInput(StoreError):
    code = "InvalidInput"
    status = 400
