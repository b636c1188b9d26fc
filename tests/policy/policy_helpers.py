"""Small builders shared by the policy tests."""

from __future__ import annotations

from typing import Any

from iamgw.policy import MalformedPolicyDocument, Policy, PolicyKind, parse_policy, validate

# The elements a statement may hold (IAM JSON policy element reference).
STATEMENT_ELEMENTS = ("Sid", "Effect", "Action", "NotAction", "Resource", "NotResource",
                      "Principal", "NotPrincipal", "Condition")  # fmt: skip
ACCOUNT = "123456789012"
OTHER = "999999999999"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/app/s1"
BUCKET = "arn:aws:s3:::bucket"
OBJECT = "arn:aws:s3:::bucket/key"


def stmt(effect: str = "Allow", action: Any = "s3:GetObject", resource: Any = "*", **extra: Any):
    out: dict[str, Any] = {"Effect": effect, "Action": action}
    if resource is not None:
        out["Resource"] = resource
    out.update(extra)
    return out


def policy(
    *statements: dict[str, Any], kind: PolicyKind = PolicyKind.IDENTITY, **kw: Any
) -> Policy:
    version = kw.pop("version", "2012-10-17")
    doc: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        doc["Version"] = version
    return parse_policy(doc, kind, **kw)


def parse_or_malformed(
    document: Any, kind: PolicyKind | str = PolicyKind.IDENTITY
) -> Policy | MalformedPolicyDocument:
    """What `parse_policy` makes of `document`: the policy, or the only error it may raise
    (anything else fails the test); `validate` reports the same either way."""
    try:
        parsed = parse_policy(document, kind)
    except MalformedPolicyDocument as exc:
        assert exc.code == "MalformedPolicyDocument"
        assert [(e.path, e.message) for e in validate(document, kind)] == [(exc.path, exc.message)]
        return exc
    assert parsed.kind is PolicyKind(kind)
    assert validate(document, kind) == []
    return parsed
