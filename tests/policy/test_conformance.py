"""The decision cases of cloud-copilot/iam-simulate (../shared/conformance/iam-simulate).

Every case runs, except Discovery-mode cases (a feature of that tool: reporting which
conditions were ignored) and the groups that need AWS service metadata, each listed
below with its reason. Where a case contradicts AWS's documentation, the test asserts
the documented behaviour and names the page (DIVERGENCES).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iamgw.policy import Outcome, Policy, PolicyKind, Request, evaluate, parse_policy
from iamgw.policy.wildcard import has_wildcard

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "conformance" / "iam-simulate"

# Groups needing AWS service metadata this engine does not carry.
METADATA_SKIPS = {
    "iam/managedPolicies/aws/denied.json": (
        "needs AWS metadata: AWS managed policies (arn:aws:iam::aws:policy/...) cannot be "
        "modified by anyone"
    ),
    "iam/roles/reserved/denied.json": (
        "needs AWS metadata: reserved role paths (role/aws-reserved/...) are read-only"
    ),
    "kms/aliases.json": "needs AWS metadata: AWS managed KMS aliases (alias/aws/...)",
}

# name -> (expected outcome per the documentation, citation)
DIVERGENCES = {
    "Implicit deny in session policy denies even if session ARN in resource policy": (
        "Allowed",
        "STS API Reference, AssumeRole/GetFederationToken: permissions a resource policy "
        "grants to the session ARN are 'granted in addition to the permissions that are "
        "granted by the session policies' "
        "(https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html)",
    ),
}


# iam-simulate's names of the policy types that blocked a request -> PolicyType values
BLOCKED_BY = {
    "identity": "identity",
    "resource": "resource",
    "pb": "boundary",
    "session": "session",
    "scp": "scp",
    "rcp": "rcp",
    "vpce": "endpoint",
}


def _cases(corpus: Path = CORPUS) -> list[Any]:
    if not corpus.is_dir():
        return [
            pytest.param(
                None,
                marks=pytest.mark.skip(reason=f"conformance data absent: {corpus} (fresh clone)"),
                id="corpus-absent",
            )
        ]
    params = []
    for path in sorted(corpus.rglob("*.json")):
        group = path.relative_to(corpus).as_posix()
        for i, case in enumerate(json.loads(path.read_text())):
            marks = []
            if (case.get("simulation") or {}).get("mode") == "Discovery":
                marks.append(pytest.mark.skip(reason="Discovery mode: a feature of iam-simulate"))
            elif group in METADATA_SKIPS:
                marks.append(pytest.mark.skip(reason=METADATA_SKIPS[group]))
            params.append(pytest.param(case, marks=marks, id=f"{group}[{i}]"))
    return params


def _policy(entry: Any, kind: PolicyKind, n: int) -> Policy:
    doc = entry["policy"] if "policy" in entry and "Statement" not in entry else entry
    name = entry.get("name") if doc is not entry else None
    return parse_policy(doc, kind, name=name or f"{kind}-{n}", strict=False)


def _policies(entries: Any, kind: PolicyKind) -> list[Policy]:
    return [_policy(e, kind, n) for n, e in enumerate(entries or [])]


def _levels(entries: Any, kind: PolicyKind) -> list[list[Policy]]:
    return [_policies(level["policies"], kind) for level in entries or []]


def build(case: dict[str, Any]) -> tuple[Request, dict[str, Any]]:
    req = case["request"]
    principal = req["principal"]
    if isinstance(principal, dict):  # {"type": "Anonymous"}
        principal = None
    resource = req["resource"]["resource"]
    pattern = has_wildcard(resource) and not req.get("wildcardOnlyAction", False)
    request = Request(
        req["action"],
        resource,
        principal=principal,
        context=req.get("context") or {},
        resource_account=req["resource"].get("accountId"),
        resource_is_pattern=pattern,
    )
    resource_policies = []
    if case.get("resourcePolicy"):
        resource_policies.append(_policy(case["resourcePolicy"], PolicyKind.RESOURCE, 0))
    resource_policies += _policies(case.get("resourcePolicies"), PolicyKind.RESOURCE)
    kwargs: dict[str, Any] = {
        "identity": _policies(case.get("identityPolicies"), PolicyKind.IDENTITY),
        "resource_policy": resource_policies,
        "boundaries": _policies(case.get("permissionBoundaries"), PolicyKind.BOUNDARY),
        "session_policies": (
            [_policy(case["sessionPolicy"], PolicyKind.SESSION, 0)]
            if case.get("sessionPolicy")
            else []
        ),
        "scps": _levels(case.get("serviceControlPolicies"), PolicyKind.SCP),
        "rcps": _levels(case.get("resourceControlPolicies"), PolicyKind.RCP),
        "endpoint_policies": _policies(case.get("endpointPolicies"), PolicyKind.ENDPOINT),
    }
    return request, kwargs


@pytest.mark.parametrize("case", _cases())
def test_case(case: dict[str, Any]) -> None:
    request, kwargs = build(case)
    expected = case["expected"]["response"]
    if case["name"] in DIVERGENCES:
        expected = DIVERGENCES[case["name"]][0]
    decision = evaluate(request, **kwargs)
    assert decision.outcome == Outcome(expected), decision.explain()
    if "blockedBy" in case["expected"] and case["name"] not in DIVERGENCES:
        blocked = {BLOCKED_BY[b] for b in case["expected"]["blockedBy"]}
        assert {str(b) for b in decision.blocked_by} == blocked, decision.explain()


def test_divergences_exist() -> None:
    """Each listed divergence names a case still in the corpus (or the corpus is absent)."""
    if not CORPUS.is_dir():
        pytest.skip(f"conformance data absent: {CORPUS}")
    names = {c["name"] for p in CORPUS.rglob("*.json") for c in json.loads(p.read_text())}
    assert set(DIVERGENCES) <= names


def test_absent_corpus_skips(tmp_path: Path) -> None:
    (param,) = _cases(tmp_path / "shared" / "conformance" / "iam-simulate")
    assert param.id == "corpus-absent"
    assert "conformance data absent" in param.marks[0].kwargs["reason"]
