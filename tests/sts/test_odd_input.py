"""Odd input to STS: lone UTF-16 surrogates and NaN in session policies and in web
identity tokens, list indexes that are not ASCII numbers. Each answered with STS's
error (never a 500, never plain text), issuing nothing, and audited."""

from __future__ import annotations

import base64
import json
from urllib.parse import urlencode

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.audit_log import audit_record
from tests.sts.conftest import ACCOUNT, forge, raw_call, raw_code, signing_key

ROLE = f"arn:aws:iam::{ACCOUNT}:role/none"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def policy_text(resource: str) -> str:
    """A session policy as JSON text; `resource` is spliced in as written (escapes kept)."""
    return (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject",'
        f'"Resource":"{resource}"}}]}}'
    )


def refused_as(gateway, answer: httpx.Response, status: int, code: str) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/xml")
    assert raw_code(answer) == code
    assert "<AccessKeyId>" not in answer.text
    event = audit_record(gateway, answer.headers["x-amz-request-id"])
    assert event["status"] == status and event["api"] == "sts"
    return event


def web_identity_call(gateway, token: str, **params: str) -> httpx.Response:
    return raw_call(gateway, "AssumeRoleWithWebIdentity", WebIdentityToken=token,
                    RoleArn=ROLE, RoleSessionName="odd-input", **params)  # fmt: skip


def test_the_harness_call_succeeds(gateway, oidc_provider) -> None:
    answer = web_identity_call(gateway, forge(oidc_provider), Policy=policy_text("*"))
    assert answer.status_code == 200, answer.text
    assert "<AccessKeyId>ASIA" in answer.text


@pytest.mark.parametrize(
    "policy",
    [
        policy_text("arn:aws:s3:::bucket/\\ud800"),
        policy_text("arn:aws:s3:::bucket/\\udfff*"),
        policy_text("*").replace('"s3:GetObject"', '"s3:GetObject","Sid":"\\udc00"'),
        policy_text("*").replace("]}", '],"Condition":{"NumericLessThan":{"s3:max-keys":NaN}}}'),
        policy_text("*").replace("]}", '],"Condition":{"NumericEquals":{"s3:max-keys":1e999}}}'),
    ],
    ids=["surrogate-resource", "surrogate-wildcard", "surrogate-sid", "nan", "overflow"],
)
def test_session_policy_that_is_not_json_text(gateway, oidc_provider, policy: str) -> None:
    answer = web_identity_call(gateway, forge(oidc_provider), Policy=policy)
    refused_as(gateway, answer, 400, "MalformedPolicyDocument")


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": "\ud800"},  # read before the signature is checked, to find the provider
        {"sub": "\udfff"},
        {"preferred_username": "mallory\ud800"},
        {"policy": ["readonly", "\udc00"]},
        {"exp": float("inf")},
        {"iat": float("inf")},
        {"nbf": float("nan")},
    ],
    ids=["iss", "sub", "username", "policy-claim", "exp-infinity", "iat-infinity", "nbf-nan"],
)
def test_web_identity_token_with_claims_that_are_not_json_text(
    gateway, oidc_provider, claims
) -> None:
    answer = web_identity_call(gateway, forge(oidc_provider, **claims))
    refused_as(gateway, answer, 400, "InvalidIdentityToken")


def test_web_identity_token_with_a_surrogate_in_its_header(gateway, oidc_provider) -> None:
    token = forge(oidc_provider, header={"kid": signing_key(oidc_provider)["kid"] + "\ud800"})
    refused_as(gateway, web_identity_call(gateway, token), 400, "InvalidIdentityToken")


@pytest.mark.parametrize("part", ["header", "payload"])
def test_web_identity_token_nested_too_deep(gateway, oidc_provider, part: str) -> None:
    deep = b64(b"[" * 5000 + b"]" * 5000)
    claims = b64(json.dumps({"iss": oidc_provider.issuer, "sub": "x"}).encode())
    header = b64(b'{"alg":"RS256","typ":"JWT"}')
    token = f"{deep}.{claims}.AAAA" if part == "header" else f"{header}.{deep}.AAAA"
    refused_as(gateway, web_identity_call(gateway, token), 400, "InvalidIdentityToken")


@pytest.mark.parametrize(
    "params",
    [
        {"PolicyArns.member.\u00b2.arn": f"arn:aws:iam::{ACCOUNT}:policy/readonly"},
        {"PolicyArns.member." + "1" * 4000 + ".arn": f"arn:aws:iam::{ACCOUNT}:policy/readonly"},
        {"PolicyArns.member.0.arn": f"arn:aws:iam::{ACCOUNT}:policy/readonly"},
        {"PolicyArns.member.\u0661.arn": f"arn:aws:iam::{ACCOUNT}:policy/readonly"},
    ],
    ids=["superscript-two", "4000-digits", "zero", "arabic-indic-one"],
)
def test_list_index_that_is_not_an_ascii_number(gateway, oidc_provider, params) -> None:
    answer = web_identity_call(gateway, forge(oidc_provider), **params)
    refused_as(gateway, answer, 400, "ValidationError")


def signed_sts(gateway, credentials: dict, **params: str) -> httpx.Response:
    """An STS call signed by botocore, with parameters boto3 would refuse to send."""
    body = urlencode({"Version": "2011-06-15", **params})
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    request = AWSRequest(method="POST", url=gateway.url + "/", data=body, headers=headers)
    keys = Credentials(credentials["AccessKeyId"], credentials["SecretAccessKey"],
                       credentials.get("SessionToken"))  # fmt: skip
    SigV4Auth(keys, "sts", "us-east-1").add_auth(request)
    return httpx.post(request.url, content=body, headers=dict(request.headers.items()))


def test_assume_role_tags_and_chained_duration_that_are_not_ascii(gateway) -> None:
    repo = gateway.repo
    repo.create_user("odd-input")
    key, secret = repo.create_access_key("odd-input")
    user = {"AccessKeyId": key.access_key_id, "SecretAccessKey": secret}
    principals = [f"arn:aws:iam::{ACCOUNT}:{who}/odd-input" for who in ("user", "role")]
    statement = {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"],
                 "Principal": {"AWS": principals}}  # fmt: skip
    trust = {"Version": "2012-10-17", "Statement": [statement]}
    repo.create_role("odd-input", json.dumps(trust), max_session_duration=7200)
    arn = f"arn:aws:iam::{ACCOUNT}:role/odd-input"

    bad_tag = {"Tags.member.\u00b2.Key": "k", "Tags.member.\u00b2.Value": "v"}
    tags = signed_sts(gateway, user, Action="AssumeRole", RoleArn=arn, RoleSessionName="odd",
                      **bad_tag)  # fmt: skip
    refused_as(gateway, tags, 400, "ValidationError")
    transitive = signed_sts(gateway, user, Action="AssumeRole", RoleArn=arn, RoleSessionName="odd",
                            **{"Tags.member.1.Key": "k", "Tags.member.1.Value": "v",
                               "TransitiveTagKeys.member.\u00b9": "k"})  # fmt: skip
    refused_as(gateway, transitive, 400, "ValidationError")

    first = signed_sts(gateway, user, Action="AssumeRole", RoleArn=arn, RoleSessionName="first")
    assert first.status_code == 200, first.text
    text = first.text
    session = {
        name: text.split(f"<{name}>")[1].split(f"</{name}>")[0]
        for name in ("AccessKeyId", "SecretAccessKey", "SessionToken")
    }
    for duration in ("\u00b2", "9" * 5000):
        chained = signed_sts(gateway, session, Action="AssumeRole", RoleArn=arn,
                             RoleSessionName="second", DurationSeconds=duration)  # fmt: skip
        refused_as(gateway, chained, 400, "ValidationError")
    # The harness: the same chained call with a duration in bounds is allowed.
    good = signed_sts(gateway, session, Action="AssumeRole", RoleArn=arn,
                      RoleSessionName="second", DurationSeconds="900")  # fmt: skip
    assert good.status_code == 200, good.text
