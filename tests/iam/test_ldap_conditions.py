"""A condition on `ldap:user` / `ldap:groups` names DNs as sessions carry them
(normalised, lower case): a value written otherwise would never match, so a Deny on it
would fail open. IAM refuses it and says the form that matches (review finding)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import botocore.exceptions
import pytest

from tests.gateway_server import GatewayServer, running_gateway

WRITERS = "cn=s3-writers,ou=groups,dc=example,dc=org"


def deny_group(operator: str, value: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "s3:*", "Resource": "*",
         "Condition": {operator: {"ldap:groups": value}}}]})  # fmt: skip


@pytest.fixture(scope="module")
def gw(seaweedfs, tmp_path_factory) -> Iterator[GatewayServer]:
    with running_gateway(tmp_path_factory.mktemp("ldap-conditions"), seaweedfs, {}) as g:
        yield g


@pytest.mark.parametrize("value", ["cn=S3-Writers,ou=groups,dc=example,dc=org",
                                   "CN=s3-writers, OU=groups, DC=example, DC=org"])  # fmt: skip
def test_a_dn_not_in_normalised_form_is_refused(gw, value) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        gw.client("iam").create_policy(
            PolicyName="deny-writers", PolicyDocument=deny_group("ForAnyValue:StringEquals", value)
        )
    error = caught.value.response["Error"]
    assert error["Code"] == "MalformedPolicyDocument" and WRITERS in error["Message"]


@pytest.mark.parametrize(
    ("operator", "value"),
    [("ForAnyValue:StringEquals", WRITERS), ("ForAnyValue:StringLike", "cn=S3-*")],
)
def test_normalised_dns_and_patterns_are_accepted(gw, operator, value) -> None:
    name = f"ok-{abs(hash(value)) % 10_000}"
    created = gw.client("iam").create_policy(
        PolicyName=name, PolicyDocument=deny_group(operator, value)
    )
    assert created["Policy"]["PolicyName"] == name
