"""The city's projects in a browser, in French then in English: a newcomer finds the works near a place this
month on /projects (the map draws the demo projects), opens one (labelled as a demo project), follows it and asks
a question, which the page then shows waiting for the department's answer."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import NewPage
from tests.e2e.test_journey import fresh_email, sign_up

PLACE = "10 rue de la Roquette"


def find_works_near(page: Page, button: str) -> None:
    page.goto("/projects")
    # The map's ready signal: the projects of the view are drawn.
    expect(page.locator("#projects-map")).to_have_attribute("data-loaded", "true")
    expect(page.locator("#projects-map")).to_have_attribute("data-features", re.compile(r"^[1-9]\d*$"))
    page.locator("#near").fill(PLACE)
    page.get_by_role("button", name=button).click()


def test_a_newcomer_finds_works_near_a_place_follows_one_and_asks_in_french(new_page: NewPage) -> None:
    page = new_page("fr-FR")
    sign_up(page, fresh_email(), "Voisin de la Roquette")
    find_works_near(page, "Trouver les travaux proches")
    near = page.locator("#near-list")
    expect(near).to_contain_text("Végétalisation de la rue de la Roquette")
    expect(near).to_contain_text("projet de démonstration")
    near.get_by_role("link", name="Végétalisation de la rue de la Roquette").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Végétalisation de la rue de la Roquette")
    expect(page.locator(".demo-banner").last).to_contain_text("projet de démonstration")
    expect(page.locator("#project-map")).to_have_attribute("data-loaded", "true")
    expect(page.locator("#timeline")).to_contain_text("Travaux")
    page.locator("#follow-button").click()
    expect(page.locator("#follow")).to_contain_text("Vous suivez ce projet")
    page.locator("#question").fill("Les arbres seront-ils arrosés l'été ?")
    page.get_by_role("button", name="Poser la question").click()
    expect(page.locator("#questions")).to_contain_text("Les arbres seront-ils arrosés l'été ?")
    expect(page.locator("#questions")).to_contain_text("En attente de la réponse du service.")


def test_a_newcomer_finds_works_near_a_place_follows_one_and_asks_in_english(new_page: NewPage) -> None:
    page = new_page("en-GB")
    sign_up(page, fresh_email(), "Roquette neighbour")
    find_works_near(page, "Find works nearby")
    near = page.locator("#near-list")
    expect(near).to_contain_text("Greening rue de la Roquette")
    expect(near).to_contain_text("demo project")
    near.get_by_role("link", name="Greening rue de la Roquette").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Greening rue de la Roquette")
    expect(page.locator(".demo-banner").last).to_contain_text("This is a demo project")
    page.locator("#follow-button").click()
    expect(page.locator("#follow")).to_contain_text("You follow this project")
    page.locator("#question").fill("Will the trees be watered in summer?")
    page.get_by_role("button", name="Ask the question").click()
    expect(page.locator("#questions")).to_contain_text("Will the trees be watered in summer?")
