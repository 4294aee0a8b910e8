"""Browser tests: Debian's Chromium driven by Playwright against the session's shared platform.

The platform (`shared_platform`: `up` in a scratch directory on free ports, started once per
test session and shared with the stack tests of tests/integration) serves the built web client
(web/dist). Each test opens pages through `open_page`, which watches them for console
errors, uncaught exceptions and CSP violations and fails the test on any. Staff accounts sign in
through the UI once per run (a TOTP code is good once per 30 s step) and their pages are reused.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright
from voiceassist_localstack.testing import REPOSITORY

from .helpers import DESKTOP, Account, PageWatch, demo_accounts, launch, sign_in_through_ui

expect.set_options(timeout=30_000)

OpenPage = Callable[..., Page]


@dataclass(frozen=True)
class Target:
    """The platform under test: where it answers and where `up` wrote the demo accounts."""

    base_url: str
    demo_accounts_file: Path


@pytest.fixture(scope="package")
def platform(request: pytest.FixtureRequest) -> Target:
    """Return the session's shared platform, or the running one E2E_BASE_URL names (development).

    With E2E_BASE_URL the demo accounts come from E2E_DEMO_ACCOUNTS (default: .data's file).
    """
    if url := os.environ.get("E2E_BASE_URL"):
        demo = os.environ.get("E2E_DEMO_ACCOUNTS", str(REPOSITORY / ".data" / "demo-accounts.txt"))
        return Target(url.rstrip("/"), Path(demo))
    started = request.getfixturevalue("shared_platform")
    return Target(started.base_url, started.demo_accounts_file)


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = launch(playwright)
    yield chromium
    chromium.close()


@pytest.fixture(scope="package")
def accounts(platform: Target) -> dict[str, Account]:
    return demo_accounts(platform.demo_accounts_file)


def new_page(browser: Browser, base_url: str, **options: Any) -> tuple[Page, PageWatch]:
    """Open a page in a fresh context (own cookies) of BROWSER, watched for problems."""
    context = browser.new_context(
        base_url=base_url, viewport=options.pop("viewport", DESKTOP), **options
    )
    context.set_default_timeout(30_000)
    # The fake-microphone set-up: the browser's echo cancellation, noise suppression and
    # gain control off (the app's raw-microphone setting), so the file reaches the app as is.
    context.add_init_script("window.localStorage.setItem('voiceassist.rawMicrophone', '1')")
    page = context.new_page()
    watch = PageWatch()
    watch.attach(page)
    return page, watch


@pytest.fixture
def open_page(browser: Browser, platform: Target) -> Iterator[OpenPage]:
    """Return `open_page(browser=None, **context_options)`; fail the test on any page problem."""
    opened: list[tuple[Page, PageWatch]] = []

    def open_one(other: Browser | None = None, **options: Any) -> Page:
        page, watch = new_page(other or browser, platform.base_url, **options)
        opened.append((page, watch))
        return page

    yield open_one
    problems = [problem for _, watch in opened for problem in watch.problems]
    for page, _ in opened:
        page.context.close()
    assert not problems, "the browser reported problems:\n" + "\n".join(problems)


@dataclass
class Booked:
    """What test_booking.py booked, for the clinician's screen in test_staff.py."""

    appointment_id: str
    at_demo_clinicians_practice: bool


@pytest.fixture(scope="package")
def bookings() -> list[Booked]:
    """Collect the appointments the package's tests booked."""
    return []


@dataclass
class StaffSessions:
    """Clinician and admin pages, each signed in through the UI once per run and then reused."""

    browser: Browser
    base_url: str
    accounts: dict[str, Account]
    pages: dict[str, tuple[Page, PageWatch]] = field(default_factory=dict)

    def page(self, role: str) -> Page:
        """Return ROLE's signed-in page (signing in the first time)."""
        if role not in self.pages:
            page, watch = new_page(self.browser, self.base_url)
            sign_in_through_ui(page, self.base_url, self.accounts[role])
            self.pages[role] = (page, watch)
        return self.pages[role][0]

    def problems(self) -> list[str]:
        """Return and forget what the browser reported on the staff pages so far."""
        found = [problem for _, watch in self.pages.values() for problem in watch.problems]
        for _, watch in self.pages.values():
            watch.problems.clear()
        return found

    def close(self) -> None:
        """Close every staff context."""
        for page, _ in self.pages.values():
            page.context.close()


@pytest.fixture(scope="package")
def staff_sessions(
    browser: Browser, platform: Target, accounts: dict[str, Account]
) -> Iterator[StaffSessions]:
    sessions = StaffSessions(browser, platform.base_url, accounts)
    yield sessions
    sessions.close()


@pytest.fixture
def staff(staff_sessions: StaffSessions) -> Iterator[StaffSessions]:
    """Yield the package's staff sessions; fail the test on problems their pages reported."""
    staff_sessions.problems()
    yield staff_sessions
    problems = staff_sessions.problems()
    assert not problems, "the browser reported problems:\n" + "\n".join(problems)
