"""Odd input to IAM: list indexes and integers that are not ASCII numbers, policy
documents holding NaN or lone UTF-16 surrogates. Each answered with IAM's error (never
a 500), changing nothing, and audited."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.audit_log import audit_record
from tests.gateway_server import ROOT_KEY, ROOT_SECRET
from tests.iam_helpers import allow

NOT_ASCII = ["\u00b2", "\u0661", "1" * 4000, "9" * 5000, "0", ""]
NOT_ASCII_IDS = ["superscript-two", "arabic-indic-one", "4000-digits", "5000-digits", "zero",
                 "empty"]  # fmt: skip


def call(gw, action: str, **params: str) -> httpx.Response:
    """An IAM call signed by botocore, with parameters boto3 would refuse to send."""
    body = urlencode({"Action": action, "Version": "2010-05-08", **params})
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    request = AWSRequest(method="POST", url=gw.url + "/", data=body, headers=headers)
    SigV4Auth(Credentials(ROOT_KEY, ROOT_SECRET), "iam", "us-east-1").add_auth(request)
    return httpx.post(request.url, content=body, headers=dict(request.headers.items()))


def code_of(answer: httpx.Response) -> str:
    return answer.text.split("<Code>")[1].split("</Code>")[0] if "<Code>" in answer.text else ""


def refused_as(gw, answer: httpx.Response, code: str) -> None:
    assert answer.status_code == 400, answer.text
    assert code_of(answer) == code, answer.text
    event = audit_record(gw, answer.headers["x-amz-request-id"])
    assert event["status"] == 400 and event["api"] == "iam"


def test_the_harness_calls_succeed(gw) -> None:
    answer = call(gw, "SimulateCustomPolicy",
                  **{"PolicyInputList.member.1": allow("s3:*"),
                     "ActionNames.member.1": "s3:GetObject",
                     "ContextEntries.member.1.ContextKeyName": "aws:username",
                     "ContextEntries.member.1.ContextKeyType": "stringList",
                     "ContextEntries.member.1.ContextKeyValues.member.1": "a",
                     "ContextEntries.member.1.ContextKeyValues.member.2": "b"})  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert call(gw, "ListUsers", MaxItems="010").status_code == 200


@pytest.mark.parametrize("index", NOT_ASCII, ids=NOT_ASCII_IDS)
def test_nested_list_index_in_the_simulator(gw, index: str) -> None:
    answer = call(gw, "SimulateCustomPolicy",
                  **{"PolicyInputList.member.1": allow("s3:*"),
                     "ActionNames.member.1": "s3:GetObject",
                     "ContextEntries.member.1.ContextKeyName": "aws:username",
                     "ContextEntries.member.1.ContextKeyType": "stringList",
                     f"ContextEntries.member.1.ContextKeyValues.member.{index}": "a"})  # fmt: skip
    refused_as(gw, answer, "ValidationError")


@pytest.mark.parametrize("index", NOT_ASCII, ids=NOT_ASCII_IDS)
def test_list_index_of_tags_changes_nothing(gw, iam, index: str) -> None:
    name = f"odd-{NOT_ASCII.index(index)}"
    tag = {f"Tags.member.{index}.Key": "team", f"Tags.member.{index}.Value": "x"}
    answer = call(gw, "CreateUser", UserName=name, **tag)
    refused_as(gw, answer, "ValidationError")
    assert name not in [u["UserName"] for u in iam.list_users()["Users"]]


@pytest.mark.parametrize(
    "value", ["\u00b2", "\u0661\u0662", " 12", "1_0", "9" * 5000, "-" + "9" * 40]
)
def test_integers_that_are_not_ascii_numbers(gw, value: str) -> None:
    answer = call(gw, "ListUsers", MaxItems=value)
    refused_as(gw, answer, "ValidationError")
    assert len(answer.text) < 2000  # the message names the value, shortened


@pytest.mark.parametrize(
    "document",
    [
        allow("s3:GetObject", "arn:aws:s3:::b/*").replace("b/*", "b/\\ud800"),
        allow("s3:GetObject").replace('"Allow"', '"Allow", "Sid": "\\udfff"'),
        allow("s3:GetObject", Condition={"NumericLessThan": {"s3:max-keys": 10}}).replace(
            "10", "NaN"
        ),
        allow("s3:GetObject", Condition={"NumericLessThan": {"s3:max-keys": 10}}).replace(
            "10", "-Infinity"
        ),
    ],
    ids=["surrogate-resource", "surrogate-sid", "nan", "minus-infinity"],
)
def test_policy_documents_that_are_not_json_text(gw, iam, document: str) -> None:
    created = call(gw, "CreatePolicy", PolicyName="odd-document", PolicyDocument=document)
    refused_as(gw, created, "MalformedPolicyDocument")
    names = [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]]
    assert "odd-document" not in names
    if "odd-inline" not in [u["UserName"] for u in iam.list_users()["Users"]]:
        iam.create_user(UserName="odd-inline")
    inline = call(gw, "PutUserPolicy", UserName="odd-inline", PolicyName="odd",
                  PolicyDocument=document)  # fmt: skip
    refused_as(gw, inline, "MalformedPolicyDocument")
    assert iam.list_user_policies(UserName="odd-inline")["PolicyNames"] == []
