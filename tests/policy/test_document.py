"""Parsing and validation, from the IAM User Guide's "Grammar of the IAM JSON policy
language", "IAM JSON policy elements" and "IAM and AWS STS quotas". The forms accepted
and refused are in the corpus (corpus/, test_corpus.py); here: sizes, names, lenient mode."""

from __future__ import annotations

import json
from typing import Any

import pytest

from iamgw.policy import SIZE_LIMITS, MalformedPolicyDocument, PolicyKind, parse_policy
from iamgw.policy.document import INLINE_USER_POLICY_LIMIT

V = "2012-10-17"
ALLOW = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}


def test_whitespace_quirks() -> None:
    text = (
        '\n\t {  "Version" : "2012-10-17" ,\r\n "Statement" : {"Effect":"Allow",'
        '"Action":"s3:*","Resource":"*"} }  \n'
    )
    assert parse_policy(text).statements[0].label == "#0"


def st(**kw: Any) -> dict[str, Any]:
    return dict(ALLOW, **kw)


def _sized(chars: int) -> str:
    """A policy of exactly `chars` non-whitespace characters (padding in the Sid)."""
    base = json.dumps({"Version": V, "Statement": [dict(ALLOW, Sid="")]}, separators=(",", ":"))
    return base.replace('"Sid":""', '"Sid":"' + "A" * (chars - len(base)) + '"')


@pytest.mark.parametrize(
    ("kind", "limit"),
    [
        (PolicyKind.IDENTITY, 6144),
        (PolicyKind.BOUNDARY, 6144),
        (PolicyKind.SESSION, 2048),
        (PolicyKind.TRUST, 2048),
        (PolicyKind.SCP, 5120),
        (PolicyKind.RCP, 5120),
        (PolicyKind.RESOURCE, 20480),
    ],
)
def test_size_limits(kind: PolicyKind, limit: int) -> None:
    assert SIZE_LIMITS[kind] == limit
    text = _sized(limit)
    if kind in (PolicyKind.TRUST, PolicyKind.RESOURCE, PolicyKind.RCP):
        text = text.replace('"Resource"', '"Principal":"*","Resource"')
        text = text.replace('"Sid":"AAAAAAAAAAAAAAAAAAAA', '"Sid":"')
    assert len("".join(text.split())) <= limit
    assert parse_policy(text, kind).kind is kind
    with pytest.raises(MalformedPolicyDocument, match="PolicySize"):
        parse_policy(text.replace('"Sid":"', '"Sid":"' + "A" * 21), kind)


def test_whitespace_does_not_count() -> None:
    text = _sized(6144)
    spaced = parse_policy(text.replace(",", " ,  \n"), PolicyKind.IDENTITY)
    assert spaced.digest == parse_policy(text, PolicyKind.IDENTITY).digest


def test_inline_limit_by_max_size() -> None:
    with pytest.raises(MalformedPolicyDocument, match="2048"):
        parse_policy(_sized(3000), max_size=INLINE_USER_POLICY_LIMIT)


def test_lenient_mode_reads_simulator_forms() -> None:
    doc = {"Version": V, "Statement": [st(Principal="*")]}
    assert parse_policy(doc, strict=False).statements[0].principal is None
    doc = {"Version": V, "Statement": [st(Principal="arn:aws:iam::1:role/r")]}
    assert parse_policy(doc, PolicyKind.RESOURCE, strict=False).statements[0].principal


def test_names_and_labels() -> None:
    p = parse_policy({"Version": V, "Id": "doc-id", "Statement": [st(Sid="Read"), ALLOW]})
    assert p.name == "doc-id"
    assert [s.label for s in p.statements] == ["Read", "#1"]
    assert parse_policy({"Statement": [ALLOW]}, name="mine").name == "mine"
