"""Gateways for the IAM tests: one per module and store (SQLite, PostgreSQL), in front
of the SeaweedFS peer, driven with root's boto3 IAM client and the aws cli."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from iamgw.iam import IAM_NS
from tests.gateway_server import GatewayServer, aws_env, running_gateway
from tests.iam_helpers import ACCOUNT, Keys
from tests.postgres import pg_schema_url

BIN = Path(sys.executable).parent


def user_arn(name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{ACCOUNT}:user{path}{name}"


def policy_arn(name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{ACCOUNT}:policy{path}{name}"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def gw(request: pytest.FixtureRequest, seaweedfs, tmp_path_factory) -> Iterator[GatewayServer]:
    extra = {}
    if request.param == "postgresql":
        extra["IAMGW_STORE_URL"] = pg_schema_url(request.getfixturevalue("pg_database"))
    with running_gateway(tmp_path_factory.mktemp(f"iam-{request.param}"), seaweedfs, extra) as gw:
        yield gw


@pytest.fixture(scope="module")
def iam(gw: GatewayServer):
    """Root's IAM client; every answer it reads is checked against botocore's IAM model."""
    client = gw.client("iam")
    client.meta.events.register("before-parse.iam.*", check_against_model)
    return client


def check_against_model(operation_model, response_dict, **_: Any) -> None:
    """Every element of a successful answer must be one the IAM model defines (botocore
    silently drops the others, so a misnamed field would otherwise go unnoticed)."""
    if response_dict["status_code"] != 200:
        return
    root = ET.fromstring(response_dict["body"])
    name = operation_model.name
    assert root.tag == f"{{{IAM_NS}}}{name}Response", root.tag
    result = root.find(f"{{{IAM_NS}}}{name}Result")
    shape = operation_model.output_shape
    if shape is None or not shape.members:
        assert result is None or len(result) == 0, f"{name} answers a result it has none of"
        return
    assert result is not None, f"{name}: no {name}Result"
    _check(result, shape, name)


def _check(element: ET.Element, shape: Any, where: str) -> None:
    if shape.type_name == "structure":
        for child in element:
            tag = child.tag.split("}", 1)[-1]
            assert tag in shape.members, f"{where}: {tag} is not in {shape.name}"
            _check(child, shape.members[tag], f"{where}.{tag}")
    elif shape.type_name == "list":
        for child in element:
            assert child.tag.split("}", 1)[-1] == "member", f"{where}: list item {child.tag}"
            _check(child, shape.member, f"{where}[]")
    elif shape.type_name == "map":
        for child in element:
            assert child.tag.split("}", 1)[-1] == "entry", f"{where}: map item {child.tag}"
    else:
        assert len(element) == 0, f"{where}: a {shape.type_name} with child elements"
        text = element.text or ""
        if shape.type_name == "boolean":
            assert text in ("true", "false"), f"{where}: {text!r} is not a boolean"
        elif shape.type_name == "integer":
            assert text.lstrip("-").isdigit(), f"{where}: {text!r} is not an integer"
        elif shape.type_name == "timestamp":
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text), f"{where}: {text!r}"


def client_for(gw: GatewayServer, keys: Keys, service: str = "iam"):
    return gw.client(service, keys.key, keys.secret)


def code(exc_info: pytest.ExceptionInfo) -> str:
    return exc_info.value.response["Error"]["Code"]


def aws(gw: GatewayServer, keys: Keys, *args: str, tmp: Path) -> subprocess.CompletedProcess:
    """The aws cli, as a user runs it (credentials in the environment, JSON output)."""
    env = aws_env(keys.key, keys.secret, tmp)
    return subprocess.run(
        [str(BIN / "aws"), "--endpoint-url", gw.url, "--output", "json", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
