"""Casbin behind the `iamgw.policy` API (the only module importing it).

The enforcer holds the model (`model.conf`) and one policy line per statement; the
function registered as ``iamStatement`` matches a line's statement against a request
with IAM's semantics. Casbin's generic enforcement evaluates its matcher expression
for every line, which costs tens of microseconds a line in Python, so the engine does
not decide through it: `evaluate` asks the statement index (`index.py`) for the few
statements a request can touch and combines them as IAM does. `enforce` runs Casbin's
generic path, and the tests hold the two to the same answers.
"""

from __future__ import annotations

from importlib import resources

import casbin
from casbin.effect import Effector

from .document import Policy
from .effect import Effect
from .errors import PolicyError
from .principal import Strength
from .request import Request

_KINDS_WITH_PRINCIPAL = frozenset({"resource", "trust"})


def model_text() -> str:
    return resources.files(__package__).joinpath("model.conf").read_text()


class CasbinEnforcer:
    """A Casbin enforcer whose policy lines are the statements of iamgw policies."""

    def __init__(self) -> None:
        try:
            model = casbin.Enforcer.new_model(text=model_text())
            self._enforcer = casbin.Enforcer(model)
        except Exception as exc:  # Casbin's errors enter iamgw here
            raise PolicyError(f"cannot load the Casbin model: {exc}") from exc
        self._enforcer.add_function("iamStatement", self._match)
        self._policies: dict[str, Policy] = {}

    @property
    def effector(self) -> Effector:
        return self._enforcer.eft

    def add(self, ptype: str, key: str, policy: Policy) -> None:
        """Add the statements of `policy` as lines of policy type `ptype`."""
        self.remove(key)
        self._policies[key] = policy
        lines = [
            [ptype, key, str(st.index), "allow" if st.effect is Effect.ALLOW else "deny"]
            for st in policy.statements
        ]
        if lines:
            self._enforcer.add_policies(lines)

    def remove(self, key: str) -> None:
        if self._policies.pop(key, None) is not None:
            self._enforcer.remove_filtered_policy(1, key)

    def lines(self) -> list[list[str]]:
        return [list(line) for line in self._enforcer.get_policy()]

    def _match(self, request: Request, key: str, index: str) -> bool:
        policy = self._policies.get(key)
        if policy is None:
            return False
        st = policy.statements[int(index)]
        if not st.applies(request):
            return False
        if st.principal is None:
            return policy.kind.value not in _KINDS_WITH_PRINCIPAL
        return st.principal_strength(request.principal_info) is not Strength.NONE

    def enforce(self, request: Request, ptype: str) -> tuple[bool, list[str]]:
        """Casbin's generic enforcement over every line of `ptype`: whether some
        statement allows and none denies, and the deciding line (a deny) if any."""
        result, explain = self._enforcer.enforce_ex(request, ptype)
        return bool(result), list(explain)

    def final_effect(self, allow: bool, deny: bool) -> bool:
        """The model's effect for the given matches (some allow and no deny)."""
        effects = set()
        if allow:
            effects.add(Effector.ALLOW)
        if deny:
            effects.add(Effector.DENY)
        return bool(self.effector.final_effect(effects) == Effector.ALLOW)
