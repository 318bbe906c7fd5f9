"""Typing an address in the report form, in a real browser: suggestions as one types, the pin placed at the
address, and the address nearest to a pin shown under the field. The demo city imports the sample of Paris
addresses (src/citoyen/demo/data/addresses-paris-demo.csv, points placed for the demo)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

NewPage = Callable[[str], Page]

expect.set_options(timeout=15_000)

# The sample's points of 10 and 18 rue de Rivoli.
TEN = ("2.359789", "48.855875")
EIGHTEEN = (2.358067, 48.856350)


def test_a_typed_address_places_the_pin_and_a_pin_names_its_address(new_page: NewPage) -> None:
    page = new_page("en-GB")
    page.goto("/reports/new")
    expect(page.locator("#report-map")).to_have_attribute("data-loaded", "true")

    address = page.locator("#address")
    # A postcode typed moves the pin as one types, without leaving the field.
    address.press_sequentially("75019")
    expect(page.locator("#location-status")).to_contain_text("The pin is placed at the address")
    expect(page.locator("#lon")).not_to_have_value("")
    address.fill("10 rue de riv")
    expect(page.locator('#address-suggestions option[value="10 Rue de Rivoli, 75004 Paris"]')).to_have_count(1)

    address.fill("10 r. de rivoli")
    address.press("Tab")  # leaving the field (or choosing a suggestion) places the pin at once
    expect(page.locator("#lon")).to_have_value(TEN[0])
    expect(page.locator("#lat")).to_have_value(TEN[1])
    expect(page.locator("#location-status")).to_contain_text("The pin is placed at the address: 10 Rue de Rivoli")
    expect(page.locator("#report-map")).to_have_attribute("data-pin", f"{TEN[0]},{TEN[1]}")

    # A pin placed by the device's location: the nearest address is said under the field.
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": EIGHTEEN[1], "longitude": EIGHTEEN[0] - 0.0001})
    page.get_by_role("button", name="Use my location").click()
    expect(page.locator("#address-near")).to_have_text("Near 18 Rue de Rivoli, 75004 Paris")
    # What the person typed stays: only an empty field (or one the pin filled) takes the nearest address.
    expect(address).to_have_value("10 r. de rivoli")
