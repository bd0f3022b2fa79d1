"""The web UI in a real browser: headless Chromium driven by Playwright (fixtures).

Chromium is Debian's (`apt-get install chromium`, which `.ci/run` does) or
the one `SWITCHYARD_CHROMIUM` names; Playwright is the pip package, which
never downloads a browser of its own here. Without them the tests skip on a
developer's machine and fail in CI (see tests/conftest.py).

Every page a test opens is watched: a console error, a failed request or a
request to any host but the platform's fails the test at its end.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest
from conftest import missing, require_module

from switchyard.services.web.auth import COOKIE
from switchyard.testing.browser import FLAGS, chromium
from switchyard.testing.platform import LocalPlatform


def chromium_path() -> str:
    found = chromium()
    if not found:
        missing("Chromium", "apt-get install chromium, or set SWITCHYARD_CHROMIUM")
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Per module, not per session: while Playwright's sync API runs, this thread
    has an event loop running, and the async tests after it could not run theirs."""
    require_module("playwright", "pip install playwright")
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def web_url(switchyard_platform: LocalPlatform) -> str:
    return switchyard_platform.endpoints.http["web"]


class Watched:
    """What went wrong on a page: console errors, failed requests, foreign hosts."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.problems: list[str] = []
        self.expected_404s = 0  # pages a test opens for their 404

    def check(self) -> None:
        not_found = "the server responded with a status of 404"
        problems = [p for p in self.problems if not_found not in p]
        assert len(self.problems) - len(problems) == self.expected_404s, self.problems
        assert not problems, "\n".join(problems)

    def attach(self, page: Any) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda err: self.problems.append(f"page error: {err}"))
        page.on("requestfailed", self._failed)
        page.on("request", self._request)

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.problems.append(f"console error: {message.text}")

    def _failed(self, request: Any) -> None:
        failure = request.failure or ""
        # an event stream cut by leaving the page is not a failure
        if "ERR_ABORTED" not in failure:
            self.problems.append(f"request failed: {request.url} ({failure})")

    def _request(self, request: Any) -> None:
        host = urlsplit(request.url).netloc
        if request.url.startswith(("http:", "https:")) and host != self.host:
            self.problems.append(f"request to another host: {request.url}")


def signed_in(browser: Any, web_url: str, platform: LocalPlatform, **options: Any) -> Any:
    """A browser context signed in with the platform's token (as /login leaves it)."""
    context = browser.new_context(base_url=web_url, **options)
    context.add_cookies([{"name": COOKIE, "value": platform.token, "url": web_url}])
    return context


@pytest.fixture
def narrow(browser: Any, web_url: str, switchyard_platform: LocalPlatform) -> Iterator[Any]:
    """A signed-in page in a phone-sized window."""
    context = signed_in(
        browser, web_url, switchyard_platform, viewport={"width": 380, "height": 800}
    )
    yield context.new_page()
    context.close()


@pytest.fixture
def page(browser: Any, web_url: str, switchyard_platform: LocalPlatform) -> Iterator[Any]:
    """A page of a browser signed in with the platform's token."""
    context = signed_in(
        browser, web_url, switchyard_platform, viewport={"width": 1280, "height": 900}
    )
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    watched = Watched(urlsplit(web_url).netloc)
    watched.attach(opened)
    opened.watched = watched  # a test that opens a 404 on purpose says so
    yield opened
    context.close()
    watched.check()


def assert_not_found(page: Any, paths: tuple[str, ...]) -> None:
    """Each path answers the UI's 404 page (and the page's watcher expects those 404s)."""
    page.watched.expected_404s += len(paths)
    for path in paths:
        response = page.goto(path)
        assert response.status == 404, path
        assert page.get_by_role("heading", name="Not found").is_visible()


def assert_fits(page: Any, path: str) -> None:
    """The page at `path` is no wider than the window: its tables scroll, not it."""
    page.goto(path)
    assert urlsplit(page.url).path == urlsplit(path).path, f"{path} went to {page.url}"
    overflow = page.evaluate(
        "document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth"
    )
    assert overflow <= 1, f"{path} is {overflow}px wider than the window"


class HeldStreams:
    """The page's event streams, held before they reach the server: what happens
    meanwhile is what a page misses between its render and its stream's first byte."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.routes: list[Any] = []

    def hold(self, route: Any) -> None:
        self.routes.append(route)

    def wait_asked(self) -> None:
        self.page.wait_for_function("true")  # gives the route handler its turn
        assert self.routes, "the page never asked for its event stream"


@contextmanager
def held_streams(page: Any) -> Iterator[HeldStreams]:
    """`with held_streams(page) as held:` opens nothing until the block ends."""
    held = HeldStreams(page)
    page.route("**/ui/live?*", held.hold)
    try:
        yield held
    finally:
        for route in held.routes:
            route.continue_()
        page.unroute("**/ui/live?*", held.hold)
