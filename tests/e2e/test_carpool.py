"""The carpool board's whole path in a browser: a resident new to the board (the demo's moderator account, in
French; signing up is tested by test_journey) tries the trip form's map (a pin snapped to its hexagon), then posts a
trip from Folie-Méricourt to Europe, finds the demo citizen's offer among the matches, asks to share it; the driver
(in English, a second browser context) accepts; the two write to each other. No e-mail is shown on either side.
Then the flows page and a counter's year."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import NewPage

DRIVER_EMAIL = "citoyenne@demo.citoyen.example"
DRIVER_PASSWORD = "velo-marche-quartier"
DRIVER_NAME = "Camille du 11e"
NEWCOMER_EMAIL = "moderation@demo.citoyen.example"
NEWCOMER_PASSWORD = "moderer-debat-calme"
NEWCOMER_NAME = "Modération"


def log_in(page: Page, email: str, password: str) -> None:
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.locator("form[action='/login'] button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/login$"))


def test_a_newcomer_posts_a_trip_is_accepted_and_writes(new_page: NewPage) -> None:
    newcomer = new_page("fr-FR")
    log_in(newcomer, NEWCOMER_EMAIL, NEWCOMER_PASSWORD)
    newcomer.goto("/carpool")
    expect(newcomer.locator("#board-counts")).to_contain_text("publiée")
    expect(newcomer.locator(".simulated").first).to_contain_text("simulés")
    newcomer.get_by_role("link", name="Publier un trajet").click()
    # The map: a click places the start, snapped to the centre of its hexagon, and the page says only that area is
    # kept; choosing a neighbourhood instead takes the pin away.
    trip_map = newcomer.locator("#trip-map")
    expect(trip_map).to_have_attribute("data-loaded", "true")
    trip_map.click()
    expect(trip_map).to_have_attribute("data-from-cell", re.compile(r"^89[0-9a-f]{13}$"))
    expect(newcomer.locator("#trip-map-status")).to_contain_text("350")
    expect(newcomer.locator("#from-lon")).not_to_have_value("")
    expect(newcomer.locator("input[name=map_target][value=to]")).to_be_checked()
    newcomer.locator("#from-neighbourhood").select_option(label="Folie-Méricourt")
    expect(newcomer.locator("#from-lon")).to_have_value("")
    expect(trip_map).not_to_have_attribute("data-from-cell", re.compile(r"."))
    newcomer.locator("#to-neighbourhood").select_option(label="Europe")
    newcomer.locator("#trip-form button[type=submit]").click()
    expect(newcomer.get_by_role("heading", name="Votre trajet")).to_be_visible()
    match = newcomer.locator("#matches li").filter(has_text=DRIVER_NAME).first
    expect(match).to_contain_text("Propose 3 places")
    match.get_by_role("button", name="Demander à partager").click()
    expect(newcomer.locator("#request-status")).to_contain_text("en attente de réponse")
    exchange = re.sub(r"^https?://[^/]+", "", newcomer.url)
    expect(newcomer.locator("#messages")).to_contain_text("une fois la demande acceptée")

    driver = new_page("en-GB")
    log_in(driver, DRIVER_EMAIL, DRIVER_PASSWORD)
    driver.goto(exchange)
    expect(driver.get_by_role("heading", level=1)).to_contain_text(f"{NEWCOMER_NAME} asks to share your trip")
    driver.get_by_role("button", name="Accept").click()
    expect(driver.locator("#request-status")).to_contain_text("accepted")
    assert NEWCOMER_EMAIL not in driver.content()

    newcomer.reload()
    newcomer.locator("#message-body").fill("Bonjour ! Rendez-vous devant la mairie du 11e à 7 h 35 ?")
    newcomer.get_by_role("button", name="Envoyer").click()
    expect(newcomer.locator(".messages")).to_contain_text("devant la mairie du 11e")
    driver.reload()
    expect(driver.locator(".messages")).to_contain_text("devant la mairie du 11e")
    driver.locator("#message-body").fill("See you there at 7:35.")
    driver.get_by_role("button", name="Send").click()
    expect(driver.locator(".messages")).to_contain_text("See you there")
    newcomer.reload()
    expect(newcomer.locator(".messages")).to_contain_text("See you there")
    assert DRIVER_EMAIL not in newcomer.content()


def test_the_flows_page_draws_the_counters_and_a_counters_year(new_page: NewPage) -> None:
    page = new_page("en-GB")
    page.goto("/mobility")
    expect(page.locator("#flows-map")).to_have_attribute("data-ready", "1")
    expect(page.locator("#comparison-chart")).to_have_attribute("data-ready", "1")
    counter = page.locator("#counters tbody a").first
    expect(counter).to_be_visible()
    expect(counter).to_contain_text("Bicycle counter")  # the counters' names in the page's language
    expect(page.locator("#counters tbody")).not_to_contain_text("Compteur vélo")
    counter.click()
    expect(page.locator("#profile-chart")).to_have_attribute("data-ready", "1")
    expect(page.locator("#days-chart")).to_have_attribute("data-ready", "1")
    expect(page.locator("#profile-table tbody tr")).to_have_count(24)
