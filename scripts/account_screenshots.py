"""Take the screenshots of the account pages shown in docs/web.md (docs/images/account-*).

Run against a development server with demo data and single sign-on configured (the provider
need not answer: only the login page's button is shown):

    OIDC_NAME="Company SSO" OIDC_SERVER_URL=https://sso.example.com OIDC_CLIENT_ID=chatsite \\
        make run PORT=8000
    .venv/bin/python scripts/account_screenshots.py --base-url http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright
from screenshot_browser import PASSWORD, launch, save_shot

OUT = Path(__file__).resolve().parent.parent / "docs" / "images"
DESKTOP: ViewportSize = {"width": 1280, "height": 760}
MOBILE: ViewportSize = {"width": 360, "height": 740}


def signed_in(browser: Browser, base_url: str, username: str, **options: object) -> Page:
    context = browser.new_context(base_url=base_url, **options)  # type: ignore[arg-type]
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".whoami")).to_be_visible()
    return page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    base_url = parser.parse_args().base_url.rstrip("/")
    with sync_playwright() as playwright:
        browser = launch(playwright)
        login = browser.new_context(base_url=base_url, viewport=DESKTOP).new_page()
        login.goto("/accounts/login/")
        save_shot(login, OUT, "account-login-desktop")
        closed = browser.new_context(base_url=base_url, viewport=MOBILE).new_page()
        closed.goto("/accounts/signup/")
        save_shot(closed, OUT, "account-signup-invite-mobile")
        profile = signed_in(browser, base_url, "alice", viewport=MOBILE)
        profile.goto("/accounts/profile/")
        save_shot(profile, OUT, "account-profile-mobile")
        dark = signed_in(browser, base_url, "bob", viewport=DESKTOP, color_scheme="dark")
        dark.goto("/accounts/password/change/")
        dark.get_by_role("button", name="Change Password").click()  # empty: the errors
        save_shot(dark, OUT, "account-password-dark")
        email = signed_in(browser, base_url, "carol", viewport=DESKTOP)
        email.goto("/accounts/email/")
        save_shot(email, OUT, "account-email-desktop")
        browser.close()


if __name__ == "__main__":
    main()
