"""iamgw.identity.access on a store of its own: a decision is made on one snapshot of
the store, and unauthenticated callers leave nothing behind: IAM writes elsewhere never
turn an allowed request into AccessDenied, and random access keys, tokens and bucket
names do not grow the gateway's memory. Through a gateway:
tests/s3/test_reads_during_iam_writes.py."""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from collections.abc import Iterator

import pytest

from iamgw.errors import InvalidAccessKeyId, InvalidToken
from iamgw.iam.canned import load_canned_policies
from iamgw.identity import access as access_module
from iamgw.identity import anonymous
from iamgw.identity.access import Access
from iamgw.identity.credentials import SessionClaims, SessionTokens, new_access_key_id
from iamgw.store import MasterKey, Repository
from tests.iam_helpers import ACCOUNT

READONLY = f"arn:aws:iam::{ACCOUNT}:policy/readonly"
OBJECT = "arn:aws:s3:::data/k"


@pytest.fixture
def repo(tmp_path) -> Iterator[Repository]:
    url = f"sqlite:///{tmp_path / 'iamgw.db'}"
    repository = Repository.open(url, MasterKey(b"k" * 32), ACCOUNT)
    load_canned_policies(repository)
    yield repository
    repository.close()


@pytest.fixture
def access(repo) -> Access:
    return Access(repo, SessionTokens(MasterKey(b"k" * 32)), "AKIAROOTROOTROOTROOT", "root-secret")


def reader_key(repo: Repository) -> str:
    repo.create_user("reader")
    repo.attach_policy("user", "reader", READONLY)
    repo.create_user("bystander")
    key, _secret = repo.create_access_key("reader")
    return key.access_key_id


# -- the race, made to happen every time --------------------------------------------


def test_a_write_between_loading_and_evaluating_does_not_deny(repo, access, monkeypatch) -> None:
    """The caller's policies are loaded, then (while the bucket policy is read) another
    admin writes and another request sees the new generation: the decision still uses
    what it loaded."""
    key = reader_key(repo)
    loaded, go = threading.Event(), threading.Event()
    real = repo.get_bucket_policy

    def held(bucket: str) -> str | None:
        loaded.set()  # the identity's policies are in the engine by now
        assert go.wait(10)
        return real(bucket)

    async def scenario() -> tuple[bool, bool]:
        before = await access.refresh()
        identity = await access.resolve(key, None)
        monkeypatch.setattr(repo, "get_bucket_policy", held)
        decision = asyncio.create_task(access.decide(identity, "s3:GetObject", OBJECT, {}, "data"))
        assert await asyncio.to_thread(loaded.wait, 10)
        repo.set_user_tags("bystander", {"team": "x"})  # an unrelated IAM write
        after = await asyncio.create_task(access.refresh())  # another request
        go.set()
        allowed = (await decision).allowed
        return after != before, allowed

    generation_changed, allowed = asyncio.run(scenario())
    assert generation_changed
    assert allowed


def test_a_later_request_sees_the_write(repo, access) -> None:
    """The snapshot is per request: the next request decides on the store as it is now."""
    key = reader_key(repo)

    async def decide() -> bool:
        await access.refresh()
        identity = await access.resolve(key, None)
        return (await access.decide(identity, "s3:GetObject", OBJECT, {}, "data")).allowed

    assert asyncio.run(decide())
    repo.detach_policy("user", "reader", READONLY)
    assert not asyncio.run(decide())


def session_token(access: Access, policy: dict) -> tuple[str, str]:
    now = int(time.time())
    claims = SessionClaims(
        ak=new_access_key_id(), sk="secret", exp=now + 900, iat=now, sid="s1",
        arn=f"arn:aws:sts::{ACCOUNT}:federated-user/fed", typ="FederatedUser",
        pol=(READONLY,), sp=json.dumps(policy),
    )  # fmt: skip
    return claims.ak, access.tokens.mint(claims)


def test_a_session_policy_follows_its_identity_into_a_newer_snapshot(repo, access) -> None:
    """An identity opened in one snapshot and decided in the next still carries its
    session policy (it is in its token), instead of meeting an engine without it."""
    allow_k = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": OBJECT}],
    }
    key, token = session_token(access, allow_k)

    async def scenario() -> tuple[bool, bool]:
        await access.refresh()
        identity = await access.resolve(key, token)
        repo.create_user("someone")  # a write: the next refresh starts a new snapshot
        await access.refresh()
        allowed = await access.decide(identity, "s3:GetObject", OBJECT, {}, "data")
        other = await access.decide(identity, "s3:GetObject", "arn:aws:s3:::data/x", {}, "data")
        return allowed.allowed, other.allowed

    assert asyncio.run(scenario()) == (True, False)


# -- nothing kept for callers who did not authenticate --------------------------------


def test_unknown_keys_tokens_and_buckets_leave_no_entries(repo, access) -> None:
    key = reader_key(repo)

    async def scenario() -> None:
        await access.refresh()
        for _ in range(200):
            with pytest.raises(InvalidAccessKeyId):
                await access.resolve("AKIA" + secrets.token_hex(8).upper(), None)
            with pytest.raises(InvalidToken):
                await access.resolve(new_access_key_id(), secrets.token_urlsafe(200))
            bucket = "b" + secrets.token_hex(8)
            nobody = anonymous(ACCOUNT)
            await access.decide(nobody, "s3:GetObject", f"arn:aws:s3:::{bucket}/k", {}, bucket)
        snapshot = access.snapshot()
        assert snapshot.users == {}
        assert snapshot.sessions == {}
        assert snapshot.buckets == {}
        # A real key is remembered, and still answers after all that.
        identity = await access.resolve(key, None)
        assert list(snapshot.users) == [key]
        assert (await access.decide(identity, "s3:GetObject", OBJECT, {}, "data")).allowed

    asyncio.run(scenario())


def test_opened_sessions_stay_bounded(repo, access, monkeypatch) -> None:
    monkeypatch.setattr(access_module, "MAX_OPEN_SESSIONS", 20)
    tokens = [session_token(access, {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::b{i}/*"}
    ]}) for i in range(70)]  # fmt: skip

    async def scenario() -> None:
        await access.refresh()
        for key, token in tokens:
            identity = await access.resolve(key, token)
            decision = await access.decide(identity, "s3:GetObject", "arn:aws:s3:::b0/k", {})
            assert decision.allowed is (token == tokens[0][1])
            snapshot = access.snapshot()
            assert len(snapshot.sessions) <= 20
            assert len(snapshot.session_policies) <= 20

    asyncio.run(scenario())
