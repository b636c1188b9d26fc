"""Browser sign-in through the real OpenID provider and slapd, as an HTTP client
that keeps cookies (the UI itself is driven by chromium in test_ui.py)."""

from __future__ import annotations

import botocore.exceptions
import httpx
import pytest

from tests.console.conftest import BUCKET, browser, callback_url, sign_in, through_provider

pytestmark = pytest.mark.timeout(120)


def s3_from(gateway, creds: dict):
    return gateway.client(
        "s3", key=creds["AccessKeyId"], secret=creds["SecretAccessKey"], token=creds["SessionToken"]
    )


def session_cookies(http) -> list[str]:
    return [c.name for c in http.cookies.jar if c.name.startswith("iamgw_session")]


def test_login_page_lists_providers_and_the_ldap_form(console_gateway):
    answer = browser().get(f"{console_gateway.url}/iamgw/login")
    assert answer.status_code == 200
    assert 'href="/iamgw/login?provider=keycloak"' in answer.text
    assert 'action="/iamgw/login/ldap"' in answer.text
    assert '<meta name="viewport"' in answer.text
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert answer.headers["cache-control"] == "no-store"


def test_signed_out(console_gateway):
    http = browser()
    home = http.get(f"{console_gateway.url}/iamgw/")
    assert home.status_code == 303 and home.headers["location"] == "/iamgw/login"
    creds = http.get(f"{console_gateway.url}/iamgw/api/credentials")
    assert creds.status_code == 401
    assert "location" not in creds.headers
    assert "access-control-allow-origin" not in creds.headers


def test_oidc_sign_in_mints_the_sts_session(console_gateway, oidc_provider):
    http, callback = sign_in(console_gateway.url, oidc_provider, "alice")
    assert callback.status_code == 303 and callback.headers["location"] == "/iamgw/"
    cookie = callback.headers.get_list("set-cookie")
    session = [c for c in cookie if c.startswith("iamgw_session=")]
    assert session and "HttpOnly" in session[0] and "SameSite=lax" in session[0]
    assert "Path=/iamgw" in session[0]
    home = http.get(f"{console_gateway.url}/iamgw/")
    assert home.status_code == 200
    assert "assumed-role/keycloak/" in home.text and "readwrite" in home.text
    creds = http.get(f"{console_gateway.url}/iamgw/api/credentials").json()
    assert creds["Version"] == 1 and creds["AccessKeyId"].startswith("ASIA")
    assert creds["Expiration"].endswith("+00:00")
    s3 = s3_from(console_gateway, creds)
    s3.put_object(Bucket=BUCKET, Key="from-console", Body=b"x")
    metrics = httpx.get(f"{console_gateway.url}/metrics").text
    assert 'iamgw_sts_credentials_issued_total{method="ConsoleWebIdentity"}' in metrics
    # The same policies and principal as the STS call of the same login.
    token = oidc_provider.token_for("alice")["id_token"]
    direct = httpx.post(console_gateway.url, data={  # as the STS call, no session name
        "Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15", "WebIdentityToken": token,
    })  # fmt: skip
    assert direct.status_code == 200, direct.text
    direct_arn = direct.text.split("<Arn>", 1)[1].split("</Arn>", 1)[0]
    console_arn = console_gateway.client(
        "sts", key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
        token=creds["SessionToken"],
    ).get_caller_identity()["Arn"]  # fmt: skip
    assert console_arn == direct_arn


def test_no_policy_gets_a_page_and_no_session(console_gateway, oidc_provider):
    http, callback = sign_in(console_gateway.url, oidc_provider, "carol")
    assert callback.status_code == 403
    assert "no policy" in callback.text
    assert not session_cookies(http)
    assert http.get(f"{console_gateway.url}/iamgw/api/credentials").status_code == 401


def test_ldap_form(console_gateway, slapd):
    http = browser()
    page = http.get(f"{console_gateway.url}/iamgw/login")
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    form = {"username": "bob", "password": slapd.users["bob"], "csrf": csrf}
    answer = http.post(f"{console_gateway.url}/iamgw/login/ldap", data=form)
    assert answer.status_code == 303, answer.text
    home = http.get(f"{console_gateway.url}/iamgw/")
    assert "assumed-role/ldap/bob" in home.text and "s3-readers" in home.text
    creds = http.get(f"{console_gateway.url}/iamgw/api/credentials").json()
    s3 = s3_from(console_gateway, creds)
    assert s3.get_object(Bucket=BUCKET, Key="hello.txt")["Body"].read()
    with pytest.raises(botocore.exceptions.ClientError):
        s3.put_object(Bucket=BUCKET, Key="bob", Body=b"x")


def test_ldap_wrong_password_and_missing_csrf(console_gateway, slapd):
    http = browser()
    page = http.get(f"{console_gateway.url}/iamgw/login")
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    wrong = http.post(
        f"{console_gateway.url}/iamgw/login/ldap",
        data={"username": "bob", "password": "nope", "csrf": csrf},
    )
    assert wrong.status_code == 403 and "wrong" in wrong.text
    assert not session_cookies(http)
    stranger = browser().post(
        f"{console_gateway.url}/iamgw/login/ldap",
        data={"username": "bob", "password": slapd.users["bob"]},
    )
    assert stranger.status_code == 403 and not session_cookies(stranger)
    other_site = http.post(
        f"{console_gateway.url}/iamgw/login/ldap",
        data={"username": "bob", "password": slapd.users["bob"], "csrf": csrf},
        headers={"origin": "http://evil.example"},
    )
    assert other_site.status_code == 403 and not session_cookies(http)


def test_logout_ends_the_session_at_the_provider_too(console_gateway, oidc_provider):
    http, _ = sign_in(console_gateway.url, oidc_provider, "alice")
    creds = http.get(f"{console_gateway.url}/iamgw/api/credentials").json()
    home = http.get(f"{console_gateway.url}/iamgw/")
    csrf = home.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    assert http.post(f"{console_gateway.url}/iamgw/logout", data={"csrf": "x"}).status_code == 403
    out = http.post(f"{console_gateway.url}/iamgw/logout", data={"csrf": csrf})
    assert out.status_code == 303
    assert out.headers["location"].startswith(oidc_provider.end_session_endpoint)
    assert "id_token_hint=" in out.headers["location"]
    assert not session_cookies(http)
    assert http.get(f"{console_gateway.url}/iamgw/api/credentials").status_code == 401
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        s3_from(console_gateway, creds).list_objects_v2(Bucket=BUCKET)
    assert refused.value.response["Error"]["Code"] == "InvalidToken"


def test_callback_comes_back_once(console_gateway, oidc_provider):
    http = browser()
    start = http.get(f"{console_gateway.url}/iamgw/login", params={"provider": "keycloak"})
    back = through_provider(http, start, oidc_provider, "alice")
    login_cookies = dict(http.cookies)
    first = http.get(callback_url(back))
    assert first.status_code == 303
    replay = browser(cookies=login_cookies).get(callback_url(back))
    assert replay.status_code == 403 and "already been used" in replay.text
    assert "set-cookie" not in replay.headers or "iamgw_session=" not in str(
        replay.headers.get_list("set-cookie")
    )
