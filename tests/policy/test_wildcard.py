"""Action and resource matching, from the IAM User Guide's Action, Resource and ARN pages."""

from __future__ import annotations

import pytest

from iamgw.policy.action import ActionPattern
from iamgw.policy.resource import ResourcePattern
from iamgw.policy.wildcard import covers, glob_match, intersects

# Action: "case insensitive"; * and ? anywhere; no trimming.
ACTIONS = [
    ("s3:GetObject", "s3:GetObject", True),
    ("s3:GetObject", "S3:GETOBJECT", True),
    ("S3:getobject", "s3:GetObject", True),
    ("s3:Get*", "s3:GetObjectAcl", True),
    ("s3:Get*", "s3:PutObject", False),
    ("s3:*", "s3:PutObject", True),
    ("s3:*", "s3x:PutObject", False),
    ("*", "ec2:RunInstances", True),
    ("s3:?etObject", "s3:GetObject", True),
    ("s3:?etObject", "s3:GGetObject", False),
    ("s3:*Object", "s3:GetObject", True),
    ("s3:*Object*", "s3:GetObjectTagging", True),
    ("iam:*AccessKey*", "iam:CreateAccessKey", True),
    ("ec2:Describe*", "ec2:describeinstances", True),
    ("s3:GetObject,s3:PutObject", "s3:GetObject", False),  # a comma is no separator
    (" s3:GetObject", "s3:GetObject", False),
    ("s3:GetObject ", "s3:GetObject", False),
    ("s3:", "s3:GetObject", False),
    ("s*:GetObject", "s3:GetObject", True),
]


@pytest.mark.parametrize(("pattern", "action", "expected"), ACTIONS)
def test_action(pattern: str, action: str, expected: bool) -> None:
    assert bool(ActionPattern(pattern).match(action.lower())) is expected


# Resource: ARN part by part; the resource part is case-sensitive and * crosses "/".
RESOURCES = [
    ("*", "arn:aws:s3:::bucket/key", True),
    ("*", "*", True),
    ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b/c", True),
    ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket", False),
    ("arn:aws:s3:::bucket*", "arn:aws:s3:::bucket-2/key", True),
    ("arn:aws:s3:::bucket/Key", "arn:aws:s3:::bucket/key", False),
    ("arn:aws:s3:::bucket/key", "arn:aws:s3:::bucket/key", True),
    ("arn:aws:s3:::*/logs/*", "arn:aws:s3:::b/logs/2024/x", True),
    ("arn:aws:s3:::b/?.txt", "arn:aws:s3:::b/a.txt", True),
    ("arn:aws:s3:::b/?.txt", "arn:aws:s3:::b/ab.txt", False),
    ("arn:aws:iam::*:user/alice", "arn:aws:iam::123456789012:user/alice", True),
    # a wildcard outside the resource part stays inside its part
    ("arn:aws:*:user/alice", "arn:aws:iam::123456789012:user/alice", False),
    ("arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:us-east-1:123456789012:instance/i-1", True),
    ("arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:us-east-1:123456789012:volume/v-1", False),
    ("arn:aws:sqs:us-east-1:*:queue", "arn:aws:sqs:us-east-1:1:queue:extra", False),
    ("arn:aws:logs:*:*:log-group:/aws/*", "arn:aws:logs:eu-west-1:1:log-group:/aws/x:*", True),
    ("arn:aws:s3:::bucket/*", "*", False),  # a literal * is not every resource
]


@pytest.mark.parametrize(("pattern", "resource", "expected"), RESOURCES)
def test_resource(pattern: str, resource: str, expected: bool) -> None:
    assert bool(ResourcePattern(pattern).matches(resource, {})) is expected


@pytest.mark.parametrize(
    ("pattern", "value", "ignore_case", "expected"),
    [
        ("a*c", "abbbc", False, True),
        ("a*c", "ABC", False, False),
        ("a*c", "ABC", True, True),
        ("a?c", "ac", False, False),
        ("", "", False, True),
        ("*", "", False, True),
        ("a.b", "axb", False, False),  # regex characters are literal
        ("a[b]", "a[b]", False, True),
    ],
)
def test_glob(pattern: str, value: str, ignore_case: bool, expected: bool) -> None:
    assert bool(glob_match(pattern, value, ignore_case)) is expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("arn:aws:s3:::*/AWSLogs/*", "arn:aws:s3:::example-bucket/*", True),
        ("arn:aws:s3:::other/*", "arn:aws:s3:::example/*", False),
        ("*", "anything", True),
        ("a?c", "ab*", True),
        ("abc", "abd", False),
    ],
)
def test_intersects(a: str, b: str, expected: bool) -> None:
    assert intersects(a, b) is expected
    assert intersects(b, a) is expected


@pytest.mark.parametrize(
    ("outer", "inner", "expected"),
    [
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b/private/*", True),
        ("arn:aws:s3:::b/private/*", "arn:aws:s3:::b/*", False),
        ("*", "*", True),
        ("arn:*", "*", False),
        ("a?c", "abc", True),
        ("a?c", "a*c", False),
        ("a*", "a?", True),
    ],
)
def test_covers(outer: str, inner: str, expected: bool) -> None:
    assert covers(outer, inner) is expected
