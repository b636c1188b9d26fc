"""Settings: TOML file, IAMGW_* environment, and one clear line for every bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from iamgw.config import ConfigError, load_settings

FULL = """
[server]
address = "127.0.0.1:9100"
region = "eu-west-1"
account_id = "123456789012"
data_dir = "/tmp/iamgw-x"

[store]
url = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

[root]
access_key = "ROOTKEY"
secret_key = "rootsecret-123"

[sts]
default_duration_seconds = 1800

[[upstream]]
endpoint = "http://127.0.0.1:8333"
access_key = "a"
secret_key = "b"

[[upstream]]
endpoint = "http://127.0.0.1:8334"
access_key = "c"
secret_key = "d"

[[oidc]]
name = "keycloak"
issuer = "http://127.0.0.1:8080/realms/storage"
client_id = "iamgw"
client_secret = "s3cr3t"
claim_name = "realm_access.roles"

[ldap]
url = "ldap://127.0.0.1:3890 ldap://127.0.0.1:3891"
user_search_base = "ou=people,dc=example,dc=org"
[ldap.group_policies]
"cn=s3-readers,ou=groups,dc=example,dc=org" = ["readonly"]

[audit]
targets = ["stdout", "http://127.0.0.1:9200/_bulk"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "iamgw.toml"
    path.write_text(text)
    return path


def test_defaults_are_the_embedded_default() -> None:
    s = load_settings(None, environ={})
    assert s.server.address == "127.0.0.1:9000" and s.server.port == 9000
    assert s.store_url == "sqlite:///iamgw-data/iamgw.db"
    assert s.upstream == [] and s.oidc == [] and s.ldap.url == ""
    assert s.sts.default_duration_seconds == 3600


def test_full_file(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, FULL), environ={})
    assert s.server.region == "eu-west-1" and s.server.host == "127.0.0.1"
    assert [u.endpoint for u in s.upstream] == ["http://127.0.0.1:8333", "http://127.0.0.1:8334"]
    assert s.oidc[0].claim_name == "realm_access.roles" and s.oidc[0].scopes[0] == "openid"
    assert s.ldap.urls == ["ldap://127.0.0.1:3890", "ldap://127.0.0.1:3891"]
    assert s.ldap.group_policies == {"cn=s3-readers,ou=groups,dc=example,dc=org": ["readonly"]}
    assert "s3cr3t" not in repr(s) and "rootsecret" not in repr(s)


def test_environment_overrides_every_kind_of_key(tmp_path: Path) -> None:
    env = {
        "IAMGW_SERVER_ADDRESS": "0.0.0.0:9443",
        "IAMGW_STS_MAX_DURATION_SECONDS": "7200",
        "IAMGW_LDAP_START_TLS": "true",
        "IAMGW_LDAP_USER_POLICIES": '{"uid=a,dc=x": ["readwrite"]}',
        "IAMGW_AUDIT_TARGETS": "stdout,file:/tmp/a.log",
        "IAMGW_UPSTREAM_1_ENDPOINT": "http://127.0.0.1:9999",
        "IAMGW_OIDC_SCOPES": '["openid", "groups"]',
        "IAMGW_LOG_LEVEL": "debug",
        "HOME": "/root",
    }
    s = load_settings(write(tmp_path, FULL), environ=env)
    assert s.server.port == 9443 and s.sts.max_duration_seconds == 7200
    assert s.ldap.start_tls is True and s.ldap.user_policies == {"uid=a,dc=x": ["readwrite"]}
    assert s.audit.targets == ["stdout", "file:/tmp/a.log"]
    assert s.upstream[1].endpoint == "http://127.0.0.1:9999" and s.upstream[1].access_key == "c"
    assert s.oidc[0].scopes == ["openid", "groups"]


def test_environment_alone_configures_an_upstream() -> None:
    env = {
        "IAMGW_UPSTREAM_ENDPOINT": "http://127.0.0.1:8333",
        "IAMGW_UPSTREAM_ACCESS_KEY": "k",
        "IAMGW_UPSTREAM_SECRET_KEY": "s",
    }
    assert load_settings(None, environ=env).upstream[0].access_key == "k"


@pytest.mark.parametrize(
    ("text", "env", "key", "problem"),
    [
        ("[server]\naddress = 'nowhere'", {}, "server.address", "host:port"),
        ("[server]\naddress = '127.0.0.1:70000'", {}, "server.address", "port"),
        ("[server]\naccount_id = '12'", {}, "server.account_id", "12 digits"),
        ("[server]\nregion = 'Mars'", {}, "server.region", "region"),
        ("[server]\nport = 1", {}, "server.port", "unknown key"),
        ("[servr]\naddress = '1:1'", {}, "servr", "unknown section"),
        ("[sts]\nmax_duration_seconds = 'long'", {}, "sts.max_duration_seconds", "integer"),
        ("[sts]\nmin_duration_seconds = 60", {}, "sts.min_duration_seconds", "between"),
        (
            "[sts]\ndefault_duration_seconds = 43200\nmax_duration_seconds = 3600",
            {},
            "sts.default_duration_seconds",
            "between",
        ),
        ("[store]\nurl = 'mysql://x'", {}, "store.url", "sqlite"),
        ("[upstream]\nendpoint = 'http://x'", {}, "upstream", "[[upstream]]"),
        (
            "[[upstream]]\nendpoint = 'ftp://x'\naccess_key='a'\nsecret_key='b'",
            {},
            "upstream[0].endpoint",
            "URL",
        ),
        ("[[upstream]]\nendpoint = 'http://x'", {}, "upstream[0].access_key", "required"),
        (
            "[[oidc]]\nname='a'\nissuer='http://i'\nclient_id='c'\n[[oidc]]\nname='a'\n"
            "issuer='http://i'\nclient_id='c'",
            {},
            "oidc[1].name",
            "another",
        ),
        ("[[oidc]]\nname='a'\nissuer='i'\nclient_id='c'", {}, "oidc[0].issuer", "URL"),
        ("[ldap]\nurl = 'http://x'\nuser_search_base='dc=x'", {}, "ldap.url", "ldap://"),
        ("[ldap]\nstart_tls = 'yes'", {}, "ldap.start_tls", "true or false"),
        ("[audit]\ntargets = ['syslog']", {}, "audit.targets[0]", "URL"),
        ("[server]\ntls_cert = '/nonexistent.pem'", {}, "server.tls_cert", "together"),
        ("", {"IAMGW_STS_MAX_DURATION_SECONDS": "x"}, "sts.max_duration_seconds", "integer"),
        ("", {"IAMGW_NOPE_KEY": "1"}, "IAMGW_NOPE_KEY", "unknown setting"),
        ("", {"IAMGW_LDAP_GROUP_POLICIES": "{not json"}, "ldap.group_policies", "JSON"),
        ("[server\n", {}, "iamgw.toml", "TOML"),
    ],
)
def test_bad_values_name_the_key(
    tmp_path: Path, text: str, env: dict, key: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), environ=env)
    assert key in str(info.value) and problem in str(info.value)
    assert "\n" not in str(info.value)


def test_secrets_never_appear_in_errors(tmp_path: Path) -> None:
    text = "[root]\naccess_key = 'ROOT'\nsecret_key = 'short'"
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), environ={})
    assert "short" not in str(info.value)
    text = "[[oidc]]\nname='a'\nissuer='http://i'\nclient_id='c'\nclient_secret=42"
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), environ={})
    assert "42" not in str(info.value) and "oidc[0].client_secret" in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "absent.toml", environ={})
