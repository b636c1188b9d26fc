"""The test peers themselves: each real server answers as the other tests expect."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import boto3
import httpx
import jwt
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.peers import (
    REALM_PATH,
    OidcProvider,
    PeerError,
    SeaweedNode,
    Slapd,
    start_oidc_provider,
    start_seaweedfs,
)

ROOT = Path(__file__).resolve().parent.parent


# ---- SeaweedFS ------------------------------------------------------------------------


def s3_client(endpoint: str, access_key: str, secret_key: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def test_seaweedfs_signed_put_then_get(seaweedfs: SeaweedNode) -> None:
    s3 = s3_client(seaweedfs.endpoint, seaweedfs.access_key, seaweedfs.secret_key)
    s3.create_bucket(Bucket="peers-test")
    s3.put_object(Bucket="peers-test", Key="dir/hello.txt", Body=b"hello peers")
    body = s3.get_object(Bucket="peers-test", Key="dir/hello.txt")["Body"].read()
    assert body == b"hello peers"
    assert seaweedfs.endpoint.startswith("http://127.0.0.1:")


def test_seaweedfs_refuses_unsigned_and_badly_signed(seaweedfs: SeaweedNode) -> None:
    unsigned = httpx.get(f"{seaweedfs.endpoint}/peers-test/dir/hello.txt", timeout=5)
    assert unsigned.status_code == 403
    assert "AccessDenied" in unsigned.text

    wrong = s3_client(seaweedfs.endpoint, seaweedfs.access_key, seaweedfs.secret_key + "x")
    with pytest.raises(ClientError) as info:
        wrong.list_buckets()
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert info.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_seaweedfs_second_node_runs_beside_the_first(
    seaweedfs: SeaweedNode, tmp_path: Path
) -> None:
    node = start_seaweedfs(tmp_path, "SECONDNODEKEY", "second-node-secret")
    try:
        assert node.endpoint != seaweedfs.endpoint
        s3 = s3_client(node.endpoint, "SECONDNODEKEY", "second-node-secret")
        s3.create_bucket(Bucket="second")
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["second"]
    finally:
        node.stop()
    assert node.process.poll() is not None


# ---- OpenID provider ------------------------------------------------------------------


def verify(provider: OidcProvider, token: str, audience: str = "iamgw") -> dict[str, Any]:
    key = jwt.PyJWKClient(provider.jwks_uri, cache_keys=False).get_signing_key_from_jwt(token)
    return dict(
        jwt.decode(token, key.key, algorithms=["RS256"], audience=audience, issuer=provider.issuer)
    )


def test_oidc_discovery_has_the_keycloak_shaped_issuer(oidc_provider: OidcProvider) -> None:
    document = oidc_provider.discovery()
    assert document["issuer"] == oidc_provider.issuer
    assert oidc_provider.issuer.endswith("/realms/storage")
    assert oidc_provider.issuer.startswith("http://127.0.0.1:")
    assert {"authorization_code", "refresh_token", "client_credentials"} <= set(
        document["grant_types_supported"]
    )
    jwks = httpx.get(document["jwks_uri"], timeout=5).json()
    assert jwks["keys"] and all(k["kty"] == "RSA" and "d" not in k for k in jwks["keys"])


def test_oidc_id_token_of_alice_carries_policy_and_groups(oidc_provider: OidcProvider) -> None:
    tokens = oidc_provider.token_for("alice", "alice-password")
    claims = verify(oidc_provider, tokens["id_token"])
    assert claims["preferred_username"] == "alice"
    assert claims["email"] == "alice@example.org"
    assert claims["policy"] == ["readwrite"]  # multivalued mapper: a list, as Keycloak's
    assert claims["groups"] == ["s3-writers"]
    assert tokens["refresh_token"]
    access = verify(oidc_provider, tokens["access_token"])
    assert access["policy"] == ["readwrite"]
    assert access["sub"] == claims["sub"]


@pytest.mark.parametrize(
    ("username", "policy", "groups"),
    [("bob", ["readonly"], ["s3-readers"]), ("carol", None, [])],
)
def test_oidc_claims_follow_the_realm(
    oidc_provider: OidcProvider, username: str, policy: list[str] | None, groups: list[str]
) -> None:
    claims = verify(oidc_provider, oidc_provider.token_for(username)["id_token"])
    assert claims.get("policy") == policy
    assert claims["groups"] == groups


def test_oidc_userinfo_and_refresh_accept_the_tokens(oidc_provider: OidcProvider) -> None:
    tokens = oidc_provider.token_for("alice")
    info = oidc_provider.userinfo(tokens["access_token"])
    assert info["preferred_username"] == "alice" and info["policy"] == ["readwrite"]
    refreshed = oidc_provider.refresh(tokens["refresh_token"])
    assert verify(oidc_provider, refreshed["id_token"])["policy"] == ["readwrite"]
    with pytest.raises(PeerError, match="401"):
        oidc_provider.userinfo(tokens["access_token"][:-4] + "AAAA")


def test_oidc_client_secret_post_is_accepted(oidc_provider: OidcProvider) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": "iamgw",
        "client_secret": oidc_provider.clients["iamgw"],
    }
    response = httpx.post(oidc_provider.token_endpoint, data=form, timeout=5)
    assert response.status_code == 200, response.text


def test_oidc_sso_session_and_logout(oidc_provider: OidcProvider) -> None:
    back = "http://127.0.0.1:45678/iamgw/"  # registered on port 9000; loopback: any port
    with httpx.Client(timeout=5) as browser:
        id_token = oidc_provider.token_for("alice", http=browser)["id_token"]
        # The session cookie logs alice in again without her password.
        again = oidc_provider.token_for("alice", "unused", http=browser)
        assert verify(oidc_provider, again["id_token"])["preferred_username"] == "alice"

        params = {"id_token_hint": id_token, "post_logout_redirect_uri": back}
        page = browser.get(oidc_provider.end_session_endpoint, params=params)
        assert page.status_code == 200 and 'id="kc-logout"' in page.text
        assert "https://" not in page.text  # nothing for a browser to fetch off loopback
        action = re.search(r'action="([^"]+)"', page.text)
        xsrf = re.search(r'name="xsrf" value="([^"]+)"', page.text)
        assert action and xsrf
        done = browser.post(
            urljoin(str(page.url), action.group(1)),
            data={"xsrf": xsrf.group(1), "logout": "yes"},
        )
        assert done.is_redirect and done.headers["location"] == back
        # Logged out: the password is needed again.
        with pytest.raises(PeerError, match="refused"):
            oidc_provider.token_for("alice", "unused", http=browser)


def test_oidc_wrong_password_is_refused(oidc_provider: OidcProvider) -> None:
    with pytest.raises(PeerError, match="refused"):
        oidc_provider.token_for("alice", "not-her-password")


def test_oidc_public_console_client_logs_in_with_pkce(oidc_provider: OidcProvider) -> None:
    tokens = oidc_provider.token_for("bob", client_id="iamgw-console")
    claims = verify(oidc_provider, tokens["id_token"], audience="iamgw-console")
    assert claims["policy"] == ["readonly"]


def test_oidc_public_client_needs_pkce(oidc_provider: OidcProvider) -> None:
    params = {
        "client_id": "iamgw-console",
        "response_type": "code",
        "scope": "openid",
        "redirect_uri": oidc_provider.redirect_uri("iamgw-console"),
    }
    response = httpx.get(oidc_provider.authorization_endpoint, params=params, timeout=5)
    location = response.headers.get("location", "")
    assert response.status_code in (302, 303) and "error=invalid_request" in location


def test_oidc_login_page_has_keycloak_ids(oidc_provider: OidcProvider) -> None:
    params = {
        "client_id": "iamgw",
        "response_type": "code",
        "scope": "openid",
        "redirect_uri": oidc_provider.redirect_uri(),
    }
    with httpx.Client(follow_redirects=True, timeout=5) as http:
        page = http.get(oidc_provider.authorization_endpoint, params=params)
    assert page.status_code == 200
    for element in ('id="username"', 'id="password"', 'id="kc-login"', 'name="username"'):
        assert element in page.text


def test_oidc_loopback_redirect_uri_may_use_any_port(oidc_provider: OidcProvider) -> None:
    # RFC 8252 section 7.3, as Keycloak: the gateway under test listens on a free port.
    tokens = oidc_provider.token_for("alice", redirect_uri="http://127.0.0.1:45678/iamgw/callback")
    assert verify(oidc_provider, tokens["id_token"])["preferred_username"] == "alice"
    with pytest.raises(PeerError):
        oidc_provider.token_for("alice", redirect_uri="http://127.0.0.1:45678/elsewhere")


def test_oidc_client_credentials_token_is_a_jwt_with_policy(oidc_provider: OidcProvider) -> None:
    response = oidc_provider.client_credentials_token("iamgw", "iamgw-client-secret")
    token = response["access_token"]
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"
    claims = verify(oidc_provider, token)
    assert claims["client_id"] == "iamgw"
    assert claims["policy"] == ["readwrite"]  # the service-account user's attribute
    with pytest.raises(PeerError, match="invalid_client"):
        oidc_provider.client_credentials_token("iamgw", "wrong-secret")


def test_oidc_key_rotation_second_issuer_and_restart(
    oidc_provider: OidcProvider, tmp_path: Path
) -> None:
    other = start_oidc_provider(tmp_path)
    try:
        assert other.issuer != oidc_provider.issuer
        old_token = other.token_for("alice")["id_token"]
        old_kid = jwt.get_unverified_header(old_token)["kid"]

        kept = other.rotate_keys(keep_old=True)
        kids = [k["kid"] for k in httpx.get(other.jwks_uri, timeout=5).json()["keys"]]
        assert kids == [kept, old_kid]
        assert verify(other, old_token)["preferred_username"] == "alice"

        new = other.rotate_keys()
        kids = [k["kid"] for k in httpx.get(other.jwks_uri, timeout=5).json()["keys"]]
        assert kids == [new]
        with pytest.raises(jwt.PyJWKClientError):
            verify(other, old_token)
        fresh = other.token_for("alice")["id_token"]
        assert jwt.get_unverified_header(fresh)["kid"] == new

        other.stop()
        with pytest.raises(httpx.ConnectError):
            other.discovery()
        other.restart()  # same port, same keys
        assert other.discovery()["issuer"] == other.issuer
        assert verify(other, fresh)["preferred_username"] == "alice"
    finally:
        other.stop()


def test_oidc_start_failure_names_the_cause(oidc_provider: OidcProvider, tmp_path: Path) -> None:
    with pytest.raises(PeerError, match=r"failed to start(.|\n)*EADDRINUSE"):
        start_oidc_provider(tmp_path, port=oidc_provider.port)


# ---- slapd ----------------------------------------------------------------------------


def ldapwhoami(server: Slapd, dn: str, password: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            shutil.which("ldapwhoami") or "ldapwhoami",
            "-x",
            "-H",
            server.url,
            "-D",
            dn,
            "-w",
            password,
        ],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )


def test_slapd_binds_admin_and_users(slapd: Slapd) -> None:
    admin = ldapwhoami(slapd, slapd.bind_dn, slapd.bind_password)
    assert admin.returncode == 0, admin.stderr
    assert admin.stdout.strip() == f"dn:{slapd.bind_dn}"
    alice = ldapwhoami(slapd, slapd.user_dn("alice"), slapd.users["alice"])
    assert alice.returncode == 0, alice.stderr
    assert alice.stdout.strip() == "dn:uid=alice,ou=people,dc=example,dc=org"
    wrong = ldapwhoami(slapd, slapd.user_dn("alice"), "wrong")
    assert wrong.returncode == 49  # invalidCredentials


def test_slapd_memberof_is_maintained(slapd: Slapd) -> None:
    assert slapd.users == {
        "alice": "alice-password",
        "bob": "bob-password",
        "carol": "carol-password",
    }
    out = slapd.search("(uid=alice)", "memberOf")
    assert "memberOf: cn=s3-writers,ou=groups,dc=example,dc=org" in out
    out = slapd.search(
        "(uid=bob)", "memberOf", bind_dn=slapd.user_dn("bob"), password=slapd.users["bob"]
    )
    assert "memberOf: cn=s3-readers,ou=groups,dc=example,dc=org" in out
    assert "memberOf" not in slapd.search("(uid=carol)", "memberOf")


def test_slapd_hides_passwords(slapd: Slapd) -> None:
    out = slapd.search(
        "(uid=alice)", "userPassword", bind_dn=slapd.user_dn("bob"), password=slapd.users["bob"]
    )
    assert "userPassword" not in out


def test_slapd_with_python_ldap(slapd: Slapd) -> None:
    ldap = pytest.importorskip("ldap")
    conn = ldap.initialize(slapd.url)
    try:
        conn.simple_bind_s(slapd.user_dn("alice"), slapd.users["alice"])
        found = conn.search_s(slapd.people_dn, ldap.SCOPE_SUBTREE, "(uid=alice)", ["memberOf"])
        assert found[0][1]["memberOf"] == [b"cn=s3-writers,ou=groups,dc=example,dc=org"]
    finally:
        conn.unbind_s()


def test_slapd_seed_matches_the_compose_directory() -> None:
    # deploy/ldap/bootstrap.ldif seeds the compose OpenLDAP with the same people and groups.
    compose = ROOT / "deploy" / "ldap" / "bootstrap.ldif"
    if not compose.exists():
        pytest.skip("no deploy/ldap/bootstrap.ldif")
    seed = (ROOT / "tests" / "peers" / "ldap" / "seed.ldif").read_text()

    def entries(text: str) -> set[str]:
        lines = [line for line in text.splitlines() if not line.startswith("#")]
        blocks = "\n".join(lines).split("\n\n")
        return {block.strip() for block in blocks if block.strip()}

    assert entries(compose.read_text()) <= entries(seed)


# ---- keycloak-realm/realm.json --------------------------------------------------------


def test_realm_export_has_clients_mappers_and_users() -> None:
    realm = json.loads(REALM_PATH.read_text())
    assert realm["realm"] == "storage" and realm["enabled"] is True
    clients = {c["clientId"]: c for c in realm["clients"]}

    gateway = clients["iamgw"]
    assert gateway["publicClient"] is False and gateway["secret"]
    assert gateway["standardFlowEnabled"] and gateway["serviceAccountsEnabled"]
    assert "http://127.0.0.1:9000/iamgw/callback" in gateway["redirectUris"]

    console = clients["iamgw-console"]
    assert console["publicClient"] is True
    assert console["attributes"]["pkce.code.challenge.method"] == "S256"

    for client in (gateway, console):
        mappers = {m["protocolMapper"]: m["config"] for m in client["protocolMappers"]}
        policy = mappers["oidc-usermodel-attribute-mapper"]
        assert policy["user.attribute"] == "policy" and policy["claim.name"] == "policy"
        assert policy["multivalued"] == "true"
        for flag in ("id.token.claim", "access.token.claim", "userinfo.token.claim"):
            assert policy[flag] == "true"
        assert mappers["oidc-group-membership-mapper"]["claim.name"] == "groups"

    users = {u["username"]: u for u in realm["users"]}
    assert users["alice"]["attributes"]["policy"] == ["readwrite"]
    assert users["alice"]["groups"] == ["/s3-writers"]
    assert users["bob"]["attributes"]["policy"] == ["readonly"]
    assert users["bob"]["groups"] == ["/s3-readers"]
    assert "policy" not in users["carol"].get("attributes", {})
    for name in ("alice", "bob", "carol"):
        assert users[name]["credentials"][0]["type"] == "password"
    assert users["service-account-iamgw"]["serviceAccountClientId"] == "iamgw"
    assert {g["name"] for g in realm["groups"]} == {"s3-readers", "s3-writers"}

    # Keycloak >= 24 drops attributes its user profile does not declare.
    profile_config = realm["components"]["org.keycloak.userprofile.UserProfileProvider"][0]
    profile = json.loads(profile_config["config"]["kc.user.profile.config"][0])
    assert "policy" in {a["name"] for a in profile["attributes"]}
    policies = {p.stem for p in (ROOT / "policies").glob("*.json")}
    for user in realm["users"]:
        assert set(user.get("attributes", {}).get("policy", [])) <= policies
