"""The console's IAM pages and policy simulator, through the real gateway, OpenID provider
and slapd: what a page shows is what IAM lets the signed-in identity read.

The administrator is carol signing in with the LDAP form, her DN mapped to the canned
consoleAdmin for this module only (the realm gives OIDC carol no policy, and other tests
rely on that); the OIDC group mapping is checked with bob's group, mapped for one test.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator

import httpx
import pytest

from tests.console.conftest import browser, sign_in

pytestmark = pytest.mark.timeout(180)

ACCOUNT = "000000000000"
READS = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "ReadPhotos", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::photos/*"},
    ],
}  # fmt: skip
NO_DELETE = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "AlwaysAllowed", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"},
        {"Sid": "NoDelete", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"},
    ],
}  # fmt: skip
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
         "Action": "sts:AssumeRole"},
    ],
}  # fmt: skip
CUSTOM = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "ReadPhotos", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::photos/*"},
        {"Sid": "NoSecrets", "Effect": "Deny", "Action": "s3:*",
         "Resource": "arn:aws:s3:::photos/secret/*"},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::photos/*",
         "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
    ],
}  # fmt: skip


def plain(markup: str) -> str:
    """Text with tags dropped (inline ones without a space) and entities decoded, white
    space collapsed."""
    markup = re.sub(r"</?(code|strong|span|a|time)\b[^>]*>", "", markup)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def text_of(response: httpx.Response) -> str:
    return plain(response.text)


def csrf_of(response: httpx.Response) -> str:
    return response.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def ldap_sign_in(url: str, username: str, password: str) -> httpx.Client:
    http = browser()
    page = http.get(f"{url}/iamgw/login")
    form = {"username": username, "password": password, "csrf": csrf_of(page)}
    answer = http.post(f"{url}/iamgw/login/ldap", data=form)
    assert answer.status_code == 303, answer.text
    return http


@pytest.fixture(scope="module")
def entities(console_gateway) -> dict[str, str]:
    """A user in a group, with keys, tags, managed and inline policies; a role; a policy
    with two versions. Made by root through the IAM API."""
    iam = console_gateway.client("iam")
    reads = iam.create_policy(PolicyName="pg-reads", PolicyDocument=json.dumps(READS))["Policy"]
    iam.create_policy_version(
        PolicyArn=reads["Arn"], PolicyDocument=json.dumps(READS, indent=1), SetAsDefault=True
    )
    iam.create_user(UserName="pg-ana", Tags=[{"Key": "team", "Value": "photos"}])
    iam.attach_user_policy(UserName="pg-ana", PolicyArn=f"arn:aws:iam::{ACCOUNT}:policy/readonly")
    iam.put_user_policy(UserName="pg-ana", PolicyName="pg-own", PolicyDocument=json.dumps(READS))
    key = iam.create_access_key(UserName="pg-ana")["AccessKey"]
    iam.create_group(GroupName="pg-team")
    iam.add_user_to_group(GroupName="pg-team", UserName="pg-ana")
    iam.attach_group_policy(GroupName="pg-team", PolicyArn=reads["Arn"])
    iam.put_group_policy(
        GroupName="pg-team", PolicyName="pg-nodelete", PolicyDocument=json.dumps(NO_DELETE)
    )
    iam.create_role(
        RoleName="pg-role", AssumeRolePolicyDocument=json.dumps(TRUST), Description="For tests"
    )
    iam.attach_role_policy(RoleName="pg-role", PolicyArn=reads["Arn"])
    return {"key": key["AccessKeyId"], "secret": key["SecretAccessKey"], "reads": reads["Arn"]}


@pytest.fixture(scope="module")
def admin(console_gateway, slapd, entities) -> Iterator[httpx.Client]:
    """carol, signed in with the LDAP form, her DN mapped to consoleAdmin for this module."""
    dn = slapd.user_dn("carol")
    console_gateway.repo.attach_ldap_policies("user", dn, ["consoleAdmin"])
    try:
        yield ldap_sign_in(console_gateway.url, "carol", slapd.users["carol"])
    finally:
        console_gateway.repo.detach_ldap_policies("user", dn, ["consoleAdmin"])


def test_lists_and_one_user(console_gateway, admin, entities):
    url = console_gateway.url
    listed = admin.get(f"{url}/iamgw/users")
    assert listed.status_code == 200, listed.text
    assert 'href="/iamgw/users?name=pg-ana"' in listed.text
    one = admin.get(f"{url}/iamgw/users", params={"name": "PG-ANA"})  # IAM ignores case
    assert one.status_code == 200, one.text
    text = text_of(one)
    assert f"arn:aws:iam::{ACCOUNT}:user/pg-ana" in text
    assert 'href="/iamgw/groups?name=pg-team"' in one.text
    assert "readonly" in text and "pg-own" in text and '"ReadPhotos"' in text
    assert f"{entities['key']} Active" in text
    assert entities["secret"] not in one.text  # never a secret
    assert "team photos" in text
    for path, name in (("groups", "pg-team"), ("roles", "pg-role"), ("policies", "pg-reads")):
        page = admin.get(f"{url}/iamgw/{path}")
        assert page.status_code == 200 and name in page.text, path


def test_group_role_and_policy_pages(console_gateway, admin, entities):
    url = console_gateway.url
    group = admin.get(f"{url}/iamgw/groups", params={"name": "pg-team"})
    assert group.status_code == 200
    text = text_of(group)
    assert "Members pg-ana" in text and "pg-reads" in text and '"NoDelete"' in text
    role = admin.get(f"{url}/iamgw/roles", params={"name": "pg-role"})
    assert role.status_code == 200 and "For tests" in role.text
    trust = html.unescape(role.text.split('id="trust-policy"><code>', 1)[1].split("</code>", 1)[0])
    assert json.loads(trust) == TRUST and '\n  "Statement": [' in trust  # pretty-printed
    policies = text_of(admin.get(f"{url}/iamgw/policies"))
    # pg-reads: attached to the group and the role, default version v2.
    assert re.search(r"pg-reads \S+policy/pg-reads 2 0 v2", policies), policies
    policy = admin.get(f"{url}/iamgw/policies", params={"arn": entities["reads"]})
    assert policy.status_code == 200
    document = html.unescape(
        policy.text.split('id="policy-document"><code>', 1)[1].split("</code>", 1)[0]
    )
    assert json.loads(document) == READS and '\n  "Statement": [' in document
    text = text_of(policy)
    assert "Document, version v2 (default)" in text and "v1" in text
    assert "group pg-team" in text and "role pg-role" in text
    older = admin.get(f"{url}/iamgw/policies", params={"arn": entities["reads"], "version": "v1"})
    assert "Document, version v1 {" in text_of(older)  # not "(default)"
    canned = text_of(admin.get(f"{url}/iamgw/policies", params={"scope": "AWS"}))
    assert "consoleAdmin" in canned and "pg-reads" not in canned


def test_unknown_entity_and_bad_name_say_so(console_gateway, admin):
    missing = admin.get(f"{console_gateway.url}/iamgw/users", params={"name": "pg-nobody"})
    assert missing.status_code == 404
    assert "iam:GetUser failed: NoSuchEntity" in text_of(missing)
    assert "pg-nobody" in text_of(missing)
    bad = admin.get(f"{console_gateway.url}/iamgw/roles", params={"name": "no spaces"})
    assert bad.status_code == 400 and "ValidationError" in text_of(bad)


def test_denied_pages_say_which_action(console_gateway, oidc_provider):
    http, callback = sign_in(console_gateway.url, oidc_provider, "alice")  # readwrite only
    assert callback.status_code == 303
    home = http.get(f"{console_gateway.url}/iamgw/")
    for path in ("/iamgw/users", "/iamgw/groups", "/iamgw/roles", "/iamgw/policies"):
        assert f'href="{path}"' in home.text  # in everyone's navigation
    users = http.get(f"{console_gateway.url}/iamgw/users")
    assert users.status_code == 403
    assert "Access denied: iam:ListUsers" in text_of(users)
    assert "not authorized to perform: iam:ListUsers" in text_of(users)
    role = http.get(f"{console_gateway.url}/iamgw/roles", params={"name": "pg-role"})
    assert role.status_code == 403 and "Access denied: iam:GetRole" in text_of(role)
    form = http.get(f"{console_gateway.url}/iamgw/simulate")
    assert form.status_code == 200
    ran = http.post(
        f"{console_gateway.url}/iamgw/simulate",
        data={"csrf": csrf_of(form), "mode": "policy", "policy": json.dumps(READS),
              "actions": "s3:GetObject"},
    )  # fmt: skip
    assert ran.status_code == 403
    assert "Access denied: iam:SimulateCustomPolicy" in text_of(ran)


def test_a_part_denied_is_said_in_that_part(console_gateway, slapd, entities):
    """bob (LDAP) may read users but not their access keys: the page shows the rest."""
    repo, dn = console_gateway.repo, slapd.user_dn("bob")
    iam = console_gateway.client("iam")
    iam.create_policy(
        PolicyName="pg-user-reader",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["iam:ListUsers", "iam:GetUser", "iam:List*"],
             "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:ListAccessKeys", "Resource": "*"},
        ]}),
    )  # fmt: skip
    repo.attach_ldap_policies("user", dn, ["pg-user-reader"])
    try:
        http = ldap_sign_in(console_gateway.url, "bob", slapd.users["bob"])
        page = http.get(f"{console_gateway.url}/iamgw/users", params={"name": "pg-ana"})
    finally:
        repo.detach_ldap_policies("user", dn, ["pg-user-reader"])
    assert page.status_code == 200, page.text
    text = text_of(page)
    assert "Access denied: iam:ListAccessKeys" in text
    assert entities["key"] not in text
    assert "pg-team" in text and "readonly" in text  # ListGroupsForUser, ListAttached...
    assert "Access denied: iam:GetUserPolicy" in text  # iam:List* is not iam:Get*


def simulate(http: httpx.Client, url: str, **fields: str) -> httpx.Response:
    form = http.get(f"{url}/iamgw/simulate")
    return http.post(f"{url}/iamgw/simulate", data={"csrf": csrf_of(form), **fields})


def results(response: httpx.Response) -> list[str]:
    """Each result of the simulator's page, as its text."""
    return [plain(chunk) for chunk in response.text.split('<li class="result ')[1:]]


def test_simulate_a_pasted_policy(console_gateway, admin):
    answer = simulate(
        admin,
        console_gateway.url,
        mode="policy",
        policy=json.dumps(CUSTOM, indent=2),
        actions="s3:GetObject, s3:PutObject",
        resources="arn:aws:s3:::photos/a.jpg\narn:aws:s3:::photos/secret/b.jpg",
    )
    assert answer.status_code == 200, answer.text
    found = results(answer)
    assert len(found) == 4
    get_a, get_secret, put_a, put_secret = found
    assert get_a.startswith("allowed") and "Allowed s3:GetObject on arn:aws:s3:::photos/a.jpg" in (
        get_a
    )
    assert "Statement[0] (Sid ReadPhotos) of the pasted policy" in get_a
    assert "Denied (explicit deny)" in get_secret
    assert "Statement[1] (Sid NoSecrets) of the pasted policy" in get_secret
    assert "Denied (no statement allows it)" in put_a and "Deciding statement" not in put_a
    assert "did not give: aws:SourceIp" in put_a  # the condition's key was not given
    assert "Statement[1] (Sid NoSecrets)" in put_secret
    # With the context key, the conditional statement (no Sid) allows.
    answer = simulate(
        admin,
        console_gateway.url,
        mode="policy",
        policy=json.dumps(CUSTOM, indent=2),
        actions="s3:PutObject",
        resources="arn:aws:s3:::photos/a.jpg",
        **{"ctx-key-1": "aws:SourceIp", "ctx-type-1": "ip", "ctx-values-1": "10.1.2.3"},
    )
    (put_a,) = results(answer)
    assert "Allowed" in put_a and "Statement[2] of the pasted policy" in put_a
    assert 'value="aws:SourceIp"' in answer.text  # the form keeps what was asked


def test_simulate_a_principal(console_gateway, admin, entities):
    answer = simulate(
        admin,
        console_gateway.url,
        mode="principal",
        principal=f"arn:aws:iam::{ACCOUNT}:user/pg-ana",
        actions="s3:GetObject\ns3:DeleteObject\niam:CreateUser",
        resources="arn:aws:s3:::photos/a.jpg",
    )
    assert answer.status_code == 200, answer.text
    get, delete, create = results(answer)
    # The user's own attached readonly, the group's inline Deny, nothing for IAM.
    assert get.startswith("allowed") and re.search(r"Statement\[\d\] of readonly aws-managed", get)
    assert "Statement[1] (Sid NoDelete) of pg-nodelete group" in delete
    assert "explicit deny overrides" in delete
    assert create.startswith("implicitDeny") and "No statement" in create
    assert f"arn:aws:iam::{ACCOUNT}:role/pg-role" in answer.text  # among the principals offered


def test_simulator_shows_iam_errors(console_gateway, admin):
    url = console_gateway.url
    broken = simulate(admin, url, mode="policy", policy='{"Version": "2012-10-17", "Statement": [',
                      actions="s3:GetObject")  # fmt: skip
    assert broken.status_code == 400
    text = text_of(broken)
    assert "iam:SimulateCustomPolicy failed: MalformedPolicyDocument" in text
    assert "Statement" in broken.text and "[" in broken.text  # the form keeps the policy
    bad_condition = dict(CUSTOM, Statement=[
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*",
         "Condition": {"StringLikee": {"s3:prefix": "a"}}},
    ])  # fmt: skip
    answer = simulate(admin, url, mode="policy", policy=json.dumps(bad_condition),
                      actions="s3:GetObject")  # fmt: skip
    assert answer.status_code == 400
    assert "Invalid Condition type : StringLikee" in text_of(answer)
    unknown = simulate(admin, url, mode="principal", actions="s3:GetObject",
                       principal=f"arn:aws:iam::{ACCOUNT}:user/pg-nobody")  # fmt: skip
    assert unknown.status_code == 404 and "NoSuchEntity" in text_of(unknown)
    not_iam = simulate(admin, url, mode="principal", actions="s3:GetObject",
                       principal="arn:aws:s3:::photos-bucket")  # fmt: skip
    assert not_iam.status_code == 400 and "Invalid PolicySourceArn" in text_of(not_iam)
    no_action = simulate(admin, url, mode="policy", policy=json.dumps(READS))
    assert no_action.status_code == 400 and "actionNames" in text_of(no_action)


def test_simulator_needs_the_session_csrf_token(console_gateway, admin):
    fields = {"mode": "policy", "policy": json.dumps(READS), "actions": "s3:GetObject"}
    url = f"{console_gateway.url}/iamgw/simulate"
    missing = admin.post(url, data=fields)
    assert missing.status_code == 403 and not results(missing)
    assert "did not come from this console" in text_of(missing)
    form = admin.get(url)
    elsewhere = admin.post(
        url, data={"csrf": csrf_of(form), **fields}, headers={"origin": "http://evil.example"}
    )
    assert elsewhere.status_code == 403 and not results(elsewhere)
    assert browser().post(url, data=fields).status_code == 303  # signed out: to sign-in


def test_oidc_group_mapped_to_console_admin(console_gateway, oidc_provider):
    """An OpenID user whose group the store maps to consoleAdmin reads IAM too."""
    repo = console_gateway.repo
    repo.attach_oidc_group_policies("keycloak", "s3-readers", ["consoleAdmin"])
    try:
        http, callback = sign_in(console_gateway.url, oidc_provider, "bob")
    finally:
        repo.detach_oidc_group_policies("keycloak", "s3-readers", ["consoleAdmin"])
    assert callback.status_code == 303
    users = http.get(f"{console_gateway.url}/iamgw/users")
    assert users.status_code == 200 and "Users" in users.text
