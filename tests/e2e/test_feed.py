"""The neighbourhood feed in a real browser, in English and in French: a citizen opens a quartier from their feed
page, follows it, posts there, and finds the post in their feed; the demo's simulated posts are labelled so."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_participation import CITIZEN, log_in

pytestmark = pytest.mark.e2e

NewPage = Callable[[str], Page]

expect.set_options(timeout=15_000)


def test_follow_a_quartier_post_there_and_see_it_in_my_feed(new_page: NewPage) -> None:
    title = f"Boîte à livres du square {uuid.uuid4().hex[:6]}"
    page = new_page("en-GB")
    log_in(page, CITIZEN)
    page.get_by_role("link", name="My quartiers").click()
    expect(page.get_by_role("heading", name="My neighbourhoods' news")).to_be_visible()
    page.locator("#other-quartiers + ul a").last.click()
    expect(page.get_by_role("heading", name="What happens here")).to_be_visible()
    page.locator("#follow-neighbourhood").click()
    expect(page.locator("#unfollow-neighbourhood")).to_be_visible()
    form = page.locator("#post-form")
    form.get_by_label("Kind of post").select_option("announcement")
    form.get_by_label("Title").fill(title)
    form.get_by_label("Text").fill("Déposez et prenez des livres, près du banc.")
    form.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    expect(page.locator("#post")).to_contain_text("Camille du 11e")

    page.goto("/feed")
    expect(page.locator("#feed-items")).to_contain_text(title)

    french = new_page("fr-FR")
    log_in_fr(french)
    french.goto("/feed")
    expect(french.get_by_role("heading", name="Les nouvelles de mes quartiers")).to_be_visible()
    item = french.locator("#feed-items li", has_text=title)
    expect(item).to_contain_text("Message d’habitant")
    item.get_by_role("link", name=title).click()
    expect(french.locator("#replies-title")).to_have_text("0 réponse")


def log_in_fr(page: Page) -> None:
    page.goto("/login")
    page.locator("#email").fill(CITIZEN[0])
    page.locator("#password").fill(CITIZEN[1])
    page.locator("form[action='/login'] button[type=submit]").click()
    expect(page.get_by_role("link", name="Mon compte", exact=True)).to_be_visible()


def test_the_demo_posts_are_labelled_simulated(new_page: NewPage) -> None:
    page = new_page("fr-FR")
    page.goto("/quartiers/1")
    expect(page.locator("#feed-items .simulated").first).to_have_text("simulé")
    # The feed's first page may hold only the quartier's history (reports, proposals): a post is opened from the
    # quartier's agenda of events, its time in the city's time zone.
    page.goto("/quartiers/1/agenda")
    expect(page.locator("#agenda")).to_contain_text("heure locale")
    page.locator("#agenda a[href^='/quartiers/posts/']").first.click()
    expect(page.locator("#post .simulated")).to_have_text("simulé")
