"""The object browser in Debian's chromium (Playwright), signed in through the OpenID
provider's own login page: alice opens the bucket, uploads a small file and a 20 MiB
one with progress, downloads it back, deletes one; bob (readonly) is told which action
was denied. Screenshots at desktop and phone width go to `screenshot_dir()`."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.console.conftest import BUCKET, screenshot_dir

pytestmark = pytest.mark.timeout(300)

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
LARGE = 20 * 1024 * 1024


def open_signed_in(chromium: Any, gateway, provider, username: str) -> tuple[Any, Any, list[str]]:
    """(context, page, console errors) of a browser signed in on the provider's page."""
    context = chromium.new_context(viewport=DESKTOP, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []

    def console_error(message: Any) -> None:
        # /favicon.ico is not the console's: the browser's own guess, an S3 bucket name.
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            errors.append(f"{message.text} ({message.location.get('url')})")

    page.on("console", console_error)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{gateway.url}/iamgw/login")
    page.click("#provider-keycloak")
    page.fill("#username", username)
    page.fill("#password", provider.users[username])
    page.click("#kc-login")
    page.wait_for_url(f"{gateway.url}/iamgw/")
    return context, page, errors


def no_horizontal_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide at {PHONE['width']}px"


def object_row(page: Any, key: str) -> Any:
    return page.locator(f'#objects tr.object[data-key="{key}"]')


def test_alice_uploads_downloads_and_deletes(chromium, console_gateway, oidc_provider, tmp_path):
    context, page, errors = open_signed_in(chromium, console_gateway, oidc_provider, "alice")
    try:
        page.get_by_role("link", name="Objects").click()
        page.wait_for_url(re.compile(r".*/iamgw/browse$"))
        page.locator("#buckets a.bucket-link", has_text=BUCKET).click()
        page.wait_for_url(re.compile(rf".*/iamgw/browse\?bucket={BUCKET}$"))
        page.locator('#objects tr.object[data-key="hello.txt"]').wait_for()
        assert page.locator("#upload-files").is_visible()

        small, large = tmp_path / "note.txt", tmp_path / "large.bin"
        small.write_bytes(b"a small file from chromium\n")
        large.write_bytes(os.urandom(LARGE))
        page.set_input_files("#upload-files", [str(small), str(large)])
        page.click("#upload-submit")
        done = page.locator("#uploads .upload-item.done")
        done.nth(1).wait_for(timeout=120_000)
        assert page.locator("#uploads .upload-item.failed").count() == 0
        # The large upload's progress: a <progress> XHR's upload events moved to its end.
        bar = page.locator('#uploads .upload-item[data-key="large.bin"] progress')
        assert bar.get_attribute("max") == str(LARGE)
        assert bar.evaluate("p => p.value") == LARGE
        assert int(bar.get_attribute("data-events") or 0) >= 1
        object_row(page, "large.bin").wait_for()
        object_row(page, "note.txt").wait_for()
        assert "20 MiB" in object_row(page, "large.bin").inner_text()
        page.screenshot(path=str(screenshot_dir() / "browse-desktop.png"), full_page=True)

        # Download it back: the same bytes.
        with page.expect_download() as downloading:
            object_row(page, "large.bin").get_by_role("button", name="Download large.bin").click()
        download = downloading.value
        assert download.suggested_filename == "large.bin"
        got = Path(download.path()).read_bytes()
        assert hashlib.sha256(got).digest() == hashlib.sha256(large.read_bytes()).digest()

        # Delete, from the keyboard: Escape keeps the object, the dialog's Delete removes it.
        delete = object_row(page, "note.txt").get_by_role("button", name="Delete note.txt")
        delete.focus()
        page.keyboard.press("Enter")
        dialog = page.locator("#confirm-delete")
        assert dialog.is_visible() and f"{BUCKET}/note.txt" in dialog.inner_text()
        assert page.evaluate("document.activeElement.id") == "confirm-delete-cancel"
        page.keyboard.press("Escape")
        assert not dialog.is_visible()
        assert object_row(page, "note.txt").count() == 1
        delete.click()
        page.click("#confirm-delete-ok")
        object_row(page, "note.txt").wait_for(state="detached")
        assert object_row(page, "large.bin").count() == 1
        page.locator("#browse-status", has_text="Deleted note.txt").wait_for()
        assert not errors, errors
    finally:
        context.close()


def test_folders_pages_and_phone_width(chromium, console_gateway, oidc_provider):
    root = console_gateway.client()
    long_name = "a-very-long-object-name-without-any-space-" * 4 + ".txt"
    for key in ("docs/a.txt", "docs/sub/b.txt", f"docs/{long_name}"):
        root.put_object(Bucket=BUCKET, Key=key, Body=b"doc")
    for i in range(105):
        root.put_object(Bucket=BUCKET, Key=f"many/{i:03d}", Body=b"")
    context, page, errors = open_signed_in(chromium, console_gateway, oidc_provider, "alice")
    try:
        page.goto(f"{console_gateway.url}/iamgw/browse?bucket={BUCKET}")
        page.locator("#objects a.folder-link", has_text="docs/").click()
        object_row(page, "docs/a.txt").wait_for()
        crumbs = page.get_by_role("navigation", name="Breadcrumb")
        assert crumbs.get_by_role("link", name="docs/").get_attribute("aria-current") == "page"
        page.locator("#objects a.folder-link", has_text="sub/").click()
        object_row(page, "docs/sub/b.txt").wait_for()
        assert page.locator("#upload-form label").inner_text().endswith(f"{BUCKET}/docs/sub/")
        crumbs.get_by_role("link", name="docs/").click()
        object_row(page, "docs/a.txt").wait_for()

        # 100 a page: "Next page" carries S3's continuation token, "First page" goes back.
        page.goto(f"{console_gateway.url}/iamgw/browse?bucket={BUCKET}&prefix=many%2F")
        page.locator("#page-next").wait_for()
        assert page.locator("#objects tr.object").count() == 100
        assert page.locator("#page-first").is_hidden()
        page.click("#page-next")
        object_row(page, "many/104").wait_for()
        assert page.locator("#objects tr.object").count() == 5
        assert page.locator("#page-next").is_hidden()
        page.click("#page-first")
        object_row(page, "many/000").wait_for()

        page.set_viewport_size(PHONE)
        page.goto(f"{console_gateway.url}/iamgw/browse")
        page.locator("#buckets a.bucket-link", has_text=BUCKET).wait_for()
        no_horizontal_scroll(page)
        page.screenshot(path=str(screenshot_dir() / "browse-buckets-phone.png"), full_page=True)
        page.goto(f"{console_gateway.url}/iamgw/browse?bucket={BUCKET}&prefix=docs%2F")
        object_row(page, f"docs/{long_name}").wait_for()
        no_horizontal_scroll(page)
        page.screenshot(path=str(screenshot_dir() / "browse-phone.png"), full_page=True)
        page.set_viewport_size(DESKTOP)
        page.screenshot(path=str(screenshot_dir() / "browse-folder-desktop.png"), full_page=True)
        assert not errors, errors
    finally:
        context.close()


def test_bob_sees_the_denied_action(chromium, console_gateway, oidc_provider, tmp_path):
    context, page, errors = open_signed_in(chromium, console_gateway, oidc_provider, "bob")
    try:
        page.goto(f"{console_gateway.url}/iamgw/browse?bucket={BUCKET}")
        messages = page.locator("#browse-messages")
        # readonly has no s3:ListBucket: the listing is refused, in words.
        messages.get_by_text(f"Access denied: s3:ListBucket on {BUCKET}").wait_for()
        small, large = tmp_path / "bob.txt", tmp_path / "bob-large.bin"
        small.write_bytes(b"bob may not write\n")
        large.write_bytes(os.urandom(LARGE))  # refused before the gateway reads its body
        page.set_input_files("#upload-files", [str(small), str(large)])
        page.click("#upload-submit")
        for name in ("bob.txt", "bob-large.bin"):
            failed = page.locator(f'#uploads .upload-item.failed[data-key="{name}"]')
            failed.wait_for(timeout=120_000)
            said = f"Access denied: s3:PutObject on {BUCKET}/{name} (AccessDenied: "
            assert said in failed.inner_text()
            assert said in messages.inner_text()
        page.locator("#browse-status", has_text="0 of 2 files uploaded").wait_for()
        page.screenshot(path=str(screenshot_dir() / "browse-denied-desktop.png"), full_page=True)
        page.set_viewport_size(PHONE)
        no_horizontal_scroll(page)
        page.screenshot(path=str(screenshot_dir() / "browse-denied-phone.png"), full_page=True)
        # chromium logs each refused call as a failed resource; nothing else went wrong.
        assert not [e for e in errors if "status of 403" not in e], errors
    finally:
        context.close()
