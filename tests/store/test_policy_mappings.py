"""Federated policy mappings: LDAP DNs (compared as RFC 4514 says) and OpenID groups,
one table keyed by provider; and the migration that made it of the LDAP table."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from iamgw.store import InvalidInput, MasterKey, NoSuchEntity, Repository
from iamgw.store.database import make_engine, migrate
from iamgw.store.ldap import normalise_dn

READERS = "cn=s3-readers,ou=groups,dc=example,dc=org"
ALICE = "uid=alice,ou=people,dc=example,dc=org"


@pytest.mark.parametrize(
    ("dn", "normalised"),
    [
        (READERS, READERS),
        ("CN=S3-Readers, OU=Groups ,DC=Example,DC=ORG", READERS),  # case, spaces
        ("cn=S3  Readers,dc=x", "cn=s3 readers,dc=x"),  # runs of spaces (RFC 4518)
        ("cn=Smith\\, John,dc=x", "cn=smith\\, john,dc=x"),  # an escaped comma
        ("cn=Smith\\2C John,dc=x", "cn=smith\\, john,dc=x"),  # ... as a hex pair
        ("cn=caf\\C3\\A9,dc=x", "cn=café,dc=x"),  # UTF-8 as hex pairs
        ("uid=b+cn=A,dc=x", "cn=a+uid=b,dc=x"),  # multi-valued RDN: any order
        ("cn=a\\=b,dc=x", "cn=a=b,dc=x"),  # an escape that needs none
        ("cn=\\#1,dc=x", "cn=\\#1,dc=x"),  # a leading # stays escaped
        ("cn=#04024869,dc=x", "cn=#04024869,dc=x"),  # a BER value: as written
        ("cn=a\\+b,dc=x", "cn=a\\+b,dc=x"),
        ("cn=x\\ ,dc=x", "cn=x,dc=x"),  # an escaped trailing space is insignificant too
        ("", ""),
    ],
)
def test_normalise_dn(dn: str, normalised: str) -> None:
    assert normalise_dn(dn) == normalised
    assert normalise_dn(normalised) == normalised  # canonical: normalising again keeps it


@pytest.mark.parametrize("dn", ["cn", "=x", "cn=a\\", "cn=a\\zz", "cn=\\ff", "c n=x", "cn=a,"])
def test_not_a_dn(dn: str) -> None:
    with pytest.raises(InvalidInput):
        normalise_dn(dn)


def test_ldap_mappings_match_normalised(repo: Repository) -> None:
    repo.attach_ldap_policies("group", "CN=S3-Readers, OU=Groups,DC=example,DC=org", ["readonly"])
    repo.attach_ldap_policies("user", ALICE, ["readwrite", "diagnostics"])
    repo.attach_ldap_policies("user", ALICE, ["readwrite"])  # again: no change, no error
    assert repo.ldap_policies("UID=Alice,ou=People,dc=example,dc=org") == [
        "diagnostics",
        "readwrite",
    ]
    assert repo.ldap_policies("uid=bob,ou=people,dc=example,dc=org", [READERS]) == ["readonly"]
    # A user DN never matches a group mapping of the same text, nor the other way.
    assert repo.ldap_policies(READERS) == []
    assert repo.ldap_policies("uid=x,dc=x", [ALICE]) == []
    assert [(m.kind, m.subject, m.policy_name) for m in repo.ldap_mappings()] == [
        ("group", READERS, "readonly"),
        ("user", ALICE, "diagnostics"),
        ("user", ALICE, "readwrite"),
    ]


def test_ldap_detach(repo: Repository) -> None:
    repo.attach_ldap_policies("user", ALICE, ["readwrite", "diagnostics"])
    generation = repo.generation()
    repo.detach_ldap_policies("user", "uid=ALICE, ou=people,dc=example,dc=org", ["readwrite"])
    assert repo.generation() > generation  # replicas see the change
    assert repo.ldap_policies(ALICE) == ["diagnostics"]
    with pytest.raises(NoSuchEntity):  # one of them is not attached: nothing detached
        repo.detach_ldap_policies("user", ALICE, ["diagnostics", "readwrite"])
    assert repo.ldap_policies(ALICE) == ["diagnostics"]
    with pytest.raises(InvalidInput):
        repo.detach_ldap_policies("role", ALICE, ["diagnostics"])


def test_oidc_groups_are_per_provider(repo: Repository) -> None:
    repo.attach_oidc_group_policies("keycloak", "s3-readers", ["readonly"])
    repo.attach_oidc_group_policies("other", "s3-readers", ["readwrite"])
    repo.attach_ldap_policies("group", "cn=s3-readers", ["diagnostics"])
    assert repo.oidc_group_policies("keycloak", ["s3-readers", "unmapped"]) == ["readonly"]
    assert repo.oidc_group_policies("other", ["s3-readers"]) == ["readwrite"]
    assert repo.oidc_group_policies("keycloak", ["S3-Readers"]) == []  # names as given
    assert repo.oidc_group_policies("keycloak", []) == []
    assert repo.ldap_policies("uid=x", ["cn=s3-readers"]) == ["diagnostics"]
    assert [(m.provider, m.subject) for m in repo.oidc_group_mappings()] == [
        ("keycloak", "s3-readers"),
        ("other", "s3-readers"),
    ]
    assert len(repo.oidc_group_mappings("other")) == 1
    repo.detach_oidc_group_policies("keycloak", "s3-readers", ["readonly"])
    assert repo.oidc_group_policies("keycloak", ["s3-readers"]) == []
    with pytest.raises(InvalidInput):  # "ldap" is the LDAP directory's, not a provider's
        repo.attach_oidc_group_policies("ldap", "cn=x", ["readonly"])


def test_migration_keeps_ldap_mappings(store_url: str) -> None:
    """Rows of the LDAP-only table (revision 0002) become provider "ldap" rows."""
    engine = make_engine(store_url)
    migrate(engine, "0002")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ldap_policy_mapping (account_id, dn_type, dn, policy_name) "
                "VALUES ('123456789012', 'group', :dn, 'readonly')"
            ),
            {"dn": READERS},
        )
    engine.dispose()
    repo = Repository.open(store_url, MasterKey(b"k" * 32), "123456789012")
    try:
        assert repo.ldap_policies(ALICE, ["CN=S3-Readers,OU=Groups,DC=Example,DC=Org"]) == [
            "readonly"
        ]
        assert repo.oidc_group_mappings() == []
    finally:
        repo.close()
