"""Concurrent IAM calls leave a consistent store (one transaction each, quotas held)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import ClientError

from tests.iam.conftest import client_for
from tests.iam_helpers import allow, make_user


def outcome(gw, operation: str, **params: str) -> str:
    """'ok', or the error code of root's IAM `operation`, on a client of its own."""
    try:
        getattr(gw.client("iam"), operation)(**params)
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return "ok"


def test_parallel_create_user_and_attach(gw, iam) -> None:
    arn = iam.create_policy(PolicyName="q-shared", PolicyDocument=allow("s3:GetObject"))["Policy"][
        "Arn"
    ]
    generation = gw.repo.generation()

    def work(i: int) -> str:
        client = gw.client("iam")
        client.create_user(UserName=f"q-user{i:02d}")
        client.attach_user_policy(UserName=f"q-user{i:02d}", PolicyArn=arn)
        return client.list_attached_user_policies(UserName=f"q-user{i:02d}")["AttachedPolicies"][0][
            "PolicyArn"
        ]

    with ThreadPoolExecutor(20) as pool:
        assert list(pool.map(work, range(20))) == [arn] * 20
    users = [u["UserName"] for u in iam.list_users()["Users"] if u["UserName"].startswith("q-user")]
    assert users == [f"q-user{i:02d}" for i in range(20)]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 20
    assert gw.repo.generation() == generation + 40  # every write counted once


def test_parallel_key_creation_holds_the_quota(gw, iam) -> None:
    iam.create_user(UserName="q-keys")
    with ThreadPoolExecutor(8) as pool:
        outcomes = sorted(pool.map(lambda _: outcome(gw, "create_access_key", UserName="q-keys"),
                                   range(8)))  # fmt: skip
    assert outcomes == ["LimitExceeded"] * 6 + ["ok"] * 2
    assert len(iam.list_access_keys(UserName="q-keys")["AccessKeyMetadata"]) == 2


def test_parallel_same_name_creates_one(gw, iam) -> None:
    with ThreadPoolExecutor(10) as pool:
        outcomes = sorted(pool.map(lambda _: outcome(gw, "create_group", GroupName="q-race"),
                                   range(10)))  # fmt: skip
    assert outcomes == ["EntityAlreadyExists"] * 9 + ["ok"]


def test_many_parallel_delegated_calls(gw, iam) -> None:
    """More parallel calls than the default worker threads, with cold caches: all answered
    (IAM handlers run on threads of their own, see iamgw.iam._limiter)."""
    keys = make_user(iam, "q-many", inline=allow("iam:ListRoles"))
    clients = [client_for(gw, keys) for _ in range(60)]
    iam.create_group(GroupName="q-bump")  # a write: every replica's caches start cold

    with ThreadPoolExecutor(60) as pool:
        results = list(pool.map(lambda c: c.list_roles()["IsTruncated"], clients, timeout=60))
    assert results == [False] * 60
