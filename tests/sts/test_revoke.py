"""`iamgw revoke`: by session, by user or role, or everything issued before a time;
honoured on the gateway's next request."""

from __future__ import annotations

import datetime as dt

import pytest

from iamgw import cli
from tests.iam_helpers import web_identity_trust
from tests.sts.conftest import id_token, s3_with, web_identity
from tests.waiting import next_whole_second


@pytest.fixture(scope="module", autouse=True)
def sessions_of_later_tests_are_not_hit():
    """A revocation by user hits the sessions issued until the end of its second (`iat`
    has whole seconds), and subjects are the same at every provider of the realm: the
    tests after this module must not get a session in that second."""
    yield
    next_whole_second()


@pytest.fixture
def revoke(gateway, monkeypatch, capsys):
    monkeypatch.setenv("IAMGW_SERVER_DATA_DIR", gateway.settings.server.data_dir)
    monkeypatch.delenv("IAMGW_CONFIG", raising=False)

    def run(*args: str) -> str:
        assert cli.main(["revoke", *args]) == 0
        return capsys.readouterr().out

    return run


def get(gateway, credentials) -> str:
    s3 = s3_with(gateway, credentials)
    try:
        s3.get_object(Bucket="sts", Key="hello")
    except Exception as exc:  # noqa: BLE001 - the code is what the test compares
        return str(getattr(exc, "response", {}).get("Error", {}).get("Code", exc))
    return "ok"


def test_revoke_one_session(gateway, oidc_provider, root_s3, revoke) -> None:
    token = id_token(oidc_provider, "bob")
    kept = web_identity(gateway, token)["Credentials"]
    gone = web_identity(gateway, token)["Credentials"]
    assert get(gateway, gone) == "ok"
    assert "revoked session" in revoke("--session", gone["AccessKeyId"])
    assert get(gateway, gone) == "InvalidToken"
    assert get(gateway, kept) == "ok"


def test_revoke_every_session_of_a_role(gateway, oidc_provider, root_s3, revoke) -> None:
    gateway.repo.create_role("revocable", web_identity_trust(oidc_provider))
    gateway.repo.attach_policy("role", "revocable", "arn:aws:iam::000000000000:policy/readonly")
    arn = "arn:aws:iam::000000000000:role/revocable"
    credentials = web_identity(gateway, id_token(oidc_provider, "bob"), RoleArn=arn)
    assert get(gateway, credentials["Credentials"]) == "ok"
    revoke("--user", arn)
    assert get(gateway, credentials["Credentials"]) == "InvalidToken"
    next_whole_second()  # a session issued after the revocation (iat in whole seconds) is not hit
    fresh = web_identity(gateway, id_token(oidc_provider, "bob"), RoleArn=arn)
    assert get(gateway, fresh["Credentials"]) == "ok"


def test_revoke_everything_before(gateway, oidc_provider, root_s3, revoke) -> None:
    old = web_identity(gateway, id_token(oidc_provider, "bob"))["Credentials"]
    # The cut is the next whole second: `old` was issued in an earlier one, `new` in it.
    cut = dt.datetime.fromtimestamp(next_whole_second(), dt.UTC).isoformat()
    new = web_identity(gateway, id_token(oidc_provider, "bob"))["Credentials"]
    revoke("--before", cut)
    assert get(gateway, old) == "InvalidToken"
    assert get(gateway, new) == "ok"


def test_bad_time_is_a_clear_error(gateway, revoke, capsys) -> None:
    assert cli.main(["revoke", "--before", "yesterday"]) == 1
    assert "--before" in capsys.readouterr().err


def test_revoke_one_federated_user_by_subject(gateway, oidc_provider, root_s3, revoke) -> None:
    bob = web_identity(gateway, id_token(oidc_provider, "bob"))
    alice = web_identity(gateway, id_token(oidc_provider, "alice"))
    revoke("--user", bob["SubjectFromWebIdentityToken"])
    assert get(gateway, bob["Credentials"]) == "InvalidToken"
    assert get(gateway, alice["Credentials"]) == "ok"  # the provider's other users keep theirs
