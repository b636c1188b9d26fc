"""Holes a review found in LDAP logins after they landed, each closed (security):
a stored role named like a federated one, look-alike spellings escaping the throttle,
a right password told apart by the throttle, and two users sharing one session ARN."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

import botocore.exceptions
import pytest

from tests.gateway_server import GatewayServer, running_gateway
from tests.sts.test_ldap_identity import (
    form_call,
    ldap_env,
    login,
    new_group,
    new_user,
    refusal,
)


@pytest.fixture(scope="module")
def gw(seaweedfs, slapd, tmp_path_factory) -> Iterator[GatewayServer]:
    """A gateway of its own: the failures counted here touch no other test."""
    with running_gateway(tmp_path_factory.mktemp("ldap-review"), seaweedfs, ldap_env(slapd)) as g:
        yield g


def test_no_stored_role_shares_the_directory_role_name(gw) -> None:
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
         "Action": "sts:AssumeRole"}]})  # fmt: skip
    iam = gw.client("iam")
    for name in ("ldap", "LDAP"):
        with pytest.raises(botocore.exceptions.ClientError, match="EntityAlreadyExists"):
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
    iam.create_role(RoleName="ldap-sync", AssumeRolePolicyDocument=trust)  # others are fine


def guesses_until_throttled(gw: GatewayServer, spellings: list[str]) -> list[str]:
    codes = []
    for i in range(12):
        codes.append(refusal(form_call(gw, spellings[i % len(spellings)], f"guess-{i}"))[1])
        if codes[-1] == "Throttling":
            break
    return codes


def test_look_alike_spellings_share_one_count(gw, slapd) -> None:
    uid, password = new_user(slapd, "lookalike")
    gw.repo.attach_ldap_policies("group", new_group(slapd, "g", uid), ["readonly"])
    wide = "".join(chr(ord(c) + 0xFEE0) if "a" <= c <= "z" else c for c in uid)  # ａｂｃ
    codes = guesses_until_throttled(gw, [uid, uid.upper(), wide, f" {uid} "])
    assert codes[-1] == "Throttling" and len(codes) <= 6, codes
    assert refusal(form_call(gw, wide, password))[1] == "Throttling"


def test_a_right_password_without_access_counts_as_a_wrong_one(gw, slapd) -> None:
    """carol-like: no group, no policy. 4 wrong guesses, then the right one (refused:
    no policy), then one more: throttled exactly as if the 5th guess had been wrong."""
    uid, password = new_user(slapd, "noaccess")
    for i in range(4):
        assert refusal(form_call(gw, uid, f"wrong-{i}"))[1] == "AccessDenied"
    assert refusal(form_call(gw, uid, password))[1] == "AccessDenied"
    assert refusal(form_call(gw, uid, "wrong-again"))[1] == "Throttling"


def test_users_never_share_a_session_arn(gw, slapd) -> None:
    """`q x` and `q-x` (and names past 64 characters) once got one session ARN."""
    base = f"arn{secrets.token_hex(3)}"
    arns = set()
    for uid in (f"{base} x", f"{base}-x", base + "y" * 70 + "1", base + "y" * 70 + "2"):
        password = secrets.token_urlsafe(12)
        slapd.add(
            f"dn: {slapd.user_dn(uid)}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\n"
            f"sn: Test\nuserPassword: {password}\n"
        )
        gw.repo.attach_ldap_policies("user", slapd.user_dn(uid), ["readonly"])
        arns.add(login(gw, uid, password)["Arn"])
    assert len(arns) == 4, arns
    assert all(len(arn.rsplit("/", 1)[1]) <= 64 for arn in arns)
