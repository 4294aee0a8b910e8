"""Each role signs in through the real provider pages and sees its own navigation; languages."""

import pytest
from playwright.sync_api import Page, expect

from .conftest import OpenPage, StaffSessions, Target
from .helpers import SLOW, Account, check_accessible, screenshot, sign_in_through_ui

pytestmark = [pytest.mark.browser, pytest.mark.stack]


def navigation(page: Page) -> list[str]:
    nav = page.get_by_role("navigation").first
    expect(nav.get_by_role("link").first).to_be_visible()
    return [text.strip() for text in nav.get_by_role("link").all_inner_texts()]


def test_home_screen_is_accessible_on_desktop_and_phone(open_page: OpenPage) -> None:
    page = open_page()
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_test_id("start-guest")).to_be_visible()
    check_accessible(page, "home")
    screenshot(page, "home")
    page.set_viewport_size({"width": 375, "height": 812})
    check_accessible(page, "home (phone)")


def test_a_patient_signs_in_sees_their_navigation_and_signs_out(
    open_page: OpenPage, platform: Target, accounts: dict[str, Account]
) -> None:
    page = open_page()
    sign_in_through_ui(page, platform.base_url, accounts["patient"])
    assert page.url.startswith(platform.base_url)
    links = navigation(page)
    assert "My appointments" in links
    assert "My patients" not in links
    assert "Admin" not in links
    page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("banner").get_by_role("button", name="Sign in")).to_be_visible()
    assert "My appointments" not in navigation(page)


@pytest.mark.parametrize(("role", "link"), [("clinician", "My patients"), ("admin", "Admin")])
def test_staff_sign_in_with_a_totp_code_and_see_their_navigation(
    staff: StaffSessions, role: str, link: str
) -> None:
    page = staff.page(role)  # signs in through the UI: e-mail, password, then the TOTP code
    expect(page.get_by_role("navigation").first.get_by_role("link", name=link)).to_be_visible(
        timeout=SLOW
    )


def test_the_language_switch_turns_the_interface_french(open_page: OpenPage) -> None:
    page = open_page()
    page.goto("/")
    expect(page.get_by_role("link", name="Talk to the assistant").first).to_be_visible()
    page.get_by_label("Language").select_option("fr")
    expect(page.get_by_role("link", name="Parler à l'assistant").first).to_be_visible()
    expect(page.get_by_label("Langue")).to_be_visible()


def test_a_french_browser_starts_in_french(open_page: OpenPage) -> None:
    page = open_page(locale="fr-FR", extra_http_headers={"Accept-Language": "fr"})
    page.goto("/")
    expect(page.get_by_role("link", name="Parler à l'assistant").first).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    check_accessible(page, "home (French)")
    screenshot(page, "home-fr")
