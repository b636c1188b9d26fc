"""Errors of the policy library.

    PolicyError
    └── MalformedPolicyDocument   parsing and validation (IAM error code of the same name)
        └── PolicySizeExceeded    a document over the size quota of its kind (IAM answers
                                  it as LimitExceeded)

Evaluation never raises: it returns a `Decision`.
"""

from __future__ import annotations


class PolicyError(Exception):
    """Base class of every error raised by `iamgw.policy`."""

    code = "PolicyError"


class MalformedPolicyDocument(PolicyError):
    """A policy document that IAM would reject.

    `path` is the JSON path of the fault, e.g. ``Statement[2].Condition.StringLike``
    (empty for the document as a whole). The message follows IAM's wording.
    """

    code = "MalformedPolicyDocument"
    status = 400

    def __init__(self, message: str, path: str = "") -> None:
        self.message = message
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class PolicySizeExceeded(MalformedPolicyDocument):
    """A document over the size quota of its kind (`SIZE_LIMITS`, or `max_size`)."""
