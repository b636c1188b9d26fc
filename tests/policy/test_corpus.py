"""The policy corpus (tests/policy/corpus/, as MinIO's resource_corpus_test.go): every
accepted form parses, as an object and as JSON text; every refused form fails with
MalformedPolicyDocument naming the JSON path of the fault."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iamgw.policy import MalformedPolicyDocument, Policy
from tests.policy.policy_helpers import parse_or_malformed

CORPUS = Path(__file__).parent / "corpus"


def cases(outcome: str) -> list[Any]:
    found = []
    for path in sorted((CORPUS / outcome).glob("*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        gap = case.get("known_gap")
        marks = [pytest.mark.xfail(reason=gap, strict=True)] if gap else []
        found.append(pytest.param(case, id=path.stem, marks=marks))
    return found


def forms(document: Any) -> list[Any]:
    """The document as given and, for an object, as its JSON text too."""
    if isinstance(document, str):
        return [document]
    return [document, json.dumps(document, indent=2, ensure_ascii=False)]


def test_the_corpus_covers_both_outcomes() -> None:
    assert len(cases("accepted")) >= 40 and len(cases("refused")) >= 40


@pytest.mark.parametrize("case", cases("accepted"))
def test_accepted(case: dict[str, Any]) -> None:
    parsed = [parse_or_malformed(form, case["kind"]) for form in forms(case["document"])]
    assert all(isinstance(p, Policy) for p in parsed), parsed
    assert len({p.digest for p in parsed}) == 1  # the text parses the same as the object


@pytest.mark.parametrize("case", cases("refused"))
def test_refused(case: dict[str, Any]) -> None:
    for form in forms(case["document"]):
        error = parse_or_malformed(form, case["kind"])
        assert isinstance(error, MalformedPolicyDocument), f"accepted: {form!r}"
        assert error.path == case["path"]
        assert case["message"].lower() in error.message.lower()
