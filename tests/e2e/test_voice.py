"""The emergency path by voice: a caller describing crushing chest pain sees and hears the advice.

Chromium's fake microphone plays the platform's own voice saying the complaint (then silence,
looping); the page runs hands-free: the server finds the turn, triages, and speaks the advice.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from .conftest import OpenPage, Target
from .helpers import (
    PHONE,
    SLOW,
    check_accessible,
    launch,
    no_horizontal_scroll,
    screenshot,
    show,
    spoken_wav,
)

pytestmark = [pytest.mark.browser, pytest.mark.stack]

CHEST_PAIN = "I have crushing chest pain spreading to my left arm."


@pytest.fixture
def chest_pain_browser(
    playwright: Playwright, platform: Target, tmp_path: Path
) -> Iterator[Browser]:
    microphone = spoken_wav(platform.base_url, CHEST_PAIN, tmp_path / "chest-pain.wav")
    browser = launch(playwright, microphone)
    yield browser
    browser.close()


def start_voice_conversation(page: Page) -> None:
    """From the home page as a guest: voice, hands-free; the consent question answered by tap.

    The app opens the microphone as the conversation starts; the fake caller is silent for the
    first seconds (see `spoken_wav`), in which the consent question gets its "Yes".
    """
    page.goto("/")
    page.get_by_test_id("start-guest").click()
    page.wait_for_url("**/talk")
    # Voice is the default channel where a microphone exists (Chromium's fake one here).
    page.get_by_test_id("start-conversation").click()
    expect(page.get_by_test_id("conversation")).to_have_attribute(
        "data-connection", "open", timeout=SLOW
    )
    page.get_by_test_id("quick-reply").filter(has_text="Yes").first.click(timeout=SLOW)
    expect(page.get_by_test_id("mode-hands-free")).to_be_checked()
    mic = page.get_by_test_id("mic-button")
    if mic.get_attribute("aria-pressed") != "true":
        mic.click()
    expect(mic).to_have_attribute("aria-pressed", "true")


def audio_played_ms(page: Page) -> int:
    return int(page.get_by_test_id("conversation").get_attribute("data-audio-played-ms") or "0")


def test_spoken_chest_pain_shows_and_speaks_the_emergency_advice(
    open_page: OpenPage, chest_pain_browser: Browser
) -> None:
    page = open_page(chest_pain_browser)
    start_voice_conversation(page)

    card = page.get_by_test_id("triage-card")
    expect(card).to_be_visible(timeout=2 * SLOW)
    assert card.get_attribute("data-level") in ("emergency_ambulance", "emergency")
    number = page.get_by_test_id("emergency-number")
    expect(number).to_be_visible()
    expect(number).to_contain_text("112")
    # The advice is also heard: the played-audio counter keeps growing while it is spoken.
    heard = audio_played_ms(page)
    page.wait_for_function(
        "([before]) => Number(document.querySelector('[data-testid=conversation]')"
        ".dataset.audioPlayedMs) > before",
        arg=[heard],
        timeout=SLOW,
    )
    page.get_by_test_id("mic-button").click()  # the fake caller would otherwise say it again
    expect(page.get_by_test_id("mic-button")).to_have_attribute("aria-pressed", "false")
    show(card)
    screenshot(page, "emergency-card")
    check_accessible(page, "conversation with the emergency card")

    page.set_viewport_size(PHONE)
    show(card)
    no_horizontal_scroll(page)
    check_accessible(page, "conversation (phone)")
    screenshot(page, "conversation-phone")
