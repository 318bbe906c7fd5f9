"""What a citizen sees in a real browser: a proposal they follow is listed on their follows page (and taken off
it when they stop), and a participatory budget's results opened while voting is open say when they will be
published, in English and in French, instead of "Access denied"."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_participation import CITIZEN, log_in

pytestmark = pytest.mark.e2e

NewPage = Callable[[str], Page]

expect.set_options(timeout=15_000)


def test_a_followed_proposal_is_listed_on_the_follows_page(new_page: NewPage, live_server: str) -> None:
    found = httpx.get(f"{live_server}/api/participation/proposals", params={"limit": 1}, timeout=10).json()
    proposal = found["proposals"][0]
    page = new_page("en-GB")
    log_in(page, CITIZEN)
    page.goto(f"/participation/proposals/{proposal['id']}")
    button = page.locator("form.follow-form button[type=submit]").first
    expect(button).to_be_visible()
    # The newest proposal may be the citizen's own (another browser test of this server may have just made it),
    # and an author follows their proposal from the start: then the button offers to stop, and we start over.
    if button.inner_text().strip() == "Stop following":
        button.click()
        expect(button).to_have_text("Follow")
    button.click()
    expect(button).to_have_text("Stop following")

    page.goto("/account/follows")
    listed = page.locator("#followed li", has_text=proposal["title"])
    expect(listed).to_contain_text("Proposal")
    expect(listed.get_by_role("link", name=proposal["title"])).to_have_attribute(
        "href", f"/participation/proposals/{proposal['id']}"
    )
    listed.get_by_role("button", name="Stop following").click()
    expect(page.locator("#followed li", has_text=proposal["title"])).to_have_count(0)


def test_budget_results_before_the_vote_closes_say_when_they_are_published(new_page: NewPage) -> None:
    page = new_page("en-GB")
    page.goto("/participation/budgets")
    page.get_by_role("link", name="Participatory budget 2027").click()
    expect(page.locator("#ballot")).to_be_visible()
    results = page.url.split("#")[0] + "/results"

    page.goto(results)
    expect(page.locator("#results-pending")).to_contain_text("The results will be published when voting closes, on")
    expect(page.get_by_text("Access denied")).to_have_count(0)
    french = new_page("fr-FR")
    french.goto(results)
    expect(french.locator("#results-pending")).to_contain_text("Les résultats seront publiés à la clôture du vote, le")
