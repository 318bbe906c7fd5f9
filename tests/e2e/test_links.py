"""The links a person receives lead back to the platform they used: the demo served on another port than 8000
mails sign-up links to that port, and following the link as it is (not rewritten by the test) opens the account."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.test_journey import PASSWORD, NewPage, mailed_link

pytestmark = pytest.mark.e2e


def test_a_mailed_sign_up_link_leads_to_the_address_served(new_page: NewPage, live_server: str) -> None:
    assert not live_server.endswith(":8000")  # a free port: the former default address would be wrong
    page = new_page("en-GB")
    email = f"lien-{uuid.uuid4().hex[:8]}@example.org"
    page.goto("/signup")
    page.locator("#email").fill(email)
    page.locator("#display_name").fill("Camille Lien")
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/signup'] button[type=submit]").click()
    expect(page.get_by_role("status")).to_contain_text(email)

    link = mailed_link(page, email)
    assert link.startswith(f"{live_server}/login/link/"), link
    page.goto(link)  # the whole link, as a mail reader would open it
    page.locator("form[action^='/login/link/'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(live_server)}/account$"))
