"""A policy statement, compiled for evaluation.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_statement.html
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .action import ActionPattern, compile_action_set
from .condition import Clause
from .effect import Effect
from .principal import Principal, PrincipalSpec, Strength
from .request import Request
from .resource import ResourcePattern, compile_arn_set
from .wildcard import Matcher


@dataclass(eq=False, slots=True)
class Statement:
    """One statement. `resources` is None when the statement has neither Resource nor
    NotResource (trust policies: it applies to the resource it is attached to);
    `principal` is None when it has neither Principal nor NotPrincipal."""

    index: int
    effect: Effect
    actions: tuple[ActionPattern, ...]
    not_action: bool = False
    resources: tuple[ResourcePattern, ...] | None = None
    not_resource: bool = False
    principal: PrincipalSpec | None = None
    not_principal: bool = False
    conditions: tuple[Clause, ...] = ()
    sid: str | None = None
    source: Mapping[str, Any] = field(default_factory=dict)
    # Compiled once: every Action pattern in one test, and every Resource pattern in
    # one test when none has a policy variable (else None: resolved per request).
    action_test: Matcher = field(init=False, repr=False)
    resource_test: Matcher | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.action_test = compile_action_set(self.actions)
        resources = self.resources
        if resources is not None and all(r.static for r in resources):
            self.resource_test = compile_arn_set(tuple(r.text for r in resources))
        else:
            self.resource_test = None

    @property
    def label(self) -> str:
        """The Sid, or ``#index`` for a statement without one."""
        return self.sid if self.sid else f"#{self.index}"

    def matches_action(self, action: str) -> bool:
        """`action` is lower case."""
        return bool(self.action_test(action)) != self.not_action

    def matches_resource(self, request: Request) -> bool:
        resources = self.resources
        if resources is None:
            return True
        context = request.context
        if not request.resource_is_pattern:
            value = request.resource
            hit = False
            for r in resources:
                if r.matches(value, context):
                    hit = True
                    break
            return hit != self.not_resource
        # The request names a set of resources (simulation): an Allow applies when it
        # may apply to some of them, a Deny only when it applies to all of them.
        pattern = request.resource
        allow = self.effect is Effect.ALLOW
        if allow != self.not_resource:
            # Allow+Resource and Deny+NotResource: overlap.
            hit = any(r.intersects(pattern, context) for r in resources)
        else:
            hit = any(r.covers(pattern, context) for r in resources)
        return hit != self.not_resource

    def principal_strength(self, principal: Principal, bounded: bool = False) -> Strength:
        """How this statement's Principal matches; NONE without a Principal element.

        `bounded`: the principal has a permissions boundary. IAM User Guide,
        "NotPrincipal": a Deny with NotPrincipal always denies principals that have a
        permissions boundary, whatever NotPrincipal lists.
        """
        spec = self.principal
        if spec is None:
            return Strength.NONE
        if self.not_principal and bounded:
            return Strength.DIRECT
        strength = spec.match(principal)
        if self.not_principal:
            return Strength.NONE if strength else Strength.DIRECT
        return strength

    def matches_conditions(self, request: Request) -> bool:
        context = request.context
        # A plain loop: this is the hot path, and all() over a generator is slower.
        for clause in self.conditions:  # noqa: SIM110
            if not clause.evaluate(context):
                return False
        return True

    def applies(self, request: Request) -> bool:
        """Action, resource and conditions (not the principal) match the request."""
        return self.matches_action(request.action_lower) and self.applies_to_resource(request)

    def applies_to_resource(self, request: Request) -> bool:
        """Resource and conditions match (the caller knows the action does)."""
        test = self.resource_test
        if test is not None and not request.resource_is_pattern:
            if bool(test(request.resource)) == self.not_resource:
                return False
        elif not self.matches_resource(request):
            return False
        context = request.context
        # Plain loops: this is the hot path, and all() over a generator is slower.
        for clause in self.conditions:  # noqa: SIM110
            if not clause.evaluate(context):
                return False
        return True
