"""The engine the gateway holds: named policies, decisions cached, and a Casbin
enforcer of the same policies kept in step (`casbin`; decisions do not consult it).

A decision depends on the request (action, resource, principal, resource account,
context) and on the policies that apply; the cache key holds all of them (policies
by name, or by content digest when passed as objects), and any change to the named
policies clears the cache.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from ._casbin import CasbinEnforcer
from .decision import Decision
from .document import Policy, PolicyKind, parse_policy
from .evaluate import evaluate
from .request import Request

PolicyRef = str | Policy


class Engine:
    """Holds named policies and decides requests against them, with a decision cache.

    >>> engine = Engine()
    >>> _ = engine.put("readonly", {"Version": "2012-10-17", "Statement": [
    ...     {"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]})
    >>> engine.evaluate(Request("s3:GetObject", "arn:aws:s3:::b/k",
    ...     "arn:aws:iam::000000000000:user/alice"), identity=["readonly"]).outcome
    <Outcome.ALLOWED: 'Allowed'>
    """

    def __init__(self, cache_size: int = 100_000) -> None:
        self._policies: dict[str, Policy] = {}
        self._casbin = CasbinEnforcer()
        self._cache: dict[tuple[Any, ...], Decision] = {}
        self._cache_size = cache_size
        self.hits = 0
        self.misses = 0

    # Policies

    def put(
        self,
        name: str,
        policy: Policy | str | bytes | Mapping[str, Any],
        kind: PolicyKind | str = PolicyKind.IDENTITY,
    ) -> Policy:
        """Add or replace a named policy (a document is parsed: may raise
        `MalformedPolicyDocument`)."""
        if not isinstance(policy, Policy):
            policy = parse_policy(policy, kind, name=name)
        self._policies[name] = policy
        self._casbin.add(str(policy.kind), name, policy)
        self._cache.clear()
        return policy

    def remove(self, name: str) -> None:
        if self._policies.pop(name, None) is not None:
            self._casbin.remove(name)
            self._cache.clear()

    def get(self, name: str) -> Policy | None:
        return self._policies.get(name)

    def names(self) -> list[str]:
        return sorted(self._policies)

    @property
    def casbin(self) -> CasbinEnforcer:
        """The Casbin enforcer holding one line per statement of the named policies."""
        return self._casbin

    # Decisions

    def _resolve(self, refs: Sequence[PolicyRef]) -> list[Policy]:
        out = []
        for ref in refs:
            policy = ref if isinstance(ref, Policy) else self._policies.get(ref)
            if policy is not None:
                out.append(policy)
        return out

    def _limit(self, ref: PolicyRef | None) -> list[Policy]:
        if ref is None:
            return []
        policy = ref if isinstance(ref, Policy) else self._policies.get(ref)
        # A boundary or session policy that does not exist allows nothing.
        return [policy] if policy is not None else [_NOTHING]

    def _limits(self, refs: PolicyRef | Sequence[PolicyRef] | None) -> list[Policy]:
        # Several session policies (an inline Policy and PolicyArns): each must allow.
        if refs is None:
            return []
        return [p for ref in _level(refs) for p in self._limit(ref)]

    def evaluate(
        self,
        request: Request,
        identity: Sequence[PolicyRef] = (),
        resource_policy: PolicyRef | None = None,
        *,
        boundary: PolicyRef | None = None,
        session_policy: PolicyRef | Sequence[PolicyRef] | None = None,
        scps: Sequence[PolicyRef | Sequence[PolicyRef]] = (),
        rcps: Sequence[PolicyRef | Sequence[PolicyRef]] = (),
        endpoint_policies: Sequence[PolicyRef] = (),
    ) -> Decision:
        """Decide `request`; policies by name (held here) or as `Policy` objects.

        Unknown identity or resource policy names contribute nothing; an unknown
        boundary or session policy allows nothing. Never raises.
        """
        key = (
            request.key,
            _refs(identity),
            _ref(resource_policy),
            _ref(boundary),
            _refs(_level(session_policy)) if session_policy is not None else None,
            tuple(_refs(_level(level)) for level in scps),
            tuple(_refs(_level(level)) for level in rcps),
            _refs(endpoint_policies),
        )
        cached = self._cache.get(key)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        decision = evaluate(
            request,
            self._resolve(identity),
            self._resolve([resource_policy]) if resource_policy is not None else None,
            boundaries=self._limit(boundary),
            session_policies=self._limits(session_policy),
            scps=[self._resolve(_level(level)) for level in scps],
            rcps=[self._resolve(_level(level)) for level in rcps],
            endpoint_policies=self._resolve(endpoint_policies),
        )
        if len(self._cache) >= self._cache_size:
            # Oldest first. Threads may race here: losing an eviction is harmless.
            with contextlib.suppress(RuntimeError, KeyError, StopIteration):
                del self._cache[next(iter(self._cache))]
        self._cache[key] = decision
        return decision

    def clear_cache(self) -> None:
        self._cache.clear()


def _level(level: PolicyRef | Sequence[PolicyRef]) -> Sequence[PolicyRef]:
    return [level] if isinstance(level, str | Policy) else level


def _ref(ref: PolicyRef | None) -> str | None:
    if ref is None or isinstance(ref, str):
        return ref
    return "#" + ref.digest


def _refs(refs: Sequence[PolicyRef]) -> tuple[str | None, ...]:
    return tuple(_ref(r) for r in refs)


_NOTHING = parse_policy({"Version": "2012-10-17", "Statement": []}, name="(missing)")
