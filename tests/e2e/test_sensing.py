"""The demo city's sensors in a real browser: the sensors layer of the map with its toggles, a sensor's page with
its chart and table, and a reading posted by a device (with a token made on the admin page) arriving live.
Also an accessibility check of these pages with axe-core."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_journey import ADMIN_EMAIL, ADMIN_PASSWORD, axe_problems

pytestmark = pytest.mark.e2e

NewPage = Callable[[str], Page]

expect.set_options(timeout=15_000)


def log_in_as_admin(page: Page) -> None:
    page.goto("/login")
    page.locator("#email").fill(ADMIN_EMAIL)
    page.locator("#password").fill(ADMIN_PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    expect(page.get_by_role("link", name="Administration", exact=True)).to_be_visible()


def device_token(page: Page) -> str:
    page.goto("/admin/sensing")
    page.locator("#device-token-name").fill("Station test e2e")
    page.get_by_role("button", name="Create the device token").click()
    secret = page.locator("#new-token").inner_text().strip()
    assert secret.startswith("cit_")
    return secret


def test_a_sensor_from_the_map_shows_its_chart_and_a_new_reading_arrives_live(
    new_page: NewPage, live_server: str
) -> None:
    admin = new_page("en-GB")
    log_in_as_admin(admin)
    secret = device_token(admin)

    page = new_page("en-GB")
    page.goto("/")
    expect(page.locator("#city-map")).to_have_attribute("data-sensors-loaded", re.compile(r"^[1-9]\d*$"))
    air_markers = page.locator(".sensor-marker[data-kind='air']")
    expect(air_markers.first).to_be_visible()
    # The legend's toggles hide and show a kind of sensor.
    bikes = page.locator(".sensor-marker[data-kind='mobility']")
    expect(bikes.first).to_be_visible()
    page.locator("#sensors-mobility").uncheck()
    expect(bikes).to_have_count(0)
    page.locator("#sensors-mobility").check()
    expect(bikes.first).to_be_visible()

    air_markers.first.click()
    page.locator(".leaflet-popup a.sensor-link").click()
    expect(page).to_have_url(re.compile(r"/sensing/things/\d+$"))
    expect(page.locator("#sensor-chart canvas").first).to_be_visible()
    expect(page.locator("#sensor-chart")).to_have_attribute("data-points", re.compile(r"^[1-9]\d*$"))
    expect(page.locator("#live-status")).to_have_attribute("data-connected", "true")

    datastream_id = page.locator("#chart-datastream").input_value()
    response = httpx.post(
        f"{live_server}/sta/v1.1/Datastreams({datastream_id})/Observations",
        json={"result": 777.77},
        headers={"Authorization": f"Bearer {secret}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    # Written as the page's language writes it: "777,77" in French, "777.77" in English.
    latest = page.locator(f"[data-datastream='{datastream_id}'] [data-latest-value]")
    expect(latest).to_have_text(re.compile(r"^777[.,]77$"))
    page.locator("#chart-table-wrapper summary").click()
    expect(page.locator("#chart-table tbody tr").first).to_contain_text(re.compile(r"777[.,]77"))


@pytest.mark.parametrize("browser_locale", ["fr-FR", "en-GB"])
def test_sensor_pages_have_no_serious_accessibility_violations(new_page: NewPage, browser_locale: str) -> None:
    page = new_page(browser_locale)
    problems: list[str] = []
    page.goto("/")
    expect(page.locator("#city-map")).to_have_attribute("data-sensors-loaded", re.compile(r"^[1-9]\d*$"))
    problems += axe_problems(page, "/ with sensors")
    href = page.evaluate(
        "fetch('/api/sensing/things.geojson').then(r => r.json()).then(c => c.features[0].properties.url)"
    )
    page.goto(href)
    expect(page.locator("#sensor-chart canvas").first).to_be_visible()
    # The chart's legend reads the value and the time under the cursor as the page's language writes them.
    page.locator("#sensor-chart .u-over").hover()
    legend = page.locator("#sensor-chart .u-legend .u-series .u-value")
    if browser_locale == "fr-FR":
        # "7 déc. 2026, 10:18" (Intl may write its spaces as no-break ones); "3,8" or "1 234,5".
        # (Playwright runs the pattern as a JavaScript one, whose \w knows no "é": the month is \S+.)
        expect(legend.nth(0)).to_have_text(re.compile(r"^\d{1,2}\s\S+\s\d{4}(\sà|,)\s\d\d:\d\d$"))
        expect(legend.nth(1)).to_have_text(re.compile(r"^-?\d{1,3}(\s\d{3})*(,\d+)?$"))
    else:
        expect(legend.nth(0)).to_have_text(re.compile(r"^\w{3} \d{1,2}, \d{4}, \d{1,2}:\d\d [AP]M$"))
        expect(legend.nth(1)).to_have_text(re.compile(r"^-?[\d,]+(\.\d+)?$"))
    page.locator("#chart-table-wrapper summary").click()
    problems += axe_problems(page, href)
    log_in_as_admin(page)
    page.goto("/admin/sensing")
    problems += axe_problems(page, "/admin/sensing")
    assert not problems, "\n".join(problems)
