"""The demo's opinion map in a real browser, in French and in English: a visitor without an account votes through
five statements (with htmx, one replacing the other, the progress counting), then opens the map and its table view."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

NewPage = Callable[[str], Page]
PROCESS = "embellir-nos-quartiers"

expect.set_options(timeout=15_000)

TEXTS = {
    "fr": {
        "agree": "D'accord",
        "disagree": "Pas d'accord",
        "pass": "Passer / je ne sais pas",
        "map": "Carte des opinions",
    },
    "en": {"agree": "Agree", "disagree": "Disagree", "pass": "Pass / unsure", "map": "Opinion map"},
}


@pytest.mark.parametrize(("browser_locale", "lang"), [("fr-FR", "fr"), ("en-GB", "en")])
def test_a_visitor_votes_through_five_statements_then_opens_the_map(
    new_page: NewPage, browser_locale: str, lang: str
) -> None:
    words = TEXTS[lang]
    page = new_page(browser_locale)
    page.goto(f"/participation/processes/{PROCESS}/conversations")
    page.locator("main ul li a").first.click()
    progress = page.locator("#opinion-vote .progress")
    expect(progress).to_have_attribute("data-voted", "0")
    seen = []
    for number, choice in enumerate(("agree", "disagree", "pass", "agree", "disagree"), start=1):
        statement = page.locator("#statement-text")
        seen.append(statement.inner_text())
        page.get_by_role("button", name=words[choice], exact=True).click()
        expect(progress).to_have_attribute("data-voted", str(number))  # htmx swapped in the next statement
        expect(page.locator("#statement-text")).not_to_have_text(seen[-1])
    assert len(set(seen)) == 5
    page.locator("main a[href$='/map']").first.click()
    expect(page.get_by_role("heading", name=words["map"], level=1)).to_be_visible()
    expect(page.locator("#map-state")).to_have_attribute("data-state", "ready")
    expect(page.locator("figure.opinion-map svg path.dots").first).to_be_attached()
    expect(page.locator("article.group").first).to_be_visible()
    expect(page.locator(".simulated").first).to_be_visible()  # the demo's votes are labelled simulated
    page.locator("a[href$='/map?view=table']").click()
    expect(page.locator("#map-state")).to_have_attribute("data-state", "ready")
    expect(page.locator("figure.opinion-map")).to_have_count(0)
    expect(page.locator("table").first).to_be_visible()
