"""Commenting and replying on a proposal in a real browser (htmx posts, no page reload), voting, and an
accessibility check of the proposal page with its comments, in French and in English."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_journey import axe_problems

pytestmark = pytest.mark.e2e

NewPage = Callable[[str], Page]
CITIZEN_EMAIL = "citoyenne@demo.citoyen.example"
CITIZEN_PASSWORD = "velo-marche-quartier"

expect.set_options(timeout=15_000)


def log_in(page: Page) -> None:
    page.goto("/login")
    page.locator("#email").fill(CITIZEN_EMAIL)
    page.locator("#password").fill(CITIZEN_PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def open_a_proposal_open_to_comments(page: Page) -> None:
    # The most commented proposal of the neighbourhood process, whose phase takes comments.
    page.goto("/participation/processes/embellir-nos-quartiers?sort=comments")
    page.locator("a[href^='/participation/proposals/']").first.click()
    expect(page).to_have_url(re.compile(r"/participation/proposals/\d+$"))
    expect(page.locator("#debate")).to_be_visible()


def test_commenting_and_replying_on_a_proposal(new_page: NewPage) -> None:
    page = new_page("en-GB")
    log_in(page)
    open_a_proposal_open_to_comments(page)
    url = page.url
    marker = uuid.uuid4().hex[:8]
    # An htmx post: the page is not reloaded, so this flag set on the window survives.
    page.evaluate("window.stillTheSamePage = true")

    comment_text = f"More benches would help older residents ({marker})."
    page.locator("#comment-new-body").fill(comment_text)
    page.locator("#comment-new").get_by_role("button", name="Publish the comment").click()
    comment = page.locator("li.comment", has_text=marker).first
    expect(comment).to_be_visible()
    expect(comment).to_be_focused()
    assert page.evaluate("window.stillTheSamePage") is True
    assert page.url == url

    reply_text = f"Agreed, and a drinking fountain too ({marker}-reply)."
    comment.locator("summary", has_text="Reply").first.click()
    comment.locator("textarea[name=body]").first.fill(reply_text)
    comment.get_by_role("button", name="Send the reply").first.click()
    reply = page.locator("ol.replies li.comment", has_text=f"{marker}-reply")
    expect(reply).to_be_visible()
    assert page.evaluate("window.stillTheSamePage") is True

    # An empty comment is refused with a message; nothing is lost of what the page shows.
    page.locator("#comment-new-body").fill("   ")
    page.locator("#comment-new").get_by_role("button", name="Publish the comment").click()
    expect(page.locator("#comment-new-error")).to_contain_text("Write your comment before sending it.")
    expect(page.locator("li.comment", has_text=marker).first).to_be_visible()

    # After a reload the comment and its reply are still there, in order.
    page.reload()
    expect(page.locator("li.comment", has_text=marker).first).to_be_visible()
    expect(page.locator("ol.replies li.comment", has_text=f"{marker}-reply")).to_be_visible()


def test_voting_on_someone_elses_comment(new_page: NewPage) -> None:
    page = new_page("en-GB")
    log_in(page)
    open_a_proposal_open_to_comments(page)
    # The demo citizen wrote none of the demo comments: each has vote buttons for her.
    first_form = page.locator(".votes form").first
    expect(first_form).to_be_visible()
    box = page.locator("#" + first_form.evaluate("form => form.parentElement.id"))
    agree = box.locator("button").first
    before = int(agree.locator(".count").inner_text())
    pressed = agree.get_attribute("aria-pressed") == "true"
    agree.click()
    expected = before - 1 if pressed else before + 1
    expect(box.locator("button").first.locator(".count")).to_have_text(str(expected))
    expect(box.locator("button").first).to_have_attribute("aria-pressed", "false" if pressed else "true")


@pytest.mark.parametrize("browser_locale", ["fr-FR", "en-GB"])
def test_the_proposal_page_with_comments_is_accessible(new_page: NewPage, browser_locale: str) -> None:
    page = new_page(browser_locale)
    log_in(page)
    open_a_proposal_open_to_comments(page)
    expect(page.locator("li.comment").first).to_be_visible()
    page.locator("li.comment details.reply summary").first.click()
    page.locator("li.comment details.flag summary").first.click()
    problems = axe_problems(page, f"{page.url} ({browser_locale})")
    assert not problems, "\n".join(problems)
