"""Building eco-feedback in a real browser: the demo citizen logs in, finds their building among "Your buildings"
and reads its consumption beside similar buildings with the nudge, in French and in English; a visitor sees only
the similar buildings' aggregates."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from citoyen.demo.common import DEMO_ACCOUNTS

pytestmark = pytest.mark.e2e

NewPage = Callable[[str], Page]
CITIZEN = DEMO_ACCOUNTS[0]

expect.set_options(timeout=15_000)


def log_in(page: Page) -> None:
    page.goto("/login")
    page.locator("#email").fill(CITIZEN.email)
    page.locator("#password").fill(CITIZEN.password)
    page.locator("form[action='/login'] button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/login$"))


def open_my_building(page: Page) -> None:
    page.goto("/buildings")
    page.get_by_role("link", name="Résidence Roquette-Keller").first.click()
    expect(page).to_have_url(re.compile(r"/buildings/\d+$"))
    expect(page.locator("[data-building-page]")).to_be_visible()


def test_the_demo_citizen_reads_their_building_in_french(new_page: NewPage) -> None:
    page = new_page("fr-FR")
    log_in(page)
    open_my_building(page)
    expect(page.locator("[data-simulated]")).to_contain_text("Données simulées")
    heating = page.locator("[data-meter='heating']")
    expect(heating.locator("[data-own]")).to_contain_text("Wh par m² et par degré-jour")
    expect(heating.locator("[data-nudge]")).to_contain_text("Votre bâtiment")
    expect(heating.locator("[data-peers]")).to_contain_text("bâtiments semblables")
    expect(page.locator("[data-link-status='confirmed']")).to_be_visible()


def test_the_demo_citizen_reads_their_building_in_english_and_a_visitor_sees_aggregates_only(
    new_page: NewPage,
) -> None:
    page = new_page("en-GB")
    log_in(page)
    open_my_building(page)
    url = page.url
    heating = page.locator("[data-meter='heating']")
    expect(heating.locator("[data-own]")).to_contain_text("Wh per m² per degree-day")
    expect(heating.locator("[data-nudge]")).to_contain_text(re.compile(r"Your building (heats|is among)"))
    expect(page.locator("[data-simulated]")).to_contain_text("Simulated data")

    visitor = new_page("en-GB")
    visitor.goto(url)
    expect(visitor.locator("[data-meter='heating'] [data-peers]")).to_contain_text("similar buildings")
    expect(visitor.locator("[data-own]")).to_have_count(0)
    expect(visitor.get_by_role("link", name="Log in to say you live here.")).to_be_visible()
