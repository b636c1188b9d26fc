"""AssumeRoleWithLDAPIdentity against the real slapd peer: MinIO's calls (minio-py's query
string POST, a form POST), directory and role modes, the credentials used through boto3
S3 against the SeaweedFS peer, mappings changed by `iamgw ldap ...`, revocation, and
refusals that all look alike.

The seed: alice in s3-writers (and, nested, s3-admins and staff), bob in s3-readers and
auditors (and, nested, staff), carol in none, dave locked. Tests that change the
directory add users and groups of their own.
"""

from __future__ import annotations

import json
import re
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from iamgw import cli
from tests.gateway_server import GatewayServer, running_gateway
from tests.iam_helpers import ACCOUNT, allow
from tests.peers import Slapd
from tests.sts.conftest import error_code, raw_call, raw_code, s3_with
from tests.waiting import wait_until

ACTION = "AssumeRoleWithLDAPIdentity"
NS = {"sts": "https://sts.amazonaws.com/doc/2011-06-15/"}
BUCKET = "ldap"
READERS = "CN=S3-Readers, OU=Groups,DC=example,DC=org"  # the config's key, in another form


def ldap_env(slapd: Slapd, **settings: str) -> dict[str, str]:
    env = {
        "url": slapd.url,
        "bind_dn": slapd.bind_dn,
        "bind_password": slapd.bind_password,
        "user_search_base": slapd.people_dn,
        "group_search_base": slapd.groups_dn,
        "group_policies": json.dumps({READERS: ["readonly"]}),
        **settings,
    }
    return {f"IAMGW_LDAP_{key.upper()}": value for key, value in env.items()}


@pytest.fixture(scope="module")
def ldap_gateway(seaweedfs, slapd, tmp_path_factory) -> Iterator[GatewayServer]:
    """Directory mode: s3-readers -> readonly by the settings, s3-writers -> readwrite by
    the store."""
    data_dir = tmp_path_factory.mktemp("ldap-gateway")
    with running_gateway(data_dir, seaweedfs, ldap_env(slapd)) as server:
        server.repo.attach_ldap_policies("group", slapd.group_dn("s3-writers"), ["readwrite"])
        s3 = server.client()
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="hello", Body=b"hello")
        yield server


# -- the calls, as clients make them ------------------------------------------------------


def minio_call(gateway: GatewayServer, username: str, password: str) -> httpx.Response:
    """minio-py's `LdapIdentityProvider`: a POST with the parameters in its query string,
    no body, no signature."""
    query = urlencode(
        {"Action": ACTION, "Version": "2011-06-15", "LDAPUsername": username,
         "LDAPPassword": password}
    )  # fmt: skip
    return httpx.post(f"{gateway.url}/?{query}")


def form_call(
    gateway: GatewayServer, username: str, password: str, **params: Any
) -> httpx.Response:
    """`mc` and plain HTTP clients: a form body."""
    return raw_call(gateway, ACTION, LDAPUsername=username, LDAPPassword=password, **params)


def credentials(response: httpx.Response) -> dict[str, Any]:
    """The credentials of an answer, read as minio-py's `_parse_credentials` reads them
    (the result element by name, in the answer's namespace); the ARN beside them."""
    assert response.status_code == 200, response.text
    root = ET.fromstring(response.text)
    assert root.tag == f"{{{NS['sts']}}}{ACTION}Response"
    result = root.find(f"sts:{ACTION}Result", NS)
    assert result is not None
    found = {
        name: result.findtext(f"sts:Credentials/sts:{name}", namespaces=NS)
        for name in ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration")
    }
    assert all(found.values()), response.text
    found["Arn"] = result.findtext("sts:AssumedRoleUser/sts:Arn", namespaces=NS)
    found["PackedPolicySize"] = result.findtext("sts:PackedPolicySize", namespaces=NS)
    return found


def login(gateway: GatewayServer, username: str, password: str, **params: Any) -> dict[str, Any]:
    return credentials(form_call(gateway, username, password, **params))


def refusal(response: httpx.Response) -> tuple[int, str, str]:
    """Status, code and message of an error answer (its request id left out)."""
    text = response.text
    message = re.search(r"<Message>(.*)</Message>", text)
    return response.status_code, raw_code(response), message.group(1) if message else ""


# -- users and groups of a test's own --------------------------------------------------


def new_user(slapd: Slapd, prefix: str) -> tuple[str, str]:
    """A user of this test only: (uid, password)."""
    uid = f"{prefix}-{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(12)
    slapd.add(
        f"dn: {slapd.user_dn(uid)}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\n"
        f"sn: Test\nuserPassword: {password}\n"
    )
    return uid, password


def new_group(slapd: Slapd, prefix: str, *uids: str) -> str:
    """A group of this test only, with `uids` as members: its DN."""
    cn = f"{prefix}-{secrets.token_hex(3)}"
    members = "".join(f"member: {slapd.user_dn(u)}\n" for u in uids)
    slapd.add(f"dn: {slapd.group_dn(cn)}\nobjectClass: groupOfNames\ncn: {cn}\n{members}")
    return slapd.group_dn(cn)


def move(slapd: Slapd, uid: str, source: str, target: str) -> None:
    member = slapd.user_dn(uid)
    slapd.modify(
        f"dn: {source}\nchangetype: modify\ndelete: member\nmember: {member}\n\n"
        f"dn: {target}\nchangetype: modify\nadd: member\nmember: {member}\n"
    )


def put(s3: Any, key: str) -> str:
    """ "ok", or the error code of a PutObject."""
    try:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    except Exception as exc:  # noqa: BLE001 - the code is what the test compares
        return str(getattr(exc, "response", {}).get("Error", {}).get("Code", exc))
    return "ok"


def read(s3: Any, key: str = "hello") -> str:
    try:
        s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    except Exception as exc:  # noqa: BLE001
        return str(getattr(exc, "response", {}).get("Error", {}).get("Code", exc))
    return "ok"


@pytest.fixture
def iamgw_cli(ldap_gateway, monkeypatch, capsys):
    """`iamgw ...` run in this process on the gateway's data directory (its store)."""
    monkeypatch.setenv("IAMGW_SERVER_DATA_DIR", ldap_gateway.settings.server.data_dir)
    monkeypatch.delenv("IAMGW_CONFIG", raising=False)

    def run(*args: str) -> str:
        assert cli.main(list(args)) == 0, capsys.readouterr().err
        return capsys.readouterr().out

    return run


# -- directory mode -------------------------------------------------------------------------


def test_minio_py_call_one_group_writes(ldap_gateway, slapd) -> None:
    answer = credentials(minio_call(ldap_gateway, "alice", slapd.users["alice"]))
    assert answer["AccessKeyId"].startswith("ASIA")
    assert answer["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/ldap/alice"
    s3 = s3_with(ldap_gateway, answer)
    assert put(s3, "by-alice") == "ok"
    assert s3.get_object(Bucket=BUCKET, Key="by-alice")["Body"].read() == b"x"


def test_form_post_config_mapping_reads_only(ldap_gateway, slapd) -> None:
    s3 = s3_with(ldap_gateway, login(ldap_gateway, "bob", slapd.users["bob"]))
    assert read(s3) == "ok"
    assert put(s3, "by-bob") == "AccessDenied"
    assert error_code(s3.delete_object, Bucket=BUCKET, Key="hello") == "AccessDenied"


def test_several_and_nested_groups(ldap_gateway, slapd) -> None:
    """bob's policies come from two groups of his (s3-readers, auditors); alice's and
    bob's from `staff`, which holds them through groups in groups."""
    repo = ldap_gateway.repo
    repo.create_policy("ldap-audit", allow("s3:PutObject", f"arn:aws:s3:::{BUCKET}/audit/*"))
    repo.create_policy("ldap-staff", allow("s3:DeleteObject", f"arn:aws:s3:::{BUCKET}/staff/*"))
    repo.attach_ldap_policies("group", slapd.group_dn("auditors"), ["ldap-audit"])
    repo.attach_ldap_policies("group", slapd.group_dn("staff"), ["ldap-staff"])
    root = ldap_gateway.client()
    bob = s3_with(ldap_gateway, login(ldap_gateway, "bob", slapd.users["bob"]))
    assert read(bob) == "ok"  # s3-readers
    assert put(bob, "audit/by-bob") == "ok"  # auditors
    assert put(bob, "elsewhere") == "AccessDenied"
    alice = s3_with(ldap_gateway, login(ldap_gateway, "alice", slapd.users["alice"]))
    for who, s3 in (("bob", bob), ("alice", alice)):
        root.put_object(Bucket=BUCKET, Key=f"staff/{who}", Body=b"x")
        s3.delete_object(Bucket=BUCKET, Key=f"staff/{who}")  # staff, nested
    # A user in one plain group has none of it.
    uid, password = new_user(slapd, "plain")
    repo.attach_ldap_policies("group", new_group(slapd, "plain", uid), ["readonly"])
    plain = s3_with(ldap_gateway, login(ldap_gateway, uid, password))
    root.put_object(Bucket=BUCKET, Key="staff/kept", Body=b"x")
    assert error_code(plain.delete_object, Bucket=BUCKET, Key="staff/kept") == "AccessDenied"


def test_no_group_then_a_user_mapping_by_the_cli(ldap_gateway, slapd, iamgw_cli) -> None:
    carol = slapd.users["carol"]
    none = refusal(form_call(ldap_gateway, "carol", carol))
    assert none[:2] == (403, "AccessDenied")
    dn = "UID=Carol, OU=People,DC=Example,DC=Org"  # any form of carol's DN
    assert "attached readonly to user" in iamgw_cli(
        "ldap", "attach-policy", "--user", dn, "readonly"
    )
    assert "user\tuid=carol,ou=people,dc=example,dc=org\treadonly" in iamgw_cli("ldap", "list")
    s3 = s3_with(ldap_gateway, login(ldap_gateway, "carol", carol))
    assert read(s3) == "ok"
    assert put(s3, "by-carol") == "AccessDenied"
    iamgw_cli("ldap", "detach-policy", "--user", slapd.user_dn("carol"), "readonly")
    assert refusal(form_call(ldap_gateway, "carol", carol)) == none


def test_moved_between_groups_has_new_rights_at_next_login(ldap_gateway, slapd) -> None:
    uid, password = new_user(slapd, "mover")
    other, _ = new_user(slapd, "stayer")  # a group of names keeps a member at least
    readers = new_group(slapd, "readers", uid, other)
    writers = new_group(slapd, "writers", other)
    ldap_gateway.repo.attach_ldap_policies("group", readers, ["readonly"])
    ldap_gateway.repo.attach_ldap_policies("group", writers, ["readwrite"])
    before = s3_with(ldap_gateway, login(ldap_gateway, uid, password))
    assert (read(before), put(before, "by-mover")) == ("ok", "AccessDenied")
    move(slapd, uid, readers, writers)
    after = s3_with(ldap_gateway, login(ldap_gateway, uid, password))
    assert put(after, "by-mover") == "ok"
    # The session issued before keeps what it was issued with.
    assert put(before, "by-mover-2") == "AccessDenied"


def test_policy_variables_and_condition_keys(ldap_gateway, slapd) -> None:
    first, first_password = new_user(slapd, "home")
    second, _ = new_user(slapd, "home")
    group = new_group(slapd, "homes", first, second)
    home = allow(
        ["s3:PutObject", "s3:GetObject"], f"arn:aws:s3:::{BUCKET}/home/${{ldap:username}}/*"
    )
    by_group = allow(
        "s3:PutObject",
        f"arn:aws:s3:::{BUCKET}/groups/*",
        Condition={"ForAnyValue:StringEquals": {"ldap:groups": group.lower()}},
    )
    ldap_gateway.repo.create_policy("ldap-home", home)
    ldap_gateway.repo.create_policy("ldap-by-group", by_group)
    ldap_gateway.repo.attach_ldap_policies("group", group, ["ldap-home", "ldap-by-group"])
    s3 = s3_with(ldap_gateway, login(ldap_gateway, first, first_password))
    assert put(s3, f"home/{first}/notes") == "ok"
    assert put(s3, f"home/{second}/notes") == "AccessDenied"
    assert put(s3, "groups/by-member") == "ok"


def test_session_policy_and_duration(ldap_gateway, slapd) -> None:
    answer = login(
        ldap_gateway, "alice", slapd.users["alice"], Policy=allow("s3:GetObject"),
        DurationSeconds="900",
    )  # fmt: skip
    assert 0 < int(answer["PackedPolicySize"]) <= 100
    s3 = s3_with(ldap_gateway, answer)
    assert (read(s3), put(s3, "narrowed")) == ("ok", "AccessDenied")
    too_long = form_call(ldap_gateway, "alice", slapd.users["alice"], DurationSeconds="86400")
    assert refusal(too_long)[:2] == (400, "ValidationError")


# -- role mode ------------------------------------------------------------------------------


def test_role_mode_trusts_ldap_groups(ldap_gateway, slapd) -> None:
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": "ldap"},
                    "Action": "sts:AssumeRoleWithLDAPIdentity",
                    "Condition": {
                        "ForAnyValue:StringEquals": {"ldap:groups": slapd.group_dn("s3-admins")}
                    },
                }
            ],
        }
    )
    repo = ldap_gateway.repo
    repo.create_role("ldap-admins", trust)
    repo.attach_policy("role", "ldap-admins", f"arn:aws:iam::{ACCOUNT}:policy/readwrite")
    arn = f"arn:aws:iam::{ACCOUNT}:role/ldap-admins"
    # alice is in s3-admins through s3-writers.
    answer = login(ldap_gateway, "alice", slapd.users["alice"], RoleArn=arn,
                   RoleSessionName="alice-laptop")  # fmt: skip
    assert answer["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/ldap-admins/alice-laptop"
    assert put(s3_with(ldap_gateway, answer), "by-role") == "ok"
    # bob has policies in directory mode, but the trust policy does not name his groups.
    wrong = refusal(form_call(ldap_gateway, "bob", "not-bob's", RoleArn=arn))
    assert refusal(form_call(ldap_gateway, "bob", slapd.users["bob"], RoleArn=arn)) == wrong


# -- refusals -------------------------------------------------------------------------------


def test_refusals_look_alike(ldap_gateway, slapd) -> None:
    alice = slapd.users["alice"]
    answers = {
        "wrong password": form_call(ldap_gateway, "alice", alice + "x"),
        "unknown user": form_call(ldap_gateway, "nobody-at-all", alice),
        "empty password": form_call(ldap_gateway, "alice", ""),
        "minio-py, wrong password": minio_call(ldap_gateway, "bob", "nope"),
        "locked account": form_call(ldap_gateway, "dave", slapd.locked_users["dave"]),
        "no policy": form_call(ldap_gateway, "carol", slapd.users["carol"]),
    }
    seen = {name: refusal(response) for name, response in answers.items()}
    assert set(seen.values()) == {seen["wrong password"]}, seen
    assert seen["wrong password"][:2] == (403, "AccessDenied")
    for response in answers.values():
        assert alice not in response.text


def test_more_groups_than_a_session_carries(ldap_gateway, slapd) -> None:
    """Every group DN travels in the session (`ldap:groups`): beyond 256 the login is
    refused rather than some groups dropped (a Deny naming one would pass unseen)."""
    uid, password = new_user(slapd, "joiner")
    prefix = f"many-{secrets.token_hex(3)}"
    slapd.add(
        "\n".join(
            f"dn: {slapd.group_dn(f'{prefix}-{i}')}\nobjectClass: groupOfNames\n"
            f"cn: {prefix}-{i}\nmember: {slapd.user_dn(uid)}\n"
            for i in range(257)
        )
    )
    ldap_gateway.repo.attach_ldap_policies("group", slapd.group_dn(f"{prefix}-0"), ["readonly"])
    wrong = refusal(form_call(ldap_gateway, uid, password + "x"))
    assert refusal(form_call(ldap_gateway, uid, password)) == wrong


@pytest.fixture(scope="module")
def throttle_gateway(seaweedfs, slapd, tmp_path_factory) -> Iterator[GatewayServer]:
    """A directory of its own: the failed logins counted here touch no other test."""
    data_dir = tmp_path_factory.mktemp("ldap-throttle")
    with running_gateway(data_dir, seaweedfs, ldap_env(slapd)) as server:
        yield server


def test_failed_logins_of_one_name_are_throttled(throttle_gateway, slapd) -> None:
    uid, password = new_user(slapd, "guessed")
    throttle_gateway.repo.attach_ldap_policies("group", new_group(slapd, "g", uid), ["readonly"])
    codes: list[str] = []
    while "Throttling" not in codes and len(codes) < 25:
        codes.append(refusal(form_call(throttle_gateway, uid, f"guess-{len(codes)}"))[1])
    assert codes[-1] == "Throttling" and len(codes) > 2, codes
    assert set(codes[:-1]) == {"AccessDenied"}
    # While the name is throttled even its right password is refused, by minio-py too.
    assert refusal(form_call(throttle_gateway, uid, password)) == (
        400,
        "Throttling",
        "Rate exceeded",
    )
    assert refusal(minio_call(throttle_gateway, uid, password))[:2] == (400, "Throttling")
    # Other users (from the same address) are not.
    assert login(throttle_gateway, "bob", slapd.users["bob"])["AccessKeyId"].startswith("ASIA")


def test_missing_parameters(ldap_gateway) -> None:
    response = raw_call(ldap_gateway, ACTION, LDAPUsername="alice")
    assert refusal(response)[:2] == (400, "MissingParameter")


def test_not_configured(gateway) -> None:
    """The session's OIDC gateway has no [ldap]."""
    response = raw_call(gateway, ACTION, LDAPUsername="alice", LDAPPassword="x")
    assert refusal(response)[:2] == (400, "InvalidAction")


# -- revocation, audit, metrics -----------------------------------------------------------


def test_revoke_by_ldap_user_name_and_dn(ldap_gateway, slapd, iamgw_cli) -> None:
    named, named_password = new_user(slapd, "revoked")
    by_dn, by_dn_password = new_user(slapd, "revoked-dn")
    kept, kept_password = new_user(slapd, "kept")
    group = new_group(slapd, "revocable", named, by_dn, kept)
    ldap_gateway.repo.attach_ldap_policies("group", group, ["readonly"])
    sessions = {
        uid: s3_with(ldap_gateway, login(ldap_gateway, uid, password))
        for uid, password in ((named, named_password), (by_dn, by_dn_password),
                              (kept, kept_password))
    }  # fmt: skip
    assert {read(s3) for s3 in sessions.values()} == {"ok"}
    iamgw_cli("revoke", "--user", named)
    iamgw_cli("revoke", "--user", slapd.user_dn(by_dn).upper())
    assert wait_until(lambda: read(sessions[named]) == "InvalidToken", 5)
    assert read(sessions[by_dn]) == "InvalidToken"
    assert read(sessions[kept]) == "ok"


def test_audit_and_metrics_never_hold_the_password(ldap_gateway, slapd) -> None:
    password = slapd.users["bob"]
    login(ldap_gateway, "bob", password)
    minio_call(ldap_gateway, "bob", password + "-wrong")
    log = Path(ldap_gateway.settings.server.data_dir) / "audit.log"

    def audited() -> list[dict[str, Any]]:
        lines = log.read_text().splitlines() if log.exists() else []
        return [r for r in map(json.loads, lines) if r.get("ldap_username") == "bob"]

    records = wait_until(lambda: len(audited()) >= 2 and audited(), 5)
    assert {r["status"] for r in records} >= {200, 403}
    assert any(r.get("principal", "").endswith(":assumed-role/ldap/bob") for r in records)
    assert password not in log.read_text()
    metrics = httpx.get(f"{ldap_gateway.url}/metrics").text
    assert f'iamgw_sts_credentials_issued_total{{method="{ACTION}"}}' in metrics
    assert 'iamgw_sts_failures_total{reason="AccessDenied"}' in metrics
