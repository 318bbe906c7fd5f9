"""The maps in a real browser: the street map (IGN's Plan IGN by default) and what the city's own layers show
without it, the home map's layers of open reports and proposals, the quartier panel in French and English, and a
followed report on the follows page."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Page, Request, expect
from shapely.geometry import Point, shape

from tests.e2e.test_participation import CITIZEN, log_in

pytestmark = pytest.mark.e2e

NewPage = Callable[[str], Page]

expect.set_options(timeout=15_000)


def test_an_unreachable_tile_server_leaves_the_city_drawn(new_page: NewPage) -> None:
    page = new_page("fr-FR")
    failed: list[str] = []

    def note(request: Request) -> None:
        if "data.geopf.fr" in request.url:
            failed.append(request.url)

    page.on("requestfailed", note)
    page.goto("/")
    city_map = page.locator("#city-map")
    # The street map is configured (Plan IGN v2 through the Géoplateforme's WMTS)...
    expect(city_map).to_have_attribute("data-tile-url", re.compile(r"^https://data\.geopf\.fr/wmts\?.*PLANIGNV2"))
    # ...its tiles fail (the tests' browser reaches nothing outside the server), so the layer is removed with its
    # attribution, and the neighbourhoods are drawn as without it.
    expect(city_map).to_have_attribute("data-tiles", "unavailable")
    expect(city_map).to_have_attribute("data-loaded", re.compile(r"^[1-9]\d*$"))
    expect(page.locator("#city-map path[data-neighbourhood-id]").first).to_be_visible()
    expect(page.locator("#city-map .leaflet-tile")).to_have_count(0)
    expect(page.locator("#city-map .leaflet-control-attribution")).not_to_contain_text("IGN")
    assert failed


def test_the_home_map_shows_open_reports_and_proposals_as_layers_that_switch_off(new_page: NewPage) -> None:
    page = new_page("en-GB")
    page.goto("/")
    city_map = page.locator("#city-map")
    expect(city_map).to_have_attribute("data-loaded", re.compile(r"^[1-9]\d*$"))
    # The whole city is in view: both layers count per area (circles labelled with their counts).
    expect(city_map).to_have_attribute("data-reports-kind", "cells")
    expect(city_map).to_have_attribute("data-reports-drawn", re.compile(r"^[1-9]\d*$"))
    expect(city_map).to_have_attribute("data-proposals-drawn", re.compile(r"^[1-9]\d*$"))
    reports = page.locator("#city-map path.map-cell.layer-reports")
    expect(reports.first).to_be_attached()
    expect(page.locator(".cell-count.layer-reports").first).to_be_visible()
    page.get_by_label("Reports not yet closed").uncheck()
    expect(reports).to_have_count(0)
    expect(page.locator("#city-map path.map-cell.layer-proposals").first).to_be_attached()
    page.get_by_label("Reports not yet closed").check()
    expect(reports.first).to_be_attached()


def _neighbourhood_with_a_sensor(base_url: str) -> tuple[str, str]:
    """The id and name of a neighbourhood where a public sensor stands (read from the platform's own layers)."""
    sensors = httpx.get(f"{base_url}/api/sensing/things.geojson", timeout=10).json()["features"]
    shapes = httpx.get(f"{base_url}/api/territory/neighbourhoods", timeout=10).json()["features"]
    for sensor in sensors:
        if sensor["properties"]["access"] != "public":
            continue
        point = Point(sensor["geometry"]["coordinates"])
        for feature in shapes:
            if shape(feature["geometry"]).contains(point):
                return str(feature["properties"]["id"]), str(feature["properties"]["name"])
    raise AssertionError("no public sensor stands in a neighbourhood of the demo city")


@pytest.mark.parametrize(
    ("browser_locale", "headings", "colon"),
    [
        ("en-GB", ("Open reports", "Participation running here", "Sensors"), ":"),
        ("fr-FR", ("Signalements non clos", "Participation en cours ici", "Capteurs"), "\u00a0:"),
    ],
)
def test_the_quartier_panel_says_what_the_platform_knows_there(
    new_page: NewPage, live_server: str, browser_locale: str, headings: tuple[str, str, str], colon: str
) -> None:
    neighbourhood_id, name = _neighbourhood_with_a_sensor(live_server)
    page = new_page(browser_locale)
    page.goto("/")
    expect(page.locator("#city-map")).to_have_attribute("data-loaded", re.compile(r"^[1-9]\d*$"))
    page.locator(f'#city-map path[data-neighbourhood-id="{neighbourhood_id}"]').focus()
    page.keyboard.press("Enter")
    panel = page.locator("#neighbourhood-panel")
    expect(panel.locator("h2")).to_have_text(name)
    for section, heading in zip(("reports", "processes", "sensors"), headings, strict=True):
        expect(panel.locator(f"#panel-{section} h3")).to_have_text(heading)
    # Each open report category links to the reports list of the quartier, each sensor to its page, with its values.
    expect(panel.locator(f"#panel-reports a[href='/reports?neighbourhood={neighbourhood_id}']")).to_be_visible()
    sensor = panel.locator("#panel-sensors a[href^='/sensing/things/']").first
    expect(sensor).to_be_visible()
    # "NO2 : 41,5" in French, with a no-break space before the colon (Playwright's text checks fold it into a space).
    reading = panel.locator("#panel-sensors li li").first
    expect(reading).to_be_visible()
    assert colon in reading.inner_text()
    sensor.click()
    expect(page).to_have_url(re.compile(r"/sensing/things/\d+$"))


def test_a_followed_report_is_listed_on_the_follows_page_with_its_status(new_page: NewPage, live_server: str) -> None:
    found = httpx.get(f"{live_server}/api/reports", params={"limit": 1, "status": "open"}, timeout=10).json()
    report = found["reports"][0]
    page = new_page("en-GB")
    log_in(page, CITIZEN)
    page.goto(f"/reports/{report['id']}")
    follow = page.locator("#follow button[type=submit]")
    if follow.inner_text().strip() == "Stop following":  # another run of this test on the same server
        follow.click()
    page.locator("#follow input[name=action][value=follow]").wait_for(state="attached")
    page.locator("#follow button[type=submit]").click()

    page.goto("/account/follows")
    listed = page.locator("#followed-reports li", has_text=f"#{report['id']}")
    expect(listed.get_by_role("link")).to_have_attribute("href", f"/reports/{report['id']}")
    expect(listed).to_contain_text("(open)")
    listed.get_by_role("button", name="Stop following").click()
    expect(page).to_have_url(re.compile(r"/account/follows$"))
    expect(page.locator("#followed-reports li", has_text=f"#{report['id']}")).to_have_count(0)
