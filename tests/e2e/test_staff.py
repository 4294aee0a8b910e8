"""Staff screens: the clinician's appointments, and the admin's practitioners, audit, analytics.

Each staff account signed in once for the run (test_sign_in.py, or here when run alone). The
booking test ran before this module, so a demo practitioner has an appointment with a triage.
"""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Locator, Page, expect

from .conftest import Booked, OpenPage, StaffSessions
from .helpers import SLOW, api_json, check_accessible, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.stack]


def heading(page: Page) -> None:
    expect(page.get_by_role("heading", level=1)).to_be_visible(timeout=SLOW)
    expect(page.get_by_role("progressbar")).to_have_count(0, timeout=SLOW)


def test_the_clinician_sees_their_appointments_with_the_triage_summary(
    staff: StaffSessions, bookings: list[Booked]
) -> None:
    page = staff.page("clinician")
    page.goto("/clinician")
    heading(page)
    # test_booking.py books at the demo clinician's practice (Bastille, Paris) when offered.
    for booked in bookings:
        if booked.at_demo_clinicians_practice:
            appointment = page.locator(
                "[data-testid=clinician-appointment]"
                f"[data-appointment-id='{booked.appointment_id}']"
            )
            expect(appointment).to_be_visible(timeout=SLOW)
            expect(appointment.get_by_test_id("triage-summary")).to_be_visible()
    check_accessible(page, "clinician")
    screenshot(page, "clinician")


def choose_first(page: Page, label: str) -> None:
    """Pick the first real option of the select labelled LABEL (skipping a blank prompt)."""
    select = page.get_by_label(label, exact=True)
    values = [v for v in select.locator("option").evaluate_all("o => o.map(x => x.value)") if v]
    select.select_option(values[0])


def add_practitioner_with_availability(page: Page, name: str) -> str:
    """Fill the add form, then a Monday-to-Friday 08:00-18:00 week; return the new id."""
    page.goto("/admin/practitioners")
    heading(page)
    page.get_by_test_id("add-practitioner").click()
    page.get_by_label("Display name").fill(name)
    choose_first(page, "Specialty")
    choose_first(page, "Practice")
    languages = page.get_by_role("group", name="Languages")
    if languages.count():
        languages.get_by_role("checkbox").first.check()
    else:
        page.get_by_label("Languages").select_option("en")
    page.get_by_test_id("save-practitioner").click()
    expect(page.get_by_role("status").filter(has_text=name).first).to_be_visible(timeout=SLOW)

    row = page.get_by_test_id("practitioner-row").filter(has_text=name)
    expect(row).to_have_count(1)
    practitioner_id = row.get_attribute("data-practitioner-id")
    assert practitioner_id
    editor = page.get_by_test_id("availability-editor")
    if not editor.is_visible():
        row.get_by_role("button").first.click()
    expect(editor).to_be_visible()
    for day in range(5):
        editor.get_by_test_id("add-availability-range").click()
        editor.get_by_label("Day").nth(day).select_option(index=day)
        editor.get_by_label("From").nth(day).fill("08:00")
        editor.get_by_label("To").nth(day).fill("18:00")
    editor.get_by_test_id("save-availability").click()
    expect(page.get_by_role("status").last).to_be_visible(timeout=SLOW)
    return practitioner_id


def test_an_added_practitioner_s_free_slots_are_shown_to_patients(
    staff: StaffSessions, open_page: OpenPage
) -> None:
    admin = staff.page("admin")
    name = f"Dr Test {uuid.uuid4().hex[:6]}"
    practitioner_id = add_practitioner_with_availability(admin, name)
    check_accessible(admin, "admin practitioners")
    screenshot(admin, "admin-practitioners")
    now = datetime.now(UTC)
    slots = api_json(
        admin,
        "/api/v1/scheduling/slots",
        practitioner_id=practitioner_id,
        start=now.isoformat(),
        end=(now + timedelta(days=14)).isoformat(),
    )
    assert slots["slots"], "the new practitioner has no free slots"

    patient = open_page()
    patient.goto("/")
    patient.get_by_test_id("start-guest").click()
    patient.wait_for_url("**/talk")
    patient.goto("/doctors")
    card = patient.locator(f"[data-testid=doctor-card][data-practitioner-id='{practitioner_id}']")
    expect(card).to_be_visible(timeout=SLOW)
    expect(card.get_by_test_id("doctor-slot").first).to_be_visible()
    check_accessible(patient, "find a doctor")


def test_the_admin_users_screen(staff: StaffSessions) -> None:
    page = staff.page("admin")
    page.goto("/admin/users")
    heading(page)
    expect(page.get_by_test_id("user-row").first).to_be_visible()
    check_accessible(page, "admin users")
    screenshot(page, "admin-users")


def test_the_admin_verifies_the_audit_chain(staff: StaffSessions) -> None:
    page = staff.page("admin")
    page.goto("/admin/audit")
    heading(page)
    expect(page.get_by_test_id("audit-row").first).to_be_visible()
    page.get_by_test_id("verify-audit").click()
    result = page.get_by_test_id("audit-verify-result")
    expect(result).to_have_attribute("data-intact", "true", timeout=SLOW)
    check_accessible(page, "admin audit")
    screenshot(page, "admin-audit")


def drawn(page: Page, chart: str) -> Locator:
    """Return the drawing of the analytics chart CHART (none while it has no data)."""
    return page.get_by_test_id(f"chart-{chart}").locator("svg.recharts-surface")


def test_analytics_shows_its_charts(staff: StaffSessions) -> None:
    page = staff.page("admin")
    page.goto("/admin/analytics")
    heading(page)
    # test_booking.py triaged, booked and spoke, so every chart has data to draw once the
    # analytics consumers have stored the events (asynchronously: reload until they have).
    charts = ["triage-levels", "top-conditions", "booking-conversion", "voice-latency"]
    for _ in range(12):
        page.wait_for_timeout(1_000)  # recharts draws once its container has been measured
        charts = [c for c in charts if not drawn(page, c).count()]
        if not charts:
            break
        page.wait_for_timeout(4_000)
        page.reload()
        heading(page)
    assert not charts, f"charts without data: {charts}"
    check_accessible(page, "admin analytics")
    screenshot(page, "admin-analytics")
