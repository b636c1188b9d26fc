"""A gateway with the web console: `[[oidc]]` keycloak (the OpenID provider peer, the
realm's confidential `iamgw` client, claim mode) and `[ldap]` (the slapd peer), in
front of the SeaweedFS peer; a browser-like HTTP client that signs in through the
provider's own login form; Playwright driving Debian's chromium for the UI tests.

Screenshots go to `test-output/screenshots/` (or `$IAMGW_TEST_OUTPUT/screenshots/`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest

from tests.gateway_server import GatewayServer, free_port, running_gateway
from tests.peers import OidcProvider, Slapd

CLIENT_SECRET = "iamgw-client-secret"  # keycloak-realm/realm.json's iamgw client
BUCKET = "console"
READERS = "cn=s3-readers,ou=groups,dc=example,dc=org"
OUTPUT = Path(os.environ.get("IAMGW_TEST_OUTPUT", Path(__file__).parents[2] / "test-output"))


def console_env(port: int, provider: OidcProvider, slapd: Slapd | None, **extra: str) -> dict:
    env = {
        "IAMGW_OIDC_0_NAME": "keycloak",
        "IAMGW_OIDC_0_ISSUER": provider.issuer,
        "IAMGW_OIDC_0_CLIENT_ID": "iamgw",
        "IAMGW_OIDC_0_CLIENT_SECRET": CLIENT_SECRET,
        "IAMGW_OIDC_0_CLAIM_NAME": "policy",
        "IAMGW_OIDC_0_GROUPS_CLAIM": "groups",
        "IAMGW_OIDC_0_REDIRECT_URI": f"http://127.0.0.1:{port}/iamgw/callback",
        **extra,
    }
    if slapd is not None:
        env |= {
            "IAMGW_LDAP_URL": slapd.url,
            "IAMGW_LDAP_BIND_DN": slapd.bind_dn,
            "IAMGW_LDAP_BIND_PASSWORD": slapd.bind_password,
            "IAMGW_LDAP_USER_SEARCH_BASE": slapd.people_dn,
            "IAMGW_LDAP_GROUP_SEARCH_BASE": slapd.groups_dn,
            "IAMGW_LDAP_GROUP_POLICIES": json.dumps({slapd.group_dn("s3-readers"): ["readonly"]}),
        }
    return env


@pytest.fixture(scope="session")
def console_gateway(seaweedfs, oidc_provider, slapd, tmp_path_factory) -> Iterator[GatewayServer]:
    """The console's gateway; bucket `console` holds `hello.txt`; LDAP s3-writers ->
    readwrite by the store, s3-readers -> readonly by the settings."""
    port = free_port()
    env = console_env(port, oidc_provider, slapd)
    data_dir = tmp_path_factory.mktemp("console-gateway")
    with running_gateway(data_dir, seaweedfs, env, port) as server:
        server.repo.attach_ldap_policies("group", slapd.group_dn("s3-writers"), ["readwrite"])
        s3 = server.client()
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="hello.txt", Body=b"hello from the console\n")
        yield server


def browser(**kwargs: Any) -> httpx.Client:
    """An HTTP client that keeps cookies, as one browser does."""
    return httpx.Client(timeout=15, follow_redirects=False, **kwargs)


def through_provider(http: httpx.Client, response: httpx.Response, provider: OidcProvider,
                     username: str, password: str | None = None) -> httpx.Response:  # fmt: skip
    """Follow `response` (a redirect to the provider) through its login form until the
    provider sends the browser back elsewhere: that redirect's answer, not followed."""
    password = password if password is not None else provider.users[username]
    for _ in range(12):
        if response.is_redirect:
            location = urljoin(str(response.url), response.headers["location"])
            if not location.startswith(provider.base_url):
                return response
            response = http.get(location)
        elif response.status_code == 200 and 'id="kc-form-login"' in response.text:
            response = http.post(
                str(response.url), data={"username": username, "password": password}
            )
        else:
            raise AssertionError(f"unexpected {response.status_code} from {response.url}")
    raise AssertionError("the provider never sent the browser back")


def callback_url(response: httpx.Response) -> str:
    """Where the provider sends the browser back (the gateway's callback)."""
    assert response.is_redirect, response.status_code
    return urljoin(str(response.url), response.headers["location"])


def sign_in(gateway_url: str, provider: OidcProvider, username: str,
            http: httpx.Client | None = None) -> tuple[httpx.Client, httpx.Response]:  # fmt: skip
    """A whole OpenID sign-in; (the browser, the callback's answer)."""
    http = http or browser()
    start = http.get(f"{gateway_url}/iamgw/login", params={"provider": "keycloak"})
    back = through_provider(http, start, provider, username)
    return http, http.get(callback_url(back))


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def screenshot_dir() -> Path:
    path = OUTPUT / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's chromium driven by Playwright (never `playwright install`). Per module:
    Playwright's sync API runs an event loop in the main thread while it is started, and
    tests after these (which call `asyncio.run`) need that loop gone."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"]
        )
        yield browser
        browser.close()
