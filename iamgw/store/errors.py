"""Store errors. The IAM layer answers each with the IAM error of the same name
(`iamgw.iam.errors.from_store`); `StoreUnavailable` is the gateway's ServiceUnavailable.

SQLAlchemy's exceptions are converted where they enter (`raise ... from exc`),
so nothing above the store sees a database driver's error type.
"""

from __future__ import annotations


class StoreError(Exception):
    pass


class StoreUnavailable(StoreError):
    pass


class EntityAlreadyExists(StoreError):
    pass


class NoSuchEntity(StoreError):
    pass


class DeleteConflict(StoreError):
    pass


class LimitExceeded(StoreError):
    pass


class InvalidInput(StoreError):
    pass
