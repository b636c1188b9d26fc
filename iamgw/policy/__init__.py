"""iamgw.policy: AWS IAM policy documents, parsed, validated and evaluated as IAM does.

Implements the IAM JSON policy language and its evaluation logic as published in
the IAM User Guide, "IAM JSON policy reference":
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies.html
(and its "Policy evaluation logic" page:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).

Parsing is strict and raises `MalformedPolicyDocument`; evaluation never raises and
returns a `Decision`. `Engine` holds named policies and decides; a Casbin enforcer
of the same policies is kept in step with it (`Engine.casbin`). This package imports
nothing else of iamgw and does no I/O. Guide: docs/policy.md.
"""

from .decision import Decision, Outcome, PolicyType
from .document import SIZE_LIMITS, Policy, PolicyKind, parse_policy, validate
from .effect import Effect
from .engine import Engine
from .errors import MalformedPolicyDocument, PolicyError, PolicySizeExceeded
from .evaluate import evaluate
from .principal import Principal, PrincipalKind
from .request import Request

__all__ = [
    "SIZE_LIMITS",
    "Decision",
    "Effect",
    "Engine",
    "MalformedPolicyDocument",
    "Outcome",
    "Policy",
    "PolicyError",
    "PolicyKind",
    "PolicySizeExceeded",
    "PolicyType",
    "Principal",
    "PrincipalKind",
    "Request",
    "evaluate",
    "parse_policy",
    "validate",
]
