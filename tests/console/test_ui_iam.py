"""The IAM pages and the simulator in Debian's chromium: an administrator (LDAP carol,
mapped to consoleAdmin for this module) reads users and a policy and runs the simulator
with the keyboard; screenshots at desktop and phone width, no horizontal scrolling."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from tests.console.conftest import screenshot_dir

pytestmark = pytest.mark.timeout(300)

ACCOUNT = "000000000000"
WIDTHS = {"desktop": (1280, 800), "phone": (390, 844)}
LONG_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "ReadTheTeamsVeryLongBucketNamesWithoutBreakingTheLayout", "Effect": "Allow",
         "Action": ["s3:GetObject", "s3:ListBucket"],
         "Resource": ["arn:aws:s3:::ui-a-bucket-with-a-long-name-for-the-phone-layout/*",
                      "arn:aws:s3:::ui-a-bucket-with-a-long-name-for-the-phone-layout"]},
        {"Sid": "NoDeletes", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"},
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def admin(console_gateway, slapd) -> Iterator[tuple[str, str]]:
    iam = console_gateway.client("iam")
    arn = iam.create_policy(PolicyName="ui-team-reads", PolicyDocument=json.dumps(LONG_POLICY))[
        "Policy"
    ]["Arn"]
    for name in ("ui-dana", "ui-emil-with-a-rather-long-user-name-for-phones"):
        iam.create_user(UserName=name, Path="/engineering/", Tags=[{"Key": "team", "Value": "ui"}])
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
        iam.create_access_key(UserName=name)
    dn = slapd.user_dn("carol")
    console_gateway.repo.attach_ldap_policies("user", dn, ["consoleAdmin"])
    try:
        yield "carol", slapd.users["carol"]
    finally:
        console_gateway.repo.detach_ldap_policies("user", dn, ["consoleAdmin"])


def script_error(message) -> bool:
    """A script error or a CSP violation (pages answered 4xx are not: the malformed
    policy's page is one on purpose; assets are checked by `not_served`)."""
    return message.type == "error" and not message.text.startswith("Failed to load resource")


def not_served(response) -> bool:
    return "/iamgw/static/" in response.url and response.status >= 400


def no_horizontal_scroll(page, width: int) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url}: {scroll}px wide at {width}px"


@pytest.mark.parametrize("size", list(WIDTHS))
def test_admin_reads_iam_and_simulates(console_gateway, chromium, admin, size):
    width, height = WIDTHS[size]
    context = chromium.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if script_error(m) else None)
    page.on("response", lambda r: errors.append(r.url) if not_served(r) else None)
    out = screenshot_dir()
    url = console_gateway.url
    try:
        page.goto(f"{url}/iamgw/login")
        page.fill("#ldap-username", admin[0])
        page.fill("#ldap-password", admin[1])
        page.click("#ldap-submit")
        page.wait_for_url(f"{url}/iamgw/")

        # To the users with the keyboard: the navigation's links are in the tab order.
        for _ in range(30):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.textContent") == "Users":
                break
        else:
            raise AssertionError("the Users link is not reachable with Tab")
        page.keyboard.press("Enter")
        page.wait_for_url(f"{url}/iamgw/users")
        assert page.locator("#users").get_by_role("link", name="ui-dana").is_visible()
        no_horizontal_scroll(page, width)
        page.screenshot(path=str(out / f"iam-users-{size}.png"), full_page=True)

        page.get_by_role("link", name="ui-emil-with-a-rather-long-user-name-for-phones").click()
        page.wait_for_url(re.compile(r".*/iamgw/users\?name=.+"))
        assert page.locator("#access-keys").get_by_text("Active").is_visible()
        no_horizontal_scroll(page, width)
        page.screenshot(path=str(out / f"iam-user-{size}.png"), full_page=True)

        page.locator("#attached-policies").get_by_role("link", name="ui-team-reads").click()
        page.wait_for_url(re.compile(r".*/iamgw/policies\?arn=.+"))
        document = page.locator("#policy-document").inner_text()
        assert json.loads(document) == LONG_POLICY
        no_horizontal_scroll(page, width)
        page.screenshot(path=str(out / f"iam-policy-{size}.png"), full_page=True)

        page.goto(f"{url}/iamgw/policies")
        no_horizontal_scroll(page, width)
        page.screenshot(path=str(out / f"iam-policies-{size}.png"), full_page=True)

        # The simulator, filled and sent with the keyboard.
        page.goto(f"{url}/iamgw/simulate")
        page.focus("#sim-principal")
        page.keyboard.type(f"arn:aws:iam::{ACCOUNT}:user/engineering/ui-dana")
        page.focus("#sim-actions")
        page.keyboard.type("s3:GetObject\ns3:DeleteObject\ns3:PutObject")
        page.keyboard.press("Tab")
        page.keyboard.type("arn:aws:s3:::ui-a-bucket-with-a-long-name-for-the-phone-layout/k")
        page.focus("#sim-run")
        page.keyboard.press("Enter")
        page.wait_for_selector("#sim-results")
        results = page.locator("#sim-results > li")
        assert results.count() == 3
        assert "Allowed" in results.nth(0).inner_text()
        assert "NoDeletes" in results.nth(1).inner_text()
        assert "no statement allows it" in results.nth(2).inner_text()
        results.nth(0).locator("summary").click()
        no_horizontal_scroll(page, width)
        page.screenshot(path=str(out / f"iam-simulate-{size}.png"), full_page=True)

        # A malformed policy: IAM's words on the page.
        page.check("#mode-policy")
        page.fill("#sim-policy", '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow"')
        page.click("#sim-run")
        page.wait_for_selector("#sim-error")
        assert "MalformedPolicyDocument" in page.locator("#sim-error").inner_text()
        no_horizontal_scroll(page, width)
        page.screenshot(path=str(out / f"iam-simulate-error-{size}.png"), full_page=True)
        assert not errors, errors  # no CSP violation, no script error, every asset served
    finally:
        context.close()
