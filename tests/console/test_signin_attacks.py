"""What a hostile browser or a stolen link tries against the sign-in, each refused with
nothing minted: a tampered state, a wrong nonce, a replayed or foreign callback, edited,
expired and foreign cookies."""

from __future__ import annotations

import os
import time
from urllib.parse import urlencode, urlsplit, urlunsplit

import pytest

from iamgw.console.cookies import Sealer
from iamgw.console.session import SESSION_COOKIE
from iamgw.store import MasterKey
from tests.console.conftest import (
    browser,
    callback_url,
    query_of,
    sign_in,
    through_provider,
)
from tests.gateway_server import free_port, running_gateway

pytestmark = pytest.mark.timeout(120)


def minted(gateway, http) -> bool:
    """Whether `http` holds a session the gateway takes."""
    return http.get(f"{gateway.url}/iamgw/api/credentials").status_code == 200


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {**query_of(url), **changes}
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_tampered_state(console_gateway, oidc_provider):
    http = browser()
    start = http.get(f"{console_gateway.url}/iamgw/login", params={"provider": "keycloak"})
    back = through_provider(http, start, oidc_provider, "alice")
    answer = http.get(with_query(callback_url(back), state="forged-state"))
    assert answer.status_code == 403
    assert not minted(console_gateway, http)


def test_callback_without_the_browsers_login_cookie(console_gateway, oidc_provider):
    """A callback link sent to another browser (login CSRF): it has no login cookie."""
    http = browser()
    start = http.get(f"{console_gateway.url}/iamgw/login", params={"provider": "keycloak"})
    back = through_provider(http, start, oidc_provider, "alice")
    victim = browser()
    answer = victim.get(callback_url(back))
    assert answer.status_code == 403
    assert not minted(console_gateway, victim)


def test_wrong_nonce(console_gateway, oidc_provider):
    """The provider is asked, with the gateway's state and PKCE challenge, for a token
    carrying another nonce: the gateway refuses the ID token."""
    http = browser()
    start = http.get(f"{console_gateway.url}/iamgw/login", params={"provider": "keycloak"})
    assert start.status_code == 302
    to_provider = with_query(start.headers["location"], nonce="attacker-chosen-nonce")
    back = through_provider(http, http.get(to_provider), oidc_provider, "alice")
    answer = http.get(callback_url(back))
    assert answer.status_code == 403
    assert not minted(console_gateway, http)


def test_provider_error_on_the_callback(console_gateway, oidc_provider):
    http = browser()
    start = http.get(f"{console_gateway.url}/iamgw/login", params={"provider": "keycloak"})
    state = query_of(start.headers["location"])["state"]
    answer = http.get(
        f"{console_gateway.url}/iamgw/callback",
        params={"state": state, "error": "access_denied"},
    )
    assert answer.status_code == 403
    assert not minted(console_gateway, http)


def test_edited_expired_and_foreign_cookies(console_gateway, oidc_provider):
    http, _ = sign_in(console_gateway.url, oidc_provider, "alice")
    assert minted(console_gateway, http)
    value = http.cookies[SESSION_COOKIE]
    edited = value[:-6] + ("A" if value[-6] != "A" else "B") + value[-5:]
    assert not minted(console_gateway, browser(cookies={SESSION_COOKIE: edited}))
    key = MasterKey.load_or_create(console_gateway.settings.data_dir / "master.key")
    data = Sealer(key).open(SESSION_COOKIE, value)
    assert data is not None
    expired = Sealer(key).seal(SESSION_COOKIE, data, time.time() - 1)
    assert not minted(console_gateway, browser(cookies={SESSION_COOKIE: expired}))
    foreign = Sealer(MasterKey(os.urandom(32))).seal(SESSION_COOKIE, data, time.time() + 600)
    assert not minted(console_gateway, browser(cookies={SESSION_COOKIE: foreign}))
    # The login cookie's value under the session cookie's name does not open either.
    moved = Sealer(key).seal("iamgw_login", data, time.time() + 600)
    assert not minted(console_gateway, browser(cookies={SESSION_COOKIE: moved}))
    # The genuine value still works: the refusals above were for the edits.
    assert minted(console_gateway, browser(cookies={SESSION_COOKIE: value}))


def test_credentials_not_given_cross_site(console_gateway, oidc_provider):
    http, _ = sign_in(console_gateway.url, oidc_provider, "alice")
    answer = http.get(
        f"{console_gateway.url}/iamgw/api/credentials", headers={"sec-fetch-site": "cross-site"}
    )
    assert answer.status_code == 401


def test_no_credentials_in_urls_or_logs(console_gateway, oidc_provider):
    http, callback = sign_in(console_gateway.url, oidc_provider, "alice")
    creds = http.get(f"{console_gateway.url}/iamgw/api/credentials").json()
    assert creds["SecretAccessKey"] not in callback.headers["location"]
    audit = (console_gateway.settings.data_dir / "audit.log").read_text()
    for secret in (creds["SecretAccessKey"], creds["SessionToken"]):
        assert secret not in audit
    assert "code=" not in audit and "state=" not in audit


def test_unknown_provider_and_pages(console_gateway):
    http = browser()
    assert http.get(f"{console_gateway.url}/iamgw/login?provider=nope").status_code == 404
    assert http.get(f"{console_gateway.url}/iamgw/nothing-here").status_code == 404
    assert http.get(f"{console_gateway.url}/iamgw/static/../app.py").status_code == 404
    assert http.get(f"{console_gateway.url}/iamgw/static/console.css").status_code == 200


def test_provider_down(seaweedfs, tmp_path):
    """A provider that does not answer: a page that says so, not a 500."""
    port = free_port()
    dead = f"http://127.0.0.1:{free_port()}/realms/storage"
    env = {
        "IAMGW_OIDC_0_NAME": "down",
        "IAMGW_OIDC_0_ISSUER": dead,
        "IAMGW_OIDC_0_CLIENT_ID": "iamgw",
        "IAMGW_OIDC_0_REDIRECT_URI": f"http://127.0.0.1:{port}/iamgw/callback",
    }
    with running_gateway(tmp_path, seaweedfs, env, port) as gateway:
        answer = browser().get(f"{gateway.url}/iamgw/login", params={"provider": "down"})
        assert answer.status_code == 503
        assert "cannot be reached" in answer.text


def test_bodies_are_bounded_before_sign_in(console_gateway):
    """The LDAP form and the sign-out are read before anyone is known: a large or
    endless body is refused, not held."""
    http = browser()
    big = http.post(f"{console_gateway.url}/iamgw/login/ldap", content=b"a=" + b"x" * (1 << 20),
                    headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert big.status_code == 413

    def endless():
        for _ in range(200):
            yield b"x" * 8192

    streamed = http.post(f"{console_gateway.url}/iamgw/logout", content=endless(),
                         headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert streamed.status_code == 413
    twice = http.post(f"{console_gateway.url}/iamgw/login/ldap", content=b"csrf=a&csrf=b",
                      headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert twice.status_code == 400
