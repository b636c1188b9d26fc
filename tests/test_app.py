"""The app in-process: routing, request ids, error XML, lifespan, readiness."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from iamgw import s3
from iamgw.app import create_app
from iamgw.config import Settings, load_settings
from iamgw.store import MasterKey, Repository

STS_FORM = {"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15"}
IAM_FORM = {"Action": "ListUsers", "Version": "2010-05-08"}
SIGNED = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAX/20260101/us-east-1/s3/aws4_request, "
    "SignedHeaders=host, Signature=00"
}


def settings_for(tmp_path: Path, endpoint: str, key: str = "k", secret: str = "s") -> Settings:
    return load_settings(
        None,
        environ={
            "IAMGW_SERVER_DATA_DIR": str(tmp_path / "data"),
            "IAMGW_AUDIT_TARGETS": f"file:{tmp_path / 'data' / 'audit.log'}",
            "IAMGW_UPSTREAM_ENDPOINT": endpoint,
            "IAMGW_UPSTREAM_ACCESS_KEY": key,
            "IAMGW_UPSTREAM_SECRET_KEY": secret,
        },
    )


@pytest.fixture
def settings(tmp_path: Path, seaweedfs) -> Settings:
    return settings_for(tmp_path, seaweedfs.endpoint, seaweedfs.access_key, seaweedfs.secret_key)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def error_code(xml: str) -> str:
    root = ET.fromstring(xml)
    node = root.find(".//{*}Code")
    return node.text if node is not None else ""


def test_health_and_readiness(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert len(r.headers["x-amz-request-id"]) == 16 and r.headers["x-amz-id-2"]
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json()["store"] is True and r.json()["upstreams"][0]["up"] is True


def test_not_ready_without_a_storage_node(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "http://127.0.0.1:9")  # discard port: nothing listens
    with TestClient(create_app(settings)) as c:
        r = c.get("/readyz")
    assert r.status_code == 503 and r.json()["status"] == "not ready"


def test_metrics_count_requests(client: TestClient) -> None:
    client.get("/healthz")
    body = client.get("/metrics").text
    assert 'iamgw_requests_total{api="ops",operation="healthz",status="200"}' in body


def test_sts_and_iam_are_routed_by_version(client: TestClient) -> None:
    # Unsigned and incomplete: each API refuses in its own error shape and namespace.
    r = client.post("/", data=STS_FORM)
    assert r.status_code >= 400 and "sts.amazonaws.com/doc/2011-06-15" in r.text
    assert "<ErrorResponse" in r.text and "<Type>Sender</Type>" in r.text
    r = client.post("/", data=IAM_FORM)
    assert r.status_code >= 400 and "iam.amazonaws.com/doc/2010-05-08" in r.text
    r = client.get("/", params=STS_FORM)  # STS also takes its parameters in the query
    assert "sts.amazonaws.com" in r.text


def test_everything_else_is_s3(client: TestClient) -> None:
    r = client.get("/photos/cat.jpg")  # anonymous, and no bucket policy allows it
    assert r.status_code == 403 and r.text.startswith("<?xml")
    assert error_code(r.text) == "AccessDenied"
    assert ET.fromstring(r.text).findtext("RequestId") == r.headers["x-amz-request-id"]
    # A signed request to /metrics is ListObjects on a bucket named "metrics".
    r = client.get("/metrics", headers=SIGNED)
    assert error_code(r.text) == "AuthorizationHeaderMalformed"  # S3 answered, not ops
    assert client.head("/photos").text == ""


def test_internal_errors_never_leak_details(client: TestClient, monkeypatch, caplog) -> None:
    async def boom(request):
        raise RuntimeError("secret detail /etc/shadow")

    monkeypatch.setattr(s3, "handle", boom)
    with caplog.at_level(logging.ERROR):
        r = client.get("/bucket/key")
    assert r.status_code == 500 and error_code(r.text) == "InternalError"
    assert "secret detail" not in r.text and "Traceback" not in r.text
    assert "secret detail" in caplog.text  # the operator's log keeps it


def test_canned_policies_are_loaded(client: TestClient, settings: Settings) -> None:
    repo: Repository = client.app.state.gateway.repo
    names = {p.name for p in repo.list_policies()}
    assert {"readonly", "readwrite", "writeonly", "diagnostics", "consoleAdmin"} <= names
    assert "s3:GetObject" in repo.policy_document("readonly")


def test_api_policy_of_a_canned_name_is_kept(settings: Settings, caplog) -> None:
    key = MasterKey.load_or_create(settings.data_dir / "master.key")
    repo = Repository.open(settings.store_url, key, settings.server.account_id)
    mine = '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}'
    repo.create_policy("readonly", mine)
    repo.close()
    with caplog.at_level(logging.WARNING), TestClient(create_app(settings)) as c:
        assert c.app.state.gateway.repo.policy_document("readonly") == mine
    assert "readonly not loaded" in caplog.text


def test_generated_root_credentials_are_private(client: TestClient, settings: Settings) -> None:
    path = settings.data_dir / "root-credentials"
    assert path.stat().st_mode & 0o777 == 0o600
    assert (settings.data_dir / "master.key").stat().st_mode & 0o777 == 0o600
    root = client.app.state.gateway.root
    assert root.access_key in path.read_text()
