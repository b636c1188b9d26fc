"""A scripted browser for the `iamgw login` tests: `BROWSER` names a wrapper that runs

    python browser_login.py URL

It drives Debian's chromium (headless, Playwright) to URL, signs in on the provider's page
(`#username`, `#password`, `#kc-login`) and waits for the loopback page of `iamgw login`.
Environment: LOGIN_USERNAME, LOGIN_PASSWORD; LOGIN_TAMPER_STATE=1 changes the `state` of
the provider's redirect to the loopback address (its code stays valid); LOGIN_LOG, a file
that gets the loopback page's status and text (or the failure), since `iamgw login
--credential-process` gives its browser no output stream. Exit status 0 when the loopback
page was reached.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from playwright.sync_api import Page, Response, sync_playwright

CHROMIUM = "/usr/bin/chromium"
LOOPBACK = re.compile(r"^http://127\.0\.0\.1:\d+/callback\b")


def tampered(url: str) -> str:
    parts = urlsplit(url)
    query = [(k, v + "-tampered" if k == "state" else v) for k, v in parse_qsl(parts.query)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def landed(response: Response) -> bool:
    """The loopback page itself (not a redirect on the way to it)."""
    return bool(LOOPBACK.match(response.url)) and not 300 <= response.status < 400


def land_tampered(page: Page) -> int:
    """Sign in, but reach the loopback address with another `state`, as a forged link
    would. (Chromium sends a redirect to 127.0.0.1 before any route handler sees it, so
    the redirects are followed by the page's own request context, which shares its
    cookies.) The loopback page's status."""
    action = page.eval_on_selector("#kc-form-login", "form => form.action")
    form = {"username": os.environ["LOGIN_USERNAME"], "password": os.environ["LOGIN_PASSWORD"]}
    response = page.request.post(action, form=form, max_redirects=0)
    for _ in range(10):
        if not 300 <= response.status < 400:
            break
        location = urljoin(response.url, response.headers["location"])
        if LOOPBACK.match(location):
            landing = page.goto(tampered(location))
            assert landing is not None
            return landing.status
        response = page.request.get(location, max_redirects=0)
    raise RuntimeError(f"the provider did not send the browser back: {response.status}")


def log(text: str) -> None:
    if os.environ.get("LOGIN_LOG"):
        with Path(os.environ["LOGIN_LOG"]).open("a") as out:
            out.write(text + "\n")
    else:
        print(text, file=sys.stderr)


def main(url: str) -> int:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page()
            page.goto(url)
            page.fill("#username", os.environ["LOGIN_USERNAME"])
            page.fill("#password", os.environ["LOGIN_PASSWORD"])
            if os.environ.get("LOGIN_TAMPER_STATE") == "1":
                status = land_tampered(page)
            else:
                with page.expect_response(landed, timeout=60_000) as answer:
                    page.click("#kc-login")
                status = answer.value.status
            page.wait_for_load_state()
            log(f"{status} {page.inner_text('body').strip()}")
        except Exception as exc:  # noqa: BLE001 - the test reads why in the log
            log(f"browser failed: {exc}")
            return 1
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
