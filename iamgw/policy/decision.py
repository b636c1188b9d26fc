"""The outcome of an evaluation, and why."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    """AWS's three answers (IAM policy simulator: allowed, implicitDeny, explicitDeny)."""

    ALLOWED = "Allowed"
    IMPLICITLY_DENIED = "ImplicitlyDenied"
    EXPLICITLY_DENIED = "ExplicitlyDenied"


class PolicyType(StrEnum):
    """The policy types of AWS's evaluation logic, in the order they are reported."""

    IDENTITY = "identity"
    RESOURCE = "resource"
    BOUNDARY = "boundary"
    SESSION = "session"
    SCP = "scp"
    RCP = "rcp"
    ENDPOINT = "endpoint"


@dataclass(frozen=True, slots=True)
class Decision:
    """Allowed, implicitly denied or explicitly denied, with what decided it.

    For an allow or an explicit deny, `policy_type`, `policy` (the policy's name) and
    `statement` (its Sid, or its index as ``#3``) name the deciding statement. For an
    implicit deny, `blocked_by` names the limiting policy types that did not allow
    (empty when simply nothing allowed).
    """

    outcome: Outcome
    policy_type: PolicyType | None = None
    policy: str | None = None
    statement: str | None = None
    blocked_by: tuple[PolicyType, ...] = ()
    reason: str = ""

    @property
    def allowed(self) -> bool:
        return self.outcome is Outcome.ALLOWED

    def __bool__(self) -> bool:
        return self.allowed

    def explain(self) -> str:
        """One line for people: the outcome and the statement that decided it."""
        where = ""
        if self.statement is not None:
            where = f" by {self.policy_type} policy {self.policy!r} statement {self.statement}"
        elif self.blocked_by:
            where = " by " + ", ".join(str(b) for b in self.blocked_by) + " (no allow)"
        elif self.outcome is Outcome.IMPLICITLY_DENIED:
            where = " (no statement matched)"
        reason = f": {self.reason}" if self.reason else ""
        return f"{self.outcome}{where}{reason}"
