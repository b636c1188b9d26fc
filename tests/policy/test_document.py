"""Parsing and validation, from the IAM User Guide's "Grammar of the IAM JSON policy
language", "IAM JSON policy elements" and "IAM and AWS STS quotas"."""

from __future__ import annotations

import json
from typing import Any

import pytest

from iamgw.policy import SIZE_LIMITS, MalformedPolicyDocument, PolicyKind, parse_policy, validate
from iamgw.policy.document import INLINE_USER_POLICY_LIMIT

V = "2012-10-17"
ALLOW = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}

# Every form iamgw accepts. Removing one is a breaking change.
ACCEPTED: list[tuple[str, Any, PolicyKind]] = [
    ("single statement object", {"Version": V, "Statement": ALLOW}, PolicyKind.IDENTITY),
    ("statement list", {"Version": V, "Statement": [ALLOW, ALLOW]}, PolicyKind.IDENTITY),
    ("empty statement list", {"Version": V, "Statement": []}, PolicyKind.IDENTITY),
    ("version 2008", {"Version": "2008-10-17", "Statement": [ALLOW]}, PolicyKind.IDENTITY),
    ("no version", {"Statement": [ALLOW]}, PolicyKind.IDENTITY),
    ("Id", {"Version": V, "Id": "my-policy", "Statement": [ALLOW]}, PolicyKind.IDENTITY),
    (
        "lists everywhere",
        {
            "Version": V,
            "Statement": [
                {
                    "Sid": "A",
                    "Effect": "Deny",
                    "Action": ["s3:Get*", "ec2:*"],
                    "Resource": ["arn:aws:s3:::b/*", "*"],
                }
            ],
        },
        PolicyKind.IDENTITY,
    ),
    (
        "NotAction and NotResource",
        {
            "Version": V,
            "Statement": [{"Effect": "Allow", "NotAction": "iam:*", "NotResource": "*"}],
        },
        PolicyKind.IDENTITY,
    ),
    (
        "action *",
        {"Version": V, "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
        PolicyKind.IDENTITY,
    ),
    (
        "conditions: all value types",
        {
            "Version": V,
            "Statement": [
                dict(
                    ALLOW,
                    Condition={
                        "StringEquals": {"aws:username": ["a", "b"]},
                        "NumericLessThan": {"s3:max-keys": 10},
                        "Bool": {"aws:SecureTransport": True},
                        "ForAnyValue:StringLike": {"aws:TagKeys": "team*"},
                        "IpAddressIfExists": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]},
                        "Null": {"aws:TokenIssueTime": "false"},
                    },
                )
            ],
        },
        PolicyKind.IDENTITY,
    ),
    (
        "variables",
        {"Version": V, "Statement": [dict(ALLOW, Resource="arn:aws:s3:::b/${aws:username}/*")]},
        PolicyKind.IDENTITY,
    ),
    (
        "bucket policy",
        {"Version": V, "Statement": [dict(ALLOW, Principal="*")]},
        PolicyKind.RESOURCE,
    ),
    (
        "bucket policy, principal types",
        {
            "Version": V,
            "Statement": [
                dict(
                    ALLOW,
                    Principal={
                        "AWS": ["arn:aws:iam::123456789012:root", "123456789012"],
                        "Service": "logs.amazonaws.com",
                        "Federated": "accounts.google.com",
                        "CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98e",
                    },
                )
            ],
        },
        PolicyKind.RESOURCE,
    ),
    (
        "NotPrincipal",
        {
            "Version": V,
            "Statement": [
                {
                    "Effect": "Deny",
                    "NotPrincipal": {"AWS": "123456789012"},
                    "Action": "s3:*",
                    "Resource": "*",
                }
            ],
        },
        PolicyKind.RESOURCE,
    ),
    (
        "trust policy without Resource",
        {
            "Version": V,
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/kc"},
                }
            ],
        },
        PolicyKind.TRUST,
    ),
    ("scp", {"Version": V, "Statement": [dict(ALLOW, Action="*")]}, PolicyKind.SCP),
    ("session", {"Version": V, "Statement": [ALLOW]}, PolicyKind.SESSION),
    ("boundary", {"Version": V, "Statement": [ALLOW]}, PolicyKind.BOUNDARY),
    (
        "rcp",
        {
            "Version": V,
            "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}],
        },
        PolicyKind.RCP,
    ),
]


@pytest.mark.parametrize(("name", "doc", "kind"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_accepted(name: str, doc: Any, kind: PolicyKind) -> None:
    p = parse_policy(doc, kind)
    assert p.kind is kind
    # the JSON text parses the same as the object
    assert parse_policy(json.dumps(doc, indent=2), kind).digest == p.digest
    assert validate(doc, kind) == []


def test_whitespace_quirks() -> None:
    text = (
        '\n\t {  "Version" : "2012-10-17" ,\r\n "Statement" : {"Effect":"Allow",'
        '"Action":"s3:*","Resource":"*"} }  \n'
    )
    assert parse_policy(text).statements[0].label == "#0"


def st(**kw: Any) -> dict[str, Any]:
    return dict(ALLOW, **kw)


# (document, kind, JSON path of the fault, part of IAM's message)
REJECTED: list[tuple[Any, PolicyKind, str, str]] = [
    ("not json", PolicyKind.IDENTITY, "", "Syntax errors"),
    ("[]", PolicyKind.IDENTITY, "", "Syntax errors"),
    (
        '{"Version": "2012-10-17", "Version": "2012-10-17", "Statement": []}',
        PolicyKind.IDENTITY,
        "",
        "Duplicate",
    ),
    ({"Version": "2012-10-18", "Statement": [ALLOW]}, PolicyKind.IDENTITY, "Version", "version"),
    ({"Version": V}, PolicyKind.IDENTITY, "", "Statement"),
    ({"Version": V, "Statement": [ALLOW], "Extra": 1}, PolicyKind.IDENTITY, "Extra", "Unknown"),
    ({"Version": V, "Statement": "x"}, PolicyKind.IDENTITY, "Statement", "Syntax"),
    (
        {"Version": V, "Statement": [ALLOW, st(Foo=1)]},
        PolicyKind.IDENTITY,
        "Statement[1].Foo",
        "Unknown field Foo",
    ),
    (
        {"Version": V, "Statement": [{"Action": "s3:*", "Resource": "*"}]},
        PolicyKind.IDENTITY,
        "Statement[0]",
        "Effect",
    ),
    (
        {"Version": V, "Statement": [st(Effect="allow")]},
        PolicyKind.IDENTITY,
        "Statement[0].Effect",
        "effect",
    ),
    (
        {"Version": V, "Statement": [st(NotAction="s3:*")]},
        PolicyKind.IDENTITY,
        "Statement[0]",
        "Action and NotAction",
    ),
    (
        {"Version": V, "Statement": [{"Effect": "Allow", "Resource": "*"}]},
        PolicyKind.IDENTITY,
        "Statement[0]",
        "Action",
    ),
    (
        {"Version": V, "Statement": [st(NotResource="*")]},
        PolicyKind.IDENTITY,
        "Statement[0]",
        "Resource and NotResource",
    ),
    (
        {"Version": V, "Statement": [{"Effect": "Allow", "Action": "s3:*"}]},
        PolicyKind.IDENTITY,
        "Statement[0]",
        "Resource",
    ),
    (
        {"Version": V, "Statement": [st(Action="GetObject")]},
        PolicyKind.IDENTITY,
        "Statement[0].Action",
        "vendor",
    ),
    (
        {"Version": V, "Statement": [st(Action=["s3:Get*", 3])]},
        PolicyKind.IDENTITY,
        "Statement[0].Action",
        "Syntax",
    ),
    (
        {"Version": V, "Statement": [st(Resource="bucket/*")]},
        PolicyKind.IDENTITY,
        "Statement[0].Resource",
        "ARN format",
    ),
    (
        {"Version": V, "Statement": [st(Principal="*")]},
        PolicyKind.IDENTITY,
        "Statement[0].Principal",
        "should not specify a principal",
    ),
    (
        {"Version": V, "Statement": [st(NotPrincipal={"AWS": "1"})]},
        PolicyKind.SESSION,
        "Statement[0].NotPrincipal",
        "principal",
    ),
    (
        {"Version": V, "Statement": [st(Principal={"AWS": "1"}, NotPrincipal={"AWS": "2"})]},
        PolicyKind.RESOURCE,
        "Statement[0]",
        "Principal and NotPrincipal",
    ),
    (
        {"Version": V, "Statement": [st(Principal={"Robot": "x"})]},
        PolicyKind.RESOURCE,
        "Statement[0].Principal.Robot",
        "principal",
    ),
    (
        {"Version": V, "Statement": [st(Principal="arn:aws:iam::1:root")]},
        PolicyKind.RESOURCE,
        "Statement[0].Principal",
        "principal",
    ),
    (
        {"Version": V, "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]},
        PolicyKind.TRUST,
        "Statement[0]",
        "Principal",
    ),
    (
        {"Version": V, "Statement": [st()]},
        PolicyKind.RESOURCE,
        "Statement[0]",
        "Missing required field Principal",
    ),
    (
        {"Version": V, "Statement": [st(Sid="A"), st(Sid="A")]},
        PolicyKind.IDENTITY,
        "Statement[1].Sid",
        "unique",
    ),
    ({"Version": V, "Statement": [st(Sid=1)]}, PolicyKind.IDENTITY, "Statement[0].Sid", "Syntax"),
    (
        {"Version": V, "Statement": [ALLOW, ALLOW, st(Condition={"StringLikee": {"a": "b"}})]},
        PolicyKind.IDENTITY,
        "Statement[2].Condition.StringLikee",
        "Invalid Condition type",
    ),
    (
        {"Version": V, "Statement": [st(Condition={"StringLike": "x"})]},
        PolicyKind.IDENTITY,
        "Statement[0].Condition.StringLike",
        "Syntax",
    ),
    (
        {"Version": V, "Statement": [st(Condition={"StringLike": {"k": {"x": 1}}})]},
        PolicyKind.IDENTITY,
        "Statement[0].Condition.StringLike.k",
        "Syntax",
    ),
    (
        {"Version": V, "Statement": [st(Condition=[])]},
        PolicyKind.IDENTITY,
        "Statement[0].Condition",
        "Syntax",
    ),
    ({"Version": V, "Statement": st(Foo=1)}, PolicyKind.IDENTITY, "Statement.Foo", "Unknown"),
    (
        {"Version": V, "Statement": [st(Resource="arn:aws:s3:::b/\u20ac")]},
        PolicyKind.IDENTITY,
        "",
        "regular expression pattern",
    ),
]


@pytest.mark.parametrize(("doc", "kind", "path", "message"), REJECTED)
def test_rejected(doc: Any, kind: PolicyKind, path: str, message: str) -> None:
    with pytest.raises(MalformedPolicyDocument) as err:
        parse_policy(doc, kind)
    assert err.value.code == "MalformedPolicyDocument"
    assert err.value.path == path
    assert message.lower() in err.value.message.lower()
    assert [e.path for e in validate(doc, kind)] == [path]


def test_bucket_policy_allows_unicode() -> None:
    doc = {
        "Version": V,
        "Statement": [dict(ALLOW, Principal="*", Resource="arn:aws:s3:::b/\u20ac")],
    }
    assert parse_policy(doc, PolicyKind.RESOURCE)


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
    parse_policy(text, kind)
    with pytest.raises(MalformedPolicyDocument, match="PolicySize"):
        parse_policy(text.replace('"Sid":"', '"Sid":"' + "A" * 21), kind)


def test_whitespace_does_not_count() -> None:
    text = _sized(6144)
    parse_policy(text.replace(",", " ,  \n"), PolicyKind.IDENTITY)


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
