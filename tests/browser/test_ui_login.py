"""Signing in: a browser without the token cookie is sent to /login and back."""

from __future__ import annotations

from typing import Any

from switchyard.testing.platform import LocalPlatform


def test_a_browser_signs_in_with_a_token_and_returns_where_it_was_going(
    browser: Any, web_url: str, switchyard_platform: LocalPlatform
) -> None:
    context = browser.new_context(base_url=web_url)
    try:
        page = context.new_page()
        page.goto("/jobs?state=RUNNING")
        assert page.url.startswith(f"{web_url}/login?next=")
        page.fill("#token", "syt_not-a-token")
        page.press("#token", "Enter")
        assert page.locator("p.error[role=alert]").inner_text() == "that token is not valid"
        assert page.locator("#token").get_attribute("aria-invalid") == "true"
        page.fill("#token", switchyard_platform.token)
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert page.url == f"{web_url}/jobs?state=RUNNING"
        assert page.locator("h1").first.inner_text().startswith("Jobs")
        assert page.locator("header .who").inner_text() == "platform · admin"
        cookie = next(c for c in context.cookies() if c["name"] == "sy_token")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert page.evaluate("document.cookie") == ""  # no script can read it
        page.goto("/logout")
        assert page.url == f"{web_url}/login"
        page.goto("/experiments")
        assert page.url.startswith(f"{web_url}/login?next=")
    finally:
        context.close()
