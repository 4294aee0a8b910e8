"""A sore-throat guest says the complaint, types the answers, books a slot, and it is taken.

The complaint comes through Chromium's fake microphone (the platform's own voice); the mic is
then turned off and the interview answered by typing, as the integration test's typed flow does.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from .conftest import Booked, OpenPage, Target
from .helpers import (
    PHONE,
    SLOW,
    api_json,
    check_accessible,
    launch,
    no_horizontal_scroll,
    screenshot,
    show,
    spoken_wav,
)
from .test_voice import start_voice_conversation

pytestmark = [pytest.mark.browser, pytest.mark.stack]

SORE_THROAT = "I have had a sore throat for three days."
# Paris: the demo clinician (Dr Claire Martin) works at its Bastille practice, so the booking
# shows on their screen in test_staff.py.
ANSWERS = {"How old": "34", "man or a woman": "a woman", "city": "Paris"}


@pytest.fixture
def sore_throat_browser(
    playwright: Playwright, platform: Target, tmp_path: Path
) -> Iterator[Browser]:
    # A long silence after the complaint: the mic is off before the clip loops round.
    microphone = spoken_wav(platform.base_url, SORE_THROAT, tmp_path / "sore.wav", trail_s=10)
    browser = launch(playwright, microphone)
    yield browser
    browser.close()


def assistant_messages(page: Page) -> list[str]:
    return page.locator("[data-testid=chat-message][data-from=assistant]").all_inner_texts()


def answer_until_offered(page: Page) -> None:
    """Type the answer to each question the assistant asks until a booking is offered."""
    offer = page.get_by_test_id("booking-offer")
    for _ in range(40):
        if offer.is_visible():
            return
        said = assistant_messages(page)
        text = said[-1] if said else ""
        replies = [r.strip() for r in page.get_by_test_id("quick-reply").all_inner_texts()]
        answer = next((a for q, a in ANSWERS.items() if q in text), None)
        if answer is None:
            if "appointment" in text and "Yes" in replies:
                answer = "yes"
            else:
                answer = "no" if "No" in replies else (replies[0] if replies else "about a three")
        page.get_by_test_id("text-input").fill(answer)
        page.get_by_test_id("text-input").press("Enter")
        # The next question (or the offer) once the assistant has answered this turn.
        page.wait_for_function(
            "([count]) => document.querySelector('[data-testid=booking-offer]') ||"
            " document.querySelectorAll('[data-testid=chat-message][data-from=assistant]')"
            ".length > count",
            arg=[len(said)],
            timeout=SLOW,
        )
        expect(page.get_by_test_id("thinking")).to_be_hidden(timeout=SLOW)
        page.wait_for_timeout(500)  # let a turn's follow-up messages arrive before reading
    expect(offer).to_be_visible()


def test_a_spoken_then_typed_sore_throat_books_a_slot_that_is_then_taken(
    open_page: OpenPage, sore_throat_browser: Browser, bookings: list[Booked]
) -> None:
    page = open_page(sore_throat_browser)
    start_voice_conversation(page)
    patient_said = page.locator("[data-testid=chat-message][data-from=patient]")
    expect(patient_said.filter(has_text="sore throat").first).to_be_visible(timeout=2 * SLOW)
    page.get_by_test_id("mic-button").click()
    expect(page.get_by_test_id("mic-button")).to_have_attribute("aria-pressed", "false")

    answer_until_offered(page)
    card = page.get_by_test_id("triage-card")
    expect(card).to_be_visible()
    assert card.get_attribute("data-level") not in ("emergency_ambulance", "emergency")
    show(card)
    screenshot(page, "conversation-triage")

    offer = page.get_by_test_id("booking-offer")
    options = offer.get_by_test_id("practitioner-option")
    at_bastille = options.filter(has_text="Bastille")
    bastille = at_bastille.count() > 0
    practitioner = at_bastille.first if bastille else options.first
    slot = practitioner.get_by_test_id("slot-option").first
    slot_id = slot.get_attribute("data-slot-id")
    practitioner_id = practitioner.get_attribute("data-practitioner-id")
    assert slot_id
    assert practitioner_id
    slot.check()
    show(offer)
    check_accessible(page, "booking offer")
    screenshot(page, "booking-offer")
    offer.get_by_test_id("book-slot").click()

    confirmed = page.get_by_test_id("booking-confirmed")
    expect(confirmed).to_be_visible(timeout=SLOW)
    show(confirmed)
    screenshot(page, "booking-confirmed")
    with page.expect_download() as download:
        page.get_by_test_id("ics-download").click()
    ics = Path(download.value.path()).read_text(encoding="utf-8")
    assert "BEGIN:VCALENDAR" in ics
    assert "BEGIN:VEVENT" in ics

    # The slot is taken: no longer among the practitioner's free slots.
    now = datetime.now(UTC)
    free = api_json(
        page,
        "/api/v1/scheduling/slots",
        practitioner_id=practitioner_id,
        start=now.isoformat(),
        end=(now + timedelta(days=21)).isoformat(),
        page_size=500,
    )
    assert slot_id not in {s["slot_id"] for s in free["slots"]}

    # And the patient's appointments list it.
    page.goto("/appointments")
    rows = page.get_by_test_id("appointment-row")
    expect(rows.first).to_be_visible(timeout=SLOW)
    assert rows.first.get_attribute("data-status") == "booked"
    appointment_id = rows.first.get_attribute("data-appointment-id")
    assert appointment_id
    bookings.append(Booked(appointment_id, bastille))
    check_accessible(page, "my appointments")
    screenshot(page, "my-appointments")
    page.set_viewport_size(PHONE)
    no_horizontal_scroll(page)
    check_accessible(page, "my appointments (phone)")
