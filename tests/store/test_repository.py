"""The repository API on SQLite and PostgreSQL: every call one transaction, AWS's rules."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

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

DOC = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'


def test_user_lifecycle(repo: Repository) -> None:
    user = repo.create_user("alice", path="/eng/", tags={"team": "storage"})
    assert user.user_id.startswith("AIDA") and len(user.user_id) == 21
    assert repo.get_user("ALICE").name == "alice"  # IAM names are case-insensitive
    with pytest.raises(EntityAlreadyExists):
        repo.create_user("Alice")
    assert [u.name for u in repo.list_users("/eng/")] == ["alice"]
    assert repo.list_users("/ops/") == []
    repo.update_user("alice", new_name="alice2")
    assert repo.get_user("alice2").tags == {"team": "storage"}
    repo.delete_user("alice2")
    with pytest.raises(NoSuchEntity):
        repo.get_user("alice2")


def test_delete_user_refused_while_it_holds_things(repo: Repository) -> None:
    repo.create_user("bob")
    repo.create_access_key("bob")
    with pytest.raises(DeleteConflict, match="access keys"):
        repo.delete_user("bob")
    assert repo.get_user("bob")  # nothing changed


def test_access_keys_are_sealed_and_limited(repo: Repository, store_url: str) -> None:
    repo.create_user("carol")
    key, secret = repo.create_access_key("carol")
    assert key.access_key_id.startswith("AKIA") and len(key.access_key_id) == 20
    assert len(secret) == 40
    # The secret is never stored in clear.
    with repo.engine.connect() as conn:
        raw = conn.execute(text("SELECT secret_sealed FROM iam_access_key")).scalar_one()
    assert secret.encode() not in bytes(raw)
    found = repo.find_access_key(key.access_key_id)
    assert found is not None and found[1] == secret
    repo.create_access_key("carol")
    with pytest.raises(LimitExceeded):
        repo.create_access_key("carol")
    assert len(repo.list_access_keys("carol")) == 2
    repo.update_access_key("carol", key.access_key_id, "Inactive")
    assert repo.find_access_key(key.access_key_id)[0].status == "Inactive"
    assert repo.find_access_key("AKIANOTAKEY000000000") is None


def test_sealed_secret_needs_the_master_key(repo: Repository, store_url: str) -> None:
    repo.create_user("dave")
    key, _ = repo.create_access_key("dave")
    other = Repository.open(store_url, MasterKey(b"x" * 32), "123456789012")
    try:
        with pytest.raises(Exception, match="master key"):
            other.find_access_key(key.access_key_id)
    finally:
        other.close()


def test_groups_and_memberships(repo: Repository) -> None:
    repo.create_user("erin")
    repo.create_group("admins")
    repo.add_user_to_group("admins", "erin")
    group, members = repo.get_group("admins")
    assert group.group_id.startswith("AGPA") and [m.name for m in members] == ["erin"]
    assert [g.name for g in repo.groups_for_user("erin")] == ["admins"]
    with pytest.raises(DeleteConflict):
        repo.delete_group("admins")
    repo.remove_user_from_group("admins", "erin")
    repo.delete_group("admins")
    with pytest.raises(NoSuchEntity):
        repo.remove_user_from_group("admins", "erin")


def test_managed_policy_versions(repo: Repository) -> None:
    policy = repo.create_policy("s3all", DOC, description="all of s3")
    arn = repo.policy_arn(policy)
    assert arn == "arn:aws:iam::123456789012:policy/s3all"
    for _ in range(4):
        repo.create_policy_version(arn, DOC.replace("s3:*", "s3:Get*"), set_default=False)
    with pytest.raises(LimitExceeded):
        repo.create_policy_version(arn, DOC, set_default=True)
    assert [v.version_id for v in repo.list_policy_versions(arn)] == ["v5", "v4", "v3", "v2", "v1"]
    repo.set_default_policy_version(arn, "v3")
    assert "s3:Get*" in repo.policy_document(arn)
    with pytest.raises(DeleteConflict):
        repo.delete_policy_version(arn, "v3")
    repo.delete_policy_version(arn, "v1")
    with pytest.raises(NoSuchEntity):
        repo.policy_document(arn, "v1")


def test_attachments_inline_and_boundaries(repo: Repository) -> None:
    repo.create_user("frank")
    arn = repo.policy_arn(repo.create_policy("p", DOC))
    repo.attach_policy("user", "frank", arn)
    repo.attach_policy("user", "frank", arn)  # idempotent, as in IAM
    assert repo.attached_policies("user", "frank") == [arn]
    with pytest.raises(DeleteConflict):
        repo.delete_policy(arn)
    repo.put_inline_policy("user", "frank", "inline1", DOC)
    assert repo.inline_policies("user", "frank") == {"inline1": DOC}
    repo.set_permissions_boundary("user", "frank", arn)
    assert repo.get_user("frank").permissions_boundary == arn
    repo.set_permissions_boundary("user", "frank", None)
    repo.detach_policy("user", "frank", arn)
    repo.delete_inline_policy("user", "frank", "inline1")
    repo.delete_policy(arn)
    repo.delete_user("frank")
    with pytest.raises(NoSuchEntity):
        repo.attach_policy("user", "nobody", arn)


def test_roles(repo: Repository) -> None:
    role = repo.create_role("reader", DOC, max_session_duration=7200)
    assert role.role_id.startswith("AROA")
    repo.update_role("reader", description="reads")
    assert repo.get_role("READER").description == "reads"
    with pytest.raises(EntityAlreadyExists):
        repo.create_role("reader", DOC)
    repo.delete_role("reader")
    assert repo.list_roles() == []


def test_bucket_policies_ldap_and_revocations(repo: Repository) -> None:
    assert repo.get_bucket_policy("photos") is None
    repo.put_bucket_policy("photos", DOC)
    assert repo.get_bucket_policy("photos") == DOC
    assert repo.delete_bucket_policy("photos") is True
    repo.attach_ldap_policies("group", "CN=s3-readers, ou=groups,dc=example,dc=org", ["readonly"])
    repo.attach_ldap_policies("user", "uid=alice,ou=people,dc=example,dc=org", ["readwrite"])
    assert repo.ldap_policies(
        "uid=alice,ou=people,dc=example,dc=org", ["cn=s3-readers,ou=groups,dc=example,dc=org"]
    ) == ["readonly", "readwrite"]
    repo.revoke("user", "arn:aws:iam::123456789012:user/alice")
    assert [r.kind for r in repo.revocations()] == ["user"]


def test_a_failed_call_changes_nothing(repo: Repository) -> None:
    repo.create_user("gina")
    before = repo.generation()
    with pytest.raises(NoSuchEntity):
        repo.attach_policy("user", "gina", "arn:aws:iam::123456789012:policy/missing")
    assert repo.generation() == before
    repo.create_group("g")
    assert repo.generation() == before + 1


def test_canned_policy_upsert(repo: Repository) -> None:
    assert repo.upsert_canned_policy("readonly", DOC, "h1") == "created"
    assert repo.upsert_canned_policy("readonly", DOC, "h1") == "unchanged"
    for i in range(7):  # never blocked by the 5-version limit
        assert repo.upsert_canned_policy("readonly", DOC, f"h{i + 2}") == "updated"
    assert len(repo.list_policy_versions("readonly")) == 5
    repo.create_policy("mine", DOC)
    assert repo.upsert_canned_policy("mine", DOC, "h") == "conflict"


def test_concurrent_creates_leave_a_consistent_store(repo: Repository) -> None:
    arn = repo.policy_arn(repo.create_policy("p", DOC))
    repo.create_user("keys")

    def work(i: int) -> None:
        repo.create_user(f"u{i}")
        repo.attach_policy("user", f"u{i}", arn)

    def key(_: int) -> str:
        try:
            return repo.create_access_key("keys")[0].access_key_id
        except LimitExceeded:
            return "limit"

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(20)))
        results = list(pool.map(key, range(6)))
    assert len(repo.list_users()) == 21
    assert repo.attachment_count(arn) == 20
    assert results.count("limit") == 4 and len(repo.list_access_keys("keys")) == 2


def test_oidc_providers(repo: Repository) -> None:
    url = "keycloak.example.org/realms/storage"
    repo.create_oidc_provider(url, ["iamgw"], ["a" * 40])
    with pytest.raises(EntityAlreadyExists):
        repo.create_oidc_provider(url, ["other"], [])
    assert repo.get_oidc_provider(url).client_ids == ["iamgw"]
    repo.update_oidc_provider(url, client_ids=["iamgw", "console"])
    assert [p.url for p in repo.list_oidc_providers()] == [url]
    assert repo.oidc_provider_arn(url).endswith(f":oidc-provider/{url}")
    repo.delete_oidc_provider(url)
    with pytest.raises(NoSuchEntity):
        repo.get_oidc_provider(url)
