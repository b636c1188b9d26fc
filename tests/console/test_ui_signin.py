"""The sign-in as a person does it: Debian's chromium, driven by Playwright, through the
OpenID provider's own login page and the console's LDAP form. Screenshots of the login
page and the console at desktop and phone width go to `screenshot_dir()`."""

from __future__ import annotations

import pytest

from tests.console.conftest import screenshot_dir

pytestmark = pytest.mark.timeout(180)
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    yield page
    context.close()


def provider_login(page, gateway_url: str, username: str, password: str) -> None:
    page.goto(f"{gateway_url}/iamgw/login")
    page.click("#provider-keycloak")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#kc-login")
    page.wait_for_load_state()


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_alice_signs_in_and_out(page, console_gateway, oidc_provider):
    page.goto(f"{console_gateway.url}/iamgw/")
    assert page.url.endswith("/iamgw/login")  # signed out: to the sign-in page
    page.screenshot(path=screenshot_dir() / "login-desktop.png", full_page=True)
    page.set_viewport_size(PHONE)
    assert no_horizontal_scroll(page)
    page.screenshot(path=screenshot_dir() / "login-phone.png", full_page=True)
    page.set_viewport_size(DESKTOP)
    provider_login(page, console_gateway.url, "alice", oidc_provider.users["alice"])
    page.wait_for_url(f"{console_gateway.url}/iamgw/")
    assert "assumed-role/keycloak/" in page.inner_text("#principal-arn")
    assert "readwrite" in page.inner_text("main")
    assert page.inner_text("#access-key").startswith("ASIA")
    page.wait_for_function("document.querySelector('.countdown').textContent.includes('left')")
    page.screenshot(path=screenshot_dir() / "console-desktop.png", full_page=True)
    page.set_viewport_size(PHONE)
    assert no_horizontal_scroll(page)
    page.screenshot(path=screenshot_dir() / "console-phone.png", full_page=True)
    # The keyboard reaches the sign-out button.
    page.focus("#sign-out")
    page.keyboard.press("Enter")
    # To the provider's logout, which sends the browser back to the console's sign-in.
    page.wait_for_url(f"{console_gateway.url}/iamgw/login", timeout=20000)
    page.goto(f"{console_gateway.url}/iamgw/api/credentials")
    assert "Not signed in" in page.inner_text("body")


def test_carol_is_told_she_has_no_policy(page, console_gateway, oidc_provider):
    provider_login(page, console_gateway.url, "carol", oidc_provider.users["carol"])
    assert "no policy" in page.inner_text("#message")
    page.screenshot(path=screenshot_dir() / "refused-desktop.png", full_page=True)
    page.goto(f"{console_gateway.url}/iamgw/")
    assert page.url.endswith("/iamgw/login")


def test_ldap_user_signs_in_with_the_form(page, console_gateway, slapd):
    page.goto(f"{console_gateway.url}/iamgw/login")
    page.fill("#ldap-username", "bob")
    page.fill("#ldap-password", slapd.users["bob"])
    page.press("#ldap-password", "Enter")
    page.wait_for_url(f"{console_gateway.url}/iamgw/")
    assert "assumed-role/ldap/bob" in page.inner_text("#principal-arn")
    assert "s3-readers" in page.inner_text("#groups")
