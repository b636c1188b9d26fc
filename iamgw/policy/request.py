"""A request to decide: action, resource, principal and the request context."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .principal import Principal, PrincipalKind
from .resource import arn_account

ContextValue = str | bool | int | float | Iterable[str | bool | int | float] | None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def normalize_context(context: Mapping[str, ContextValue]) -> dict[str, tuple[str, ...]]:
    """Keys lower-cased (IAM compares them without regard to case), every value a tuple
    of strings (a multi-valued key keeps its values; None drops the key)."""
    out: dict[str, tuple[str, ...]] = {}
    for key, value in context.items():
        if value is None:
            continue
        if isinstance(value, str | bool | int | float):
            out[key.lower()] = (_text(value),)
        else:
            out[key.lower()] = tuple(_text(v) for v in value)
    return out


class Request:
    """What is asked: `principal` (an ARN, a service principal such as
    ``lambda.amazonaws.com``, or None for an anonymous request) wants to do `action`
    on `resource` (an ARN, or ``*``) with the request `context` (condition keys).

    `resource_account` is the account owning the resource; by default the ARN's
    account, else (S3 ARNs carry none) the principal's. `resource_is_pattern` marks
    a request for a set of resources (``arn:aws:s3:::bucket/*``): a simulation
    feature; a real request's ``*`` in an object key is literal and stays so.

    Keys IAM always sets are added when absent: ``aws:PrincipalArn``,
    ``aws:PrincipalAccount``, ``aws:PrincipalType`` and, for IAM users,
    ``aws:username``.
    """

    __slots__ = (
        "action",
        "resource",
        "principal",
        "context",
        "resource_account",
        "resource_is_pattern",
        "action_lower",
        "service",
        "principal_info",
        "_key",
    )

    def __init__(
        self,
        action: str,
        resource: str,
        principal: str | None = None,
        context: Mapping[str, ContextValue] | None = None,
        resource_account: str | None = None,
        resource_is_pattern: bool = False,
    ) -> None:
        self.action = action
        self.resource = resource
        self.principal = principal
        info = Principal.parse(principal)
        self.principal_info = info
        self.action_lower = action.lower()
        self.service = self.action_lower.partition(":")[0]
        ctx = normalize_context(context or {})
        _derive(ctx, info)
        self.context: dict[str, tuple[str, ...]] = ctx
        self.resource_account = resource_account or arn_account(resource) or info.account
        self.resource_is_pattern = resource_is_pattern
        self._key: tuple[Any, ...] | None = None

    @property
    def key(self) -> tuple[Any, ...]:
        """Everything about the request a decision depends on (for caching)."""
        if self._key is None:
            self._key = (
                self.action_lower,
                self.resource,
                self.principal,
                self.resource_account,
                self.resource_is_pattern,
                tuple(sorted(self.context.items())),
            )
        return self._key

    def __repr__(self) -> str:
        return f"Request({self.action!r}, {self.resource!r}, principal={self.principal!r})"


_PRINCIPAL_TYPES = {
    PrincipalKind.ROOT: "Account",
    PrincipalKind.USER: "User",
    PrincipalKind.SESSION: "AssumedRole",
    PrincipalKind.FEDERATED_USER: "FederatedUser",
    PrincipalKind.ROLE: "AssumedRole",
    PrincipalKind.ANONYMOUS: "Anonymous",
}


def _derive(ctx: dict[str, tuple[str, ...]], info: Principal) -> None:
    # IAM User Guide, "AWS global condition context keys": present in every
    # authenticated request.
    if info.anonymous or info.kind is PrincipalKind.SERVICE:
        return
    principal_arn = info.role_arn if info.kind is PrincipalKind.SESSION else info.arn
    if principal_arn:
        ctx.setdefault("aws:principalarn", (principal_arn,))
    if info.account:
        ctx.setdefault("aws:principalaccount", (info.account,))
    ptype = _PRINCIPAL_TYPES.get(info.kind)
    if ptype:
        ctx.setdefault("aws:principaltype", (ptype,))
    if info.kind is PrincipalKind.USER:
        ctx.setdefault("aws:username", (info.arn.rsplit("/", 1)[-1],))
