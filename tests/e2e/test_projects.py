"""The city's projects in a browser, in French then in English: a newcomer finds the works near a place this
month on /projects (the map draws the demo projects), opens one (labelled as a demo project), follows it and asks
a question, which the page then shows waiting for the department's answer; the department's staff answer it and
post an update, and the newcomer finds both in their notifications."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import NewPage
from tests.e2e.test_journey import fresh_email, sign_up

PLACE = "10 rue de la Roquette"
STAFF_EMAIL = "voirie@demo.citoyen.example"
STAFF_PASSWORD = "nid-de-poule-rebouche"


def find_works_near(page: Page, button: str) -> None:
    page.goto("/projects")
    # The map's ready signal: the projects of the view are drawn.
    expect(page.locator("#projects-map")).to_have_attribute("data-loaded", "true")
    expect(page.locator("#projects-map")).to_have_attribute("data-features", re.compile(r"^[1-9]\d*$"))
    page.locator("#near").fill(PLACE)
    page.get_by_role("button", name=button).click()


def staff_answer_and_post_news(
    staff: Page, project_url: str, question: str, answer: str, update: tuple[str, str], buttons: tuple[str, str]
) -> None:
    """The roads department's staff, in a browser of their own, answer `question` and post `update` (French,
    English) on the project's page; `buttons`: the publish-the-answer and post-the-update buttons' names."""
    staff.goto("/login")
    staff.locator("#email").fill(STAFF_EMAIL)
    staff.locator("#password").fill(STAFF_PASSWORD)
    staff.locator("form[action='/login'] button[type=submit]").click()
    expect(staff).not_to_have_url(re.compile(r"/login$"))
    staff.goto(project_url)
    asked = staff.locator("#questions .question", has_text=question)
    asked.locator("textarea").fill(answer)
    asked.get_by_role("button", name=buttons[0]).click()
    expect(staff.locator("#questions .question", has_text=question).locator(".answer")).to_contain_text(answer)
    staff.locator("#update-body").fill(update[0])
    staff.locator("#update-body-en").fill(update[1])
    staff.get_by_role("button", name=buttons[1]).click()
    # The page shows the update in its own language.
    newest = staff.locator("#updates .updates li").first
    expect(newest).to_contain_text(re.compile(f"{re.escape(update[0])}|{re.escape(update[1])}"))


def test_a_newcomer_finds_works_near_a_place_follows_one_asks_and_hears_the_answer_and_news_in_french(
    new_page: NewPage,
) -> None:
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

    staff_answer_and_post_news(
        new_page("fr-FR"),
        page.url,
        "Les arbres seront-ils arrosés l'été ?",
        "Oui : un arrosage goutte-à-goutte est prévu les trois premiers étés.",
        ("Plantations du 2 au 6 mars : stationnement interdit côté pair.", "Planting from 2 to 6 March."),
        ("Publier la réponse", "Publier l'actualité"),
    )
    page.goto("/notifications")
    told = page.locator("ul.notifications")
    expect(told).to_contain_text("Du nouveau sur le projet «\u00a0Végétalisation de la rue de la Roquette\u00a0»")
    expect(told).to_contain_text("Plantations du 2 au 6 mars")
    expect(told).to_contain_text("Une question sur le projet «\u00a0Végétalisation de la rue de la Roquette\u00a0»")
    expect(told).to_contain_text("un arrosage goutte-à-goutte est prévu")
    told.get_by_role("link", name=re.compile("Une question sur le projet")).click()
    answered = page.locator("#questions .question", has_text="Les arbres seront-ils arrosés l'été ?")
    expect(answered.locator(".answer")).to_contain_text("un arrosage goutte-à-goutte est prévu")


def test_a_newcomer_finds_works_near_a_place_follows_one_asks_and_hears_the_answer_and_news_in_english(
    new_page: NewPage,
) -> None:
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

    staff_answer_and_post_news(
        new_page("en-GB"),
        page.url,
        "Will the trees be watered in summer?",
        "Yes: drip irrigation is planned for the first three summers.",
        ("Arrosage : réunion publique le 12 mars.", "Watering: public meeting on 12 March."),
        ("Publish the answer", "Post the update"),
    )
    page.goto("/notifications")
    told = page.locator("ul.notifications")
    expect(told).to_contain_text("News of the project “Greening rue de la Roquette”")
    expect(told).to_contain_text("Watering: public meeting on 12 March.")
    expect(told).to_contain_text("A question on the project “Greening rue de la Roquette” was answered")
    told.get_by_role("link", name=re.compile("News of the project")).click()
    expect(page.locator("#updates")).to_contain_text("Watering: public meeting on 12 March.")
