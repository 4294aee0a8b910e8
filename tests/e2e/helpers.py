"""What the browser tests share: launching Debian's Chromium, watching pages, axe, screenshots.

Kept out of conftest.py so the tests import plain functions (`from .helpers import ...`).
"""

from __future__ import annotations

import io
import json
import os
import re
import time
import wave
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import httpx
import pyotp
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Locator,
    Page,
    Playwright,
    ViewportSize,
    expect,
)
from voiceassist_localstack.testing import REPOSITORY

CHROMIUM = "/usr/bin/chromium"
# Playwright adds --headless and a fresh --user-data-dir of its own; these keep Chromium quiet,
# offline and runnable as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = REPOSITORY / "web" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PHONE: ViewportSize = {"width": 375, "height": 812}
DESKTOP: ViewportSize = {"width": 1280, "height": 860}
SLOW = 60_000  # ms: a spoken turn, a triage or a booking on the slow 2-core CI machine
SESSION_COOKIE = "__Host-voiceassist_session"


def launch(playwright: Playwright, microphone: Path | None = None) -> Browser:
    """Launch Debian's Chromium headless; with MICROPHONE (a WAV file) as its looping fake mic."""
    args = list(CHROMIUM_ARGS)
    if microphone is not None:
        args += [
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-audio-capture={microphone}",
            "--autoplay-policy=no-user-gesture-required",
        ]
    return playwright.chromium.launch(executable_path=CHROMIUM, args=args)


# Expected console noise, as (message, URL the message is about): the app asks who is signed in
# and a 401 is the answer for "nobody"; the provider's pages name no icon, so Chromium asks for
# /favicon.ico, which the gateway does not serve.
_EXPECTED = [
    (re.compile(r"status of 401"), re.compile(r"/auth/session$")),
    (re.compile(r"status of 404"), re.compile(r"/favicon\.ico$")),
]


@dataclass
class PageWatch:
    """Console errors, uncaught exceptions and CSP violations seen on a page."""

    problems: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        """Start listening on PAGE."""
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        text = message.text
        url = message.location.get("url", "")
        if any(said.search(text) and about.search(url) for said, about in _EXPECTED):
            return
        kind = "CSP violation" if "Content Security Policy" in text else "console error"
        self.problems.append(f"{kind}: {text} ({url})")


def check_accessible(page: Page, screen: str) -> None:
    """Run axe-core's WCAG 2.1 A/AA rules on PAGE; fail with a readable list of violations."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Through the DevTools protocol, which the page's CSP does not govern (a <script> tag,
        # as add_script_tag makes, would be refused: script-src 'self').
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    violations: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, {
            runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'],
        })).violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.slice(0, 5).map(n => n.target.join(' ')),
        }))"""
    )
    lines = [
        f"  {v['id']} ({v['impact']}): {v['help']} -> {'; '.join(v['targets'])}" for v in violations
    ]
    assert not violations, f"axe found {len(violations)} violation(s) on {screen}:\n" + "\n".join(
        lines
    )


def no_horizontal_scroll(page: Page) -> None:
    """Fail when the page is wider than the viewport (phones must not scroll sideways)."""
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, f"the page scrolls sideways by {overflow}px at {page.viewport_size}"


def show(target: Locator) -> None:
    """Scroll TARGET's top to the top of the viewport (for a screenshot that starts with it)."""
    target.evaluate("element => element.scrollIntoView({block: 'start'})")


def screenshot(page: Page, name: str) -> None:
    """Save the visible part of PAGE as artifacts/NAME.png, and in $E2E_SCREENSHOTS_DIR if set."""
    ARTIFACTS.mkdir(exist_ok=True)
    image = page.screenshot(path=ARTIFACTS / f"{name}.png", animations="disabled")
    if folder := os.environ.get("E2E_SCREENSHOTS_DIR"):
        target = Path(folder)
        if not target.is_absolute():
            target = REPOSITORY / target
        target.mkdir(parents=True, exist_ok=True)
        (target / f"{name}.png").write_bytes(image)


def guest_headers(base_url: str, http: httpx.Client) -> dict[str, str]:
    """Start a guest session over HTTP; return the Cookie and X-CSRF-Token headers for it."""
    guest = http.post(f"{base_url}/api/v1/auth/guest", json={})
    guest.raise_for_status()
    cookie: SimpleCookie = SimpleCookie()
    for header in guest.headers.get_list("set-cookie"):
        cookie.load(header)
    return {
        "Cookie": f"{SESSION_COOKIE}={cookie[SESSION_COOKIE].value}",
        "X-CSRF-Token": guest.json()["csrf_token"],
    }


def spoken_wav(
    base_url: str, text: str, target: Path, *, lead_s: float = 8.0, trail_s: float = 2.5
) -> Path:
    """Write TARGET: LEAD_S of silence, the platform's own voice saying TEXT, TRAIL_S of silence.

    Chromium plays the file from the moment the page opens the microphone, and loops it. The
    app opens it as the conversation starts (hands-free), so the leading silence leaves time to
    answer the greeting's consent question (a quick reply) before the complaint is heard.
    """
    with httpx.Client(timeout=120) as http:
        answer = http.post(
            f"{base_url}/api/v1/speech/synthesize",
            json={"text": text, "sample_rate": 16000},
            headers=guest_headers(base_url, http),
        )
    answer.raise_for_status()
    with wave.open(io.BytesIO(answer.content)) as spoken:
        rate = spoken.getframerate()
        pcm = spoken.readframes(spoken.getnframes())
    with wave.open(str(target), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        silence = b"\x00\x00"
        out.writeframes(silence * int(rate * lead_s) + pcm + silence * int(rate * trail_s))
    return target


@dataclass(frozen=True)
class Account:
    """A demo account as `up` wrote it."""

    role: str
    email: str
    password: str
    totp_secret: str | None


def demo_accounts(path: Path) -> dict[str, Account]:
    """Read the demo accounts file: role, e-mail, password and (staff) TOTP secret."""
    accounts = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(
            r"^\s*(?P<role>\w+)\s+(?P<email>\S+@\S+)\s+password:\s+(?P<password>\S+)"
            r"(?:\s+totp secret:\s+(?P<totp>[A-Z2-7]+))?",
            line,
        )
        if match:
            accounts[match["role"]] = Account(
                match["role"], match["email"], match["password"], match["totp"]
            )
    return accounts


def _answer_totp(page: Page, base_url: str, secret: str) -> None:
    """Enter the current TOTP code, once more at the next 30 s step if the provider refused it.

    The platform is shared: another test may have spent this step's code for the same account.
    """
    totp = pyotp.TOTP(secret)
    for attempt in range(2):
        code = page.locator("input[name=code]")
        code.wait_for(timeout=SLOW)
        step = int(time.time()) // 30
        code.fill(totp.now())
        page.locator("form button[type=submit]").first.click()
        page.wait_for_load_state()
        if attempt == 1 or not page.url.startswith(f"{base_url}/realms/"):
            return
        if page.locator("input[name=code]").count() == 0:
            return
        time.sleep(max(0.0, (step + 1) * 30 - time.time() + 0.5))


def sign_in_through_ui(page: Page, base_url: str, account: Account) -> None:
    """Sign ACCOUNT in from the app's header: the provider's pages, then back in the app.

    A TOTP code works once per 30 s step: sign each staff account in once per run.
    """
    page.goto(f"{base_url}/")
    page.get_by_role("banner").get_by_role("button", name="Sign in").click()
    page.get_by_label("E-mail").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    if account.totp_secret is not None:
        _answer_totp(page, base_url, account.totp_secret)
    page.wait_for_url(f"{base_url}/**", timeout=SLOW)
    expect(page.get_by_role("banner").get_by_role("button", name="Sign out")).to_be_visible(
        timeout=SLOW
    )


def api_json(page: Page, path: str, **params: str | float | bool) -> Any:
    """GET an API path through the page's context (its cookies); return the decoded JSON."""
    answer = page.request.get(path, params=params)
    assert answer.ok, f"{path}: {answer.status} {answer.text()}"
    return json.loads(answer.text())
