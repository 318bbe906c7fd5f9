"""Voting in the demo's participatory budget in a real browser, on a phone-sized screen: the demo citizen
verifies their residence, an over-budget ballot is refused with the selection kept, a valid one is
recorded; and axe-core finds no serious or critical problem on the ballot page in French and English."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from citoyen.demo.budgets import DEMO_CITIZEN_IDENTIFIERS
from tests.e2e.test_journey import axe_problems

pytestmark = pytest.mark.e2e

NewPage = Callable[[str], Page]
PHONE: ViewportSize = {"width": 390, "height": 844}
CITIZEN_EMAIL = "citoyenne@demo.citoyen.example"
CITIZEN_PASSWORD = "velo-marche-quartier"

expect.set_options(timeout=15_000)


def log_in(page: Page) -> None:
    page.goto("/login")
    page.locator("#email").fill(CITIZEN_EMAIL)
    page.locator("#password").fill(CITIZEN_PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    expect(page.get_by_role("heading", name="My account", exact=True)).to_be_visible()


def open_budget(page: Page) -> None:
    page.goto("/participation/budgets")
    page.get_by_role("link", name="Participatory budget 2027").click()
    expect(page.locator("#ballot")).to_be_visible()


def test_a_citizen_verifies_then_votes_and_an_over_budget_ballot_is_refused(new_page: NewPage) -> None:
    page = new_page("en-GB")
    page.set_viewport_size(PHONE)
    log_in(page)
    open_budget(page)
    page.get_by_role("link", name="Verify my residence").click()
    page.get_by_label("Identity document number").fill(DEMO_CITIZEN_IDENTIFIERS.document_number.lower())
    page.get_by_label("Birth date").fill(DEMO_CITIZEN_IDENTIFIERS.birth_date)
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#ballot")).to_be_visible()  # back on the ballot page
    expect(page.get_by_text("Your residence is verified")).to_be_visible()

    boxes = page.locator("input[name=project]")
    count = boxes.count()
    for index in range(count):
        boxes.nth(index).check()
    status = page.locator("#ballot-total")
    expect(status).to_contain_text("Over budget by")  # the running total warns before sending
    page.get_by_role("button", name="Save my ballot").click()
    expect(page.locator("#form-errors")).to_contain_text("more than the budget of €2,000,000")
    for index in range(count):
        expect(boxes.nth(index)).to_be_checked()  # the selection is kept

    for index in range(count):
        boxes.nth(index).uncheck()
    boxes.nth(0).check()
    boxes.nth(1).check()
    expect(status).not_to_contain_text("Over budget")
    page.get_by_role("button", name="Save my ballot").click()
    expect(page.get_by_text("Your ballot has been recorded")).to_be_visible()
    expect(boxes.nth(0)).to_be_checked()
    expect(boxes.nth(2)).not_to_be_checked()
    expect(page.get_by_role("button", name="Change my ballot")).to_be_visible()


@pytest.mark.parametrize(("browser_locale", "lang"), [("fr-FR", "fr"), ("en-GB", "en")])
def test_the_ballot_page_has_no_serious_accessibility_violations(
    new_page: NewPage, browser_locale: str, lang: str
) -> None:
    page = new_page(browser_locale)
    page.set_viewport_size(PHONE)
    page.goto("/participation/budgets")
    page.locator(".budget-list a").first.click()
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("#ballot")).to_be_visible()
    problems = axe_problems(page, f"ballot page ({lang})")
    assert problems == [], "\n".join(problems)
