"""The indicators in a real browser, in French and English: the map of the quartiers coloured by an indicator,
a click to a quartier's page, its chart redrawn at another step, with the city overlaid, and the CSV of what it
shows. The pages say when they have drawn (data-ready attributes): the test waits for those, never for time."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

NewPage = Callable[[str], Page]

expect.set_options(timeout=15_000)


def open_quartier_with_bicycles(page: Page) -> None:
    page.goto("/indicators")
    expect(page.locator("#indicator-map")).to_have_attribute("data-ready", re.compile(r"^[1-9]\d*$"))
    values = json.loads(page.locator("#indicator-map").get_attribute("data-values") or "{}")
    quartier = next(iter(values["mobility-bicycles"]))
    page.locator("#map-indicator").select_option("mobility-bicycles")
    expect(page.locator("#indicator-map")).to_have_attribute("data-indicator", "mobility-bicycles")
    page.locator(f"path[data-neighbourhood-id='{quartier}']").click()
    expect(page).to_have_url(re.compile(rf"/indicators/quartiers/{quartier}$"))


def test_the_indicators_and_a_quartier_chart_in_french(new_page: NewPage) -> None:
    page = new_page("fr-FR")
    page.goto("/indicators")
    expect(page.get_by_role("heading", name="Les indicateurs de la ville")).to_be_visible()
    expect(page.locator("[data-indicator='air-no2'] h3")).to_have_text("NO2 (moyenne journalière)")
    expect(page.locator("[data-simulated]").first).to_contain_text("Données simulées")
    open_quartier_with_bicycles(page)

    chart = page.locator("#indicator-chart-app")
    expect(chart).to_have_attribute("data-ready", re.compile(r"^air-atmo:day:none$|^air-no2:day:none$|^mobility"))
    page.locator("#chart-indicator").select_option("mobility-bicycles")
    expect(chart).to_have_attribute("data-ready", "mobility-bicycles:day:none")
    page.locator("#chart-step").select_option("hour")
    expect(chart).to_have_attribute("data-ready", "mobility-bicycles:hour:none")
    page.locator("#chart-compare").select_option("city")
    expect(chart).to_have_attribute("data-ready", "mobility-bicycles:hour:city")
    expect(page.locator("#indicator-chart .u-legend")).to_contain_text("Ville")
    with page.expect_download() as download:
        page.locator("#chart-csv").click()
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "start_utc,value,city_value"
    assert len(lines) > 24


def test_a_quartier_chart_in_english_at_another_step_with_the_previous_period(new_page: NewPage) -> None:
    page = new_page("en-GB")
    open_quartier_with_bicycles(page)
    expect(page.get_by_role("heading", name=re.compile(r": indicators$"))).to_be_visible()
    chart = page.locator("#indicator-chart-app")
    page.locator("#chart-indicator").select_option("mobility-bicycles")
    expect(chart).to_have_attribute("data-ready", "mobility-bicycles:day:none")
    page.locator("#chart-step").select_option("week")
    page.locator("#chart-compare").select_option("previous")
    expect(chart).to_have_attribute("data-ready", "mobility-bicycles:week:previous")
    expect(page.locator("#chart-summary")).to_contain_text("Period shown (UTC):")
    expect(page.locator("#indicator-chart canvas")).to_be_visible()
