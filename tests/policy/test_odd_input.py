"""Documents Python's json reads but JSON and IAM do not: NaN and Infinity, numbers that
overflow to Infinity, and lone UTF-16 surrogates. Each is a MalformedPolicyDocument."""

from __future__ import annotations

import json
from typing import Any

import pytest

from iamgw.policy import MalformedPolicyDocument, PolicyKind, parse_policy, validate

V = "2012-10-17"


def text(condition_value: str) -> str:
    """A session policy whose one condition value is the JSON text given."""
    return (
        f'{{"Version":"{V}","Statement":[{{"Effect":"Allow","Action":"s3:GetObject",'
        f'"Resource":"*","Condition":{{"NumericLessThan":{{"s3:max-keys":{condition_value}}}}}}}]}}'
    )


def refused(document: Any, kind: PolicyKind = PolicyKind.SESSION) -> MalformedPolicyDocument:
    with pytest.raises(MalformedPolicyDocument) as info:
        parse_policy(document, kind)
    assert [e.path for e in validate(document, kind)] == [info.value.path]
    return info.value


def test_the_harness_document_is_valid() -> None:
    assert parse_policy(text("10"), PolicyKind.SESSION).statements[0].conditions


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(constant: str) -> None:
    err = refused(text(constant))
    assert err.path == ""
    assert err.message == f"Syntax errors in policy: {constant} is not a JSON number."


@pytest.mark.parametrize("number", ["1e999", "-1e999"])
def test_numbers_that_overflow_to_infinity(number: str) -> None:
    err = refused(text(number))
    assert "out of range" in err.message and number in err.message


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_nan_in_a_decoded_document(value: float) -> None:
    doc = json.loads(text("10"))
    doc["Statement"][0]["Condition"]["NumericLessThan"]["s3:max-keys"] = value
    assert refused(doc).message == "Syntax errors in policy."


@pytest.mark.parametrize(
    ("document", "path"),
    [
        (
            f'{{"Version":"{V}","Statement":[{{"Effect":"Allow","Action":"s3:*",'
            '"Resource":"arn:aws:s3:::b/\\ud800"}]}',
            "Statement[0].Resource",
        ),
        (
            f'{{"Version":"{V}","Statement":{{"Sid":"\\udfff","Effect":"Allow",'
            '"Action":"s3:*","Resource":"*"}}',
            "Statement.Sid",
        ),
        (
            f'{{"Version":"{V}","Statement":[{{"Effect":"Allow","Action":["s3:Get*","s3:\\udc00"],'
            '"Resource":"*"}]}',
            "Statement[0].Action[1]",
        ),
        (
            f'{{"Version":"{V}","Statement":[{{"Effect":"Allow","Action":"s3:*","Resource":"*",'
            '"Condition":{"StringEquals":{"aws:\\ud800":"x"}}}]}',
            "Statement[0].Condition.StringEquals",
        ),
    ],
    ids=["resource", "sid", "action-list", "condition-key"],
)
def test_lone_surrogates_are_refused_with_their_path(document: str, path: str) -> None:
    for kind in (PolicyKind.SESSION, PolicyKind.RESOURCE):
        err = refused(document, kind)
        assert err.path == path
        assert "lone UTF-16 surrogate" in err.message
        str(err).encode("utf-8")  # the error itself can be written anywhere


def test_a_lone_surrogate_in_a_decoded_document() -> None:
    doc = {"Version": V, "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*",
                                        "Sid": "a\ud800"}]}  # fmt: skip
    assert refused(doc, PolicyKind.IDENTITY).path == "Statement[0].Sid"


def test_a_surrogate_pair_is_one_character_and_accepted() -> None:
    document = (
        f'{{"Version":"{V}","Statement":[{{"Effect":"Allow","Principal":"*","Action":"s3:*",'
        '"Resource":"arn:aws:s3:::b/\\ud83d\\ude00"}]}'
    )
    policy = parse_policy(document, PolicyKind.RESOURCE)
    assert policy.statements[0].source["Resource"] == "arn:aws:s3:::b/\U0001f600"


def test_duplicate_keys_are_still_refused_before_the_other_checks() -> None:
    document = f'{{"Version":"{V}","Version":"{V}","Statement":{{"Sid":"\\ud800"}}}}'
    assert refused(document).message == "Duplicate field Version"
