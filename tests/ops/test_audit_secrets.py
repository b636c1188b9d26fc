"""Issue 13: no audit record and no access log line holds a secret key, a session token, a
signature, a password or a query string, whatever the sign-in: root and IAM user keys,
presigned URLs (with a session token too), OpenID Connect tokens (AssumeRoleWithWeb-
Identity) and LDAP passwords (in a query string, as minio-py sends them, and in a form).
The records name each principal and its kind."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import boto3
import httpx
import pytest
from botocore.config import Config

from tests.gateway_server import GatewayServer, running_gateway
from tests.iam_helpers import allow, make_user
from tests.ops.audit_collector import Collector
from tests.sts.conftest import s3_with, web_identity
from tests.waiting import wait_until

BUCKET = "secrets"


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    collector = Collector().up()
    yield collector
    collector.close()


@pytest.fixture(scope="module")
def gateway(
    seaweedfs, oidc_provider, slapd, collector, tmp_path_factory
) -> Iterator[GatewayServer]:
    data = tmp_path_factory.mktemp("audit-secrets")
    env = {
        "IAMGW_AUDIT_TARGETS": json.dumps([f"{collector.url}/_bulk", f"file:{data / 'audit.log'}"]),
        "IAMGW_OIDC_0_NAME": "keycloak",
        "IAMGW_OIDC_0_ISSUER": oidc_provider.issuer,
        "IAMGW_OIDC_0_CLIENT_ID": "iamgw",
        "IAMGW_OIDC_0_CLAIM_NAME": "policy",
        "IAMGW_LDAP_URL": slapd.url,
        "IAMGW_LDAP_BIND_DN": slapd.bind_dn,
        "IAMGW_LDAP_BIND_PASSWORD": slapd.bind_password,
        "IAMGW_LDAP_USER_SEARCH_BASE": slapd.people_dn,
        "IAMGW_LDAP_GROUP_SEARCH_BASE": slapd.groups_dn,
        "IAMGW_LDAP_GROUP_POLICIES": json.dumps({slapd.group_dn("s3-readers"): ["readonly"]}),
        "IAMGW_AUDIT_ACCESS_LOG": "true",
    }
    with running_gateway(data, seaweedfs, env) as server:
        yield server


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def access_lines() -> Iterator[list[str]]:
    handler = Lines()
    logger = logging.getLogger("iamgw.access")
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)


def test_no_secret_token_signature_password_or_query_in_any_record(
    gateway: GatewayServer, collector: Collector, oidc_provider, slapd, access_lines
) -> None:
    secrets: list[str] = [gateway.root_secret, slapd.bind_password]
    ids: dict[str, str] = {}  # what -> request id

    def answered(what: str, response: httpx.Response, status: int = 200) -> None:
        assert response.status_code == status, response.text
        ids[what] = response.headers["x-amz-request-id"]

    root_s3 = gateway.client()
    root_s3.create_bucket(Bucket=BUCKET)
    root_s3.put_object(Bucket=BUCKET, Key="doc", Body=b"doc")
    # An IAM user: its secret comes back in CreateAccessKey's answer.
    iam = gateway.client("iam")
    user = make_user(iam, "secrets-user", inline=allow("s3:GetObject"))
    secrets.append(user.secret)
    user_s3 = gateway.client(key=user.key, secret=user.secret)
    ids["iam-user"] = user_s3.get_object(Bucket=BUCKET, Key="doc")["ResponseMetadata"][
        "HTTPHeaders"
    ]["x-amz-request-id"]

    # Presigned URLs: the signature (and a session token) in the query string.
    for who, client in (("root-presigned", root_s3), ("user-presigned", user_s3)):
        url = client.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "doc"})
        secrets += parse_qs(urlsplit(url).query)["X-Amz-Signature"]
        answered(who, httpx.get(url))

    # OpenID Connect: the ID token, then the session's secret and token.
    token = str(oidc_provider.token_for("alice")["id_token"])
    secrets.append(token)
    oidc = web_identity(gateway, token, RoleSessionName="alice-audit")
    ids["oidc-login"] = oidc["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"]
    credentials = oidc["Credentials"]
    secrets += [credentials["SecretAccessKey"], credentials["SessionToken"]]
    session_s3 = s3_with(gateway, credentials)
    ids["oidc-s3"] = session_s3.get_object(Bucket=BUCKET, Key="doc")["ResponseMetadata"][
        "HTTPHeaders"
    ]["x-amz-request-id"]
    url = session_s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "doc"})
    query = parse_qs(urlsplit(url).query)
    secrets += query["X-Amz-Signature"] + query["X-Amz-Security-Token"]
    answered("oidc-presigned", httpx.get(url))

    # LDAP: the password in a query string (minio-py) and in a form; a wrong one too.
    password = slapd.users["bob"]
    secrets += [password, password + "-wrong"]
    call = {"Action": "AssumeRoleWithLDAPIdentity", "Version": "2011-06-15", "LDAPUsername": "bob"}
    answered(
        "ldap-query", httpx.post(f"{gateway.url}/?{urlencode({**call, 'LDAPPassword': password})}")
    )
    form = {**call, "LDAPPassword": password}
    answered("ldap-form", httpx.post(gateway.url, data=form))
    wrong = {**call, "LDAPPassword": password + "-wrong"}
    answered("ldap-wrong", httpx.post(f"{gateway.url}/?{urlencode(wrong)}"), 403)
    ldap_credentials = httpx.post(gateway.url, data=form).text
    secret = ldap_credentials.split("<SecretAccessKey>")[1].split("</SecretAccessKey>")[0]
    session = ldap_credentials.split("<SessionToken>")[1].split("</SessionToken>")[0]
    secrets += [secret, session]
    ldap_s3 = boto3.client(
        "s3", endpoint_url=gateway.url, region_name="us-east-1",
        aws_access_key_id=ldap_credentials.split("<AccessKeyId>")[1].split("</AccessKeyId>")[0],
        aws_secret_access_key=secret, aws_session_token=session,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )  # fmt: skip
    ids["ldap-s3"] = ldap_s3.get_object(Bucket=BUCKET, Key="doc")["ResponseMetadata"][
        "HTTPHeaders"
    ]["x-amz-request-id"]

    wanted = set(ids.values())
    wait_until(lambda: wanted <= set(collector.by_request()), 30, what="every record delivered")
    audit_file = gateway.settings.data_dir / "audit.log"
    wait_until(lambda: all(i in audit_file.read_text() for i in wanted), 30, what="the file")
    raw = b"".join(collector.bodies).decode()
    text = "\n".join([raw, audit_file.read_text(), *access_lines])
    assert len(access_lines) >= len(ids)
    for secret in secrets:
        assert secret and secret not in text, "a secret reached an audit record or log line"
    for word in ("X-Amz-Signature", "X-Amz-Security-Token", "X-Amz-Credential", "LDAPPassword",
                 "WebIdentityToken", "SecretAccessKey", "SessionToken"):  # fmt: skip
        assert word not in text, word
    records = {r["request_id"]: r for r in collector.first_arrivals()}
    for record in records.values():
        assert "?" not in record["path"]
    for line in access_lines:
        assert "?" not in line.split('"')[1], line

    # Who did it, each with its kind.
    kinds = {what: records[rid]["principal_kind"] for what, rid in ids.items()}
    assert kinds == {
        "iam-user": "iam-user",
        "root-presigned": "root",
        "user-presigned": "iam-user",
        "oidc-login": "oidc",
        "oidc-s3": "oidc",
        "oidc-presigned": "oidc",
        "ldap-query": "ldap",
        "ldap-form": "ldap",
        "ldap-wrong": "anonymous",
        "ldap-s3": "ldap",
    }
    login = records[ids["oidc-login"]]
    assert login["principal"].endswith(":assumed-role/keycloak/alice-audit")
    assert login["access_key"] == credentials["AccessKeyId"]
    assert login["action"] == "sts:AssumeRoleWithWebIdentity" and login["decision"] == "Allowed"
    refused = records[ids["ldap-wrong"]]
    assert refused["action"] == "sts:AssumeRoleWithLDAPIdentity"
    assert refused["decision"] == "Denied" and refused["error_code"] == "AccessDenied"
    assert refused["ldap_username"] == "bob"
