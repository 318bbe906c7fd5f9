"""Participating in a real browser, on a phone-sized screen: a citizen submits a proposal with a place,
supports it, staff answer it, and the citizen sees the answer on the proposal page and as an "accepted"
marker on the map. Also axe-core on the process and proposal pages in both languages."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Page, ViewportSize, expect
from shapely.geometry import shape

from tests.e2e.test_journey import axe_problems

pytestmark = pytest.mark.e2e

NewPage = Callable[[str], Page]
PHONE: ViewportSize = {"width": 390, "height": 844}
CITIZEN = ("citoyenne@demo.citoyen.example", "velo-marche-quartier")
STAFF = ("voirie@demo.citoyen.example", "nid-de-poule-rebouche")
PROCESS = "embellir-nos-quartiers"

expect.set_options(timeout=15_000)


def log_in(page: Page, account: tuple[str, str]) -> None:
    page.goto("/login")
    page.locator("#email").fill(account[0])
    page.locator("#password").fill(account[1])
    page.locator("form[action='/login'] button[type=submit]").click()
    expect(page.get_by_role("link", name="My account", exact=True)).to_be_visible()


def a_place_in_the_process(base_url: str) -> tuple[float, float]:
    """A point inside the first quartier of the demo process (read from the public APIs)."""
    processes = httpx.get(f"{base_url}/api/participation/processes", timeout=10).json()
    scope = next(p for p in processes if p["slug"] == PROCESS)["neighbourhood_ids"]
    features = httpx.get(f"{base_url}/api/territory/neighbourhoods", timeout=10).json()["features"]
    geometry = next(f["geometry"] for f in features if f["properties"]["id"] == scope[0])
    point = shape(geometry).representative_point()
    return point.x, point.y


def test_submit_support_answer_and_see_it_on_the_map(new_page: NewPage, live_server: str) -> None:
    lon, lat = a_place_in_the_process(live_server)
    citizen = new_page("en-GB")
    citizen.set_viewport_size(PHONE)
    log_in(citizen, CITIZEN)

    citizen.goto("/participation")
    citizen.get_by_role("link", name="Make our East Paris neighbourhoods better").click()
    citizen.get_by_role("link", name="Submit a proposal").click()
    expect(citizen.locator("#proposal-place")).to_have_attribute("data-loaded", "true")
    title = f"A drinking fountain {uuid.uuid4().hex[:6]}"
    citizen.locator("#title").fill(title)
    citizen.locator("#body").fill("A drinking fountain by the playground, for the hot summer days.")
    citizen.locator("#lon").fill(f"{lon:.6f}")
    citizen.locator("#lat").fill(f"{lat:.6f}")
    citizen.locator("#lat").dispatch_event("change")
    expect(citizen.locator("#proposal-place")).to_have_attribute("data-pin", re.compile(r"^\d"))
    citizen.get_by_role("button", name="Publish my proposal").click()
    expect(citizen).to_have_url(re.compile(r"/participation/proposals/\d+$"))
    proposal_id = int(citizen.url.rsplit("/", 1)[1])
    expect(citizen.locator("h1")).to_have_text(title)

    # Supporting swaps the support box in place (htmx), without leaving the page.
    citizen.get_by_role("button", name="Support this proposal").click()
    expect(citizen.locator("#support-count")).to_contain_text("1 person supports this proposal.")
    expect(citizen.get_by_role("button", name="Withdraw my support")).to_be_visible()

    staff = new_page("en-GB")
    log_in(staff, STAFF)
    staff.goto(f"/staff/participation/proposals/{proposal_id}")
    staff.locator("#status").select_option("accepted")
    staff.locator("#text").fill("A good idea: the fountain will be installed in the spring.")
    staff.get_by_role("button", name="Publish the answer").click()
    expect(staff.locator(".flash")).to_contain_text("The answer is published.")

    citizen.reload()
    expect(citizen.locator("#answer")).to_contain_text("accepted")
    expect(citizen.locator("#answer")).to_contain_text("the fountain will be installed in the spring")
    citizen.get_by_role("link", name="See on the map").click()
    proposals_map = citizen.locator("#proposals-map")
    expect(proposals_map).to_have_attribute("data-kind", "points")
    expect(proposals_map.locator("path.status-accepted").first).to_be_attached()


@pytest.mark.parametrize(("browser_locale", "lang"), [("fr-FR", "fr"), ("en-GB", "en")])
def test_participation_pages_have_no_serious_accessibility_violations(
    new_page: NewPage, live_server: str, browser_locale: str, lang: str
) -> None:
    page = new_page(browser_locale)
    problems: list[str] = []
    page.goto("/participation")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    problems += axe_problems(page, f"/participation ({lang})")
    page.goto(f"/participation/processes/{PROCESS}")
    expect(page.locator("#proposals-map")).to_have_attribute("data-loaded", "true")
    problems += axe_problems(page, f"process ({lang})")
    first = page.locator(".proposal-list a").first
    first.click()
    expect(page).to_have_url(re.compile(r"/participation/proposals/\d+$"))
    problems += axe_problems(page, f"proposal ({lang})")
    page.goto("/participation/processes/budget-participatif?status=accepted")
    expect(page.locator("#proposals-map")).to_have_attribute("data-loaded", "true")
    problems += axe_problems(page, f"budget process ({lang})")
    assert not problems, "\n".join(problems)
