"""Repository calls the IAM API needs as one transaction each (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from iamgw.store import (
    DeleteConflict,
    EntityAlreadyExists,
    LimitExceeded,
    MasterKey,
    NoSuchEntity,
    Repository,
)
from iamgw.store.database import make_engine, migrate

DOC = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'
TRUST = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
    '"Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
)


def test_create_with_a_boundary_is_one_step(repo: Repository) -> None:
    arn = repo.policy_arn(repo.create_policy("limit", DOC))
    before = repo.generation()
    with pytest.raises(NoSuchEntity):
        repo.create_user("ann", permissions_boundary=arn + "-missing")
    with pytest.raises(NoSuchEntity):
        repo.create_role("r", TRUST, permissions_boundary=arn + "-missing")
    assert repo.generation() == before and repo.list_users() == [] and repo.list_roles() == []
    assert repo.create_user("ann", permissions_boundary="limit").permissions_boundary == arn
    assert repo.create_role("r", TRUST, permissions_boundary=arn).permissions_boundary == arn
    assert repo.policy_usage() == {arn: (0, 2)}
    repo.attach_policy("user", "ann", arn)
    assert repo.policy_usage() == {arn: (1, 2)}


def test_rename_onto_another_user_changes_nothing(repo: Repository) -> None:
    repo.create_user("bea")
    repo.create_user("cal")
    repo.create_access_key("bea")
    before = repo.generation()
    with pytest.raises(EntityAlreadyExists):
        repo.update_user("bea", new_name="CAL")
    assert repo.generation() == before
    assert len(repo.list_access_keys("bea")) == 1
    repo.update_user("bea", new_name="BEA")  # the same user, another case: allowed
    assert repo.get_user("bea").name == "BEA"


def test_attachment_quota(repo: Repository) -> None:
    repo.create_group("g")
    arns = [repo.policy_arn(repo.create_policy(f"p{i}", DOC)) for i in range(11)]
    for arn in arns[:10]:
        repo.attach_policy("group", "g", arn)
    repo.attach_policy("group", "g", arns[0])  # already attached: no quota needed
    with pytest.raises(LimitExceeded, match="PoliciesPerGroup: 10"):
        repo.attach_policy("group", "g", arns[10])
    assert len(repo.attached_policies("group", "g")) == 10


def test_role_tags(repo: Repository) -> None:
    repo.create_role("r", TRUST, tags={"a": "1"})
    repo.set_role_tags("r", {"b": "2"})
    repo.remove_role_tags("r", ["a", "missing"])
    assert repo.get_role("r").tags == {"b": "2"}
    with pytest.raises(LimitExceeded):
        repo.set_role_tags("r", {f"k{i}": "v" for i in range(50)})
    assert repo.get_role("r").tags == {"b": "2"}


def test_delete_policy_needs_its_other_versions_gone(repo: Repository) -> None:
    arn = repo.policy_arn(repo.create_policy("v", DOC))
    repo.create_policy_version(arn, DOC, set_default=True)
    with pytest.raises(DeleteConflict, match="non-default versions"):
        repo.delete_policy(arn)
    repo.delete_policy_version(arn, "v1")
    repo.delete_policy(arn)
    assert repo.find_policy("v") is None


def test_access_key_owner(repo: Repository) -> None:
    repo.create_user("dee")
    key, _ = repo.create_access_key("dee")
    assert repo.access_key_owner(key.access_key_id).user_name == "dee"
    with pytest.raises(NoSuchEntity):
        repo.access_key_owner("AKIA0000000000000000")


def test_group_rename_carries_memberships_and_policies(repo: Repository) -> None:
    arn = repo.policy_arn(repo.create_policy("p", DOC))
    repo.create_user("eve")
    repo.create_group("old")
    repo.create_group("taken")
    repo.add_user_to_group("old", "eve")
    repo.attach_policy("group", "old", arn)
    repo.put_inline_policy("group", "old", "in", DOC)
    with pytest.raises(EntityAlreadyExists):
        repo.update_group("old", new_name="TAKEN")
    repo.update_group("old", new_name="new", new_path="/x/")
    group, members = repo.get_group("new")
    assert group.path == "/x/" and [u.name for u in members] == ["eve"]
    assert repo.attached_policies("group", "new") == [arn]
    assert repo.inline_policies("group", "new") == {"in": DOC}
    assert [type(e).__name__ for e in repo.policy_entities(arn)] == ["Group"]


def test_edit_oidc_provider_is_one_step(repo: Repository) -> None:
    url = "idp.example/realms/x"
    repo.create_oidc_provider(url, ["a"], [])
    repo.edit_oidc_provider(url, lambda row: row.client_ids.append("b"))
    assert repo.get_oidc_provider(url).client_ids == ["a", "b"]

    def failing(row) -> None:
        row.client_ids.append("c")
        raise LimitExceeded("no")

    with pytest.raises(LimitExceeded):
        repo.edit_oidc_provider(url, failing)
    assert repo.get_oidc_provider(url).client_ids == ["a", "b"]


def test_account_counts(repo: Repository) -> None:
    repo.upsert_canned_policy("readonly", DOC, "h")  # canned: AWS-managed, not counted
    repo.create_user("u")
    repo.create_group("g")
    arn = repo.policy_arn(repo.create_policy("p", DOC))
    repo.create_policy_version(arn, DOC, set_default=False)
    repo.create_oidc_provider("idp.example", ["a"], [])
    counts = repo.account_counts()
    assert counts == {
        "Users": 1,
        "Groups": 1,
        "Roles": 0,
        "Policies": 1,
        "PolicyVersionsInUse": 3,
        "Providers": 1,
    }


def test_policy_tags(repo: Repository) -> None:
    arn = repo.policy_arn(repo.create_policy("tagged", DOC, tags={"a": "1"}))
    repo.set_policy_tags(arn, {"b": "2"})
    repo.remove_policy_tags(arn, ["a"])
    assert repo.get_policy(arn).tags == {"b": "2"}


def test_upgrade_from_0001_keeps_policies(store_url: str) -> None:
    engine = make_engine(store_url)
    migrate(engine, "0001")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO iam_policy (account_id, name, name_key, path, policy_id, description,"
                " default_version, next_version, source, created, updated) VALUES ('123456789012',"
                " 'old', 'old', '/', 'ANPAOLD', '', 'v1', 2, 'api', :now, :now)"
            ),
            {"now": datetime.now(UTC)},
        )
    migrate(engine)
    engine.dispose()
    repo = Repository.open(store_url, MasterKey(b"k" * 32), "123456789012")
    assert repo.get_policy("old").tags == {}
    repo.set_policy_tags("old", {"x": "y"})
    assert repo.get_policy("old").tags == {"x": "y"}
    repo.close()
