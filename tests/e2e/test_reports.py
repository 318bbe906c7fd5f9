"""Reporting a problem in a real browser, on a phone-sized screen: the pin on the map, the duplicate
suggestion, a photo, then the city's staff close the report and the reporter's page shows the answer.
Also an accessibility check of the reports pages with axe-core.

The demo city of these tests has one report category routed to the "voirie" department (conftest.py).
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import FilePayload, Page, ViewportSize, expect

from tests.e2e.conftest import E2E_REPORT_CATEGORY
from tests.e2e.test_journey import axe_problems

pytestmark = pytest.mark.e2e

NewPage = Callable[[str], Page]

PHONE: ViewportSize = {"width": 390, "height": 844}
STAFF_EMAIL = "voirie@demo.citoyen.example"
STAFF_PASSWORD = "nid-de-poule-rebouche"
ANSWER = "The hole was filled this morning."

expect.set_options(timeout=15_000)


@pytest.fixture(scope="session")
def live_server(reports_live_server: str) -> str:
    """The pages of this module come from the demo city that has a report category."""
    return reports_live_server


def phone(new_page: NewPage) -> Page:
    page = new_page("en-GB")
    page.set_viewport_size(PHONE)
    return page


def photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), "darkorange").save(buffer, format="JPEG")
    return buffer.getvalue()


def open_form(page: Page) -> None:
    page.goto("/reports/new")
    expect(page.locator("#report-map")).to_have_attribute("data-loaded", "true")


def choose_category_and_place_pin(page: Page) -> None:
    page.locator("#category").select_option(E2E_REPORT_CATEGORY)
    expect(page.get_by_label("Large")).to_be_visible()  # the category's question, loaded with htmx
    # A click at the middle of the map: the same place for everyone with the same screen.
    page.locator("#report-map").click()
    expect(page.locator("#lon")).not_to_have_value("")
    expect(page.locator("#lat")).not_to_have_value("")


def reference_of(page: Page) -> int:
    expect(page).to_have_url(re.compile(r"/reports/\d+$"))
    match = re.search(r"/reports/(\d+)$", page.url)
    assert match
    return int(match.group(1))


def file_a_report(page: Page) -> int:
    open_form(page)
    choose_category_and_place_pin(page)
    page.get_by_label("Small").check()
    page.get_by_role("button", name="Send the report").click()
    return reference_of(page)


def test_a_citizen_reports_a_problem_that_staff_close(new_page: NewPage, tmp_path: Path) -> None:
    # A neighbour reported the problem just before, at the same place.
    first = file_a_report(phone(new_page))

    # An anonymous citizen on a phone: category, pin on the map, then the duplicate suggestion.
    citizen = phone(new_page)
    open_form(citizen)
    choose_category_and_place_pin(citizen)
    duplicates = citizen.locator("#duplicates")
    expect(duplicates).to_contain_text(f"Report #{first}")
    expect(duplicates.get_by_role("button", name="Support this one instead")).to_be_visible()
    problems = axe_problems(citizen, "/reports/new (en)")

    # Filed anyway, with a photo and an e-mail address to be told of updates.
    citizen.get_by_label("Large").check()
    citizen.locator("#description").fill("A deep hole in the cycle lane.")
    hole: FilePayload = {"name": "hole.jpg", "mimeType": "image/jpeg", "buffer": photo()}
    citizen.locator("#photos").set_input_files(files=[hole])
    citizen.locator("#email").fill(f"e2e-{uuid.uuid4().hex[:12]}@example.org")
    screenshot = tmp_path / "report-form.png"
    citizen.screenshot(path=screenshot, full_page=True)
    print(f"report form screenshot: {screenshot}")
    citizen.get_by_role("button", name="Send the report").click()
    report = reference_of(citizen)
    assert report != first
    expect(citizen.locator("h1")).to_contain_text(f"Report #{report}")
    expect(citizen.locator(".report-status")).to_contain_text("open")
    image = citizen.locator(f'img[src="/reports/{report}/photos/1"]')
    expect(image).to_be_visible()
    # The photo may still be decoding when it becomes visible: wait for it rather than read it once.
    citizen.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    assert citizen.evaluate("(img) => img.naturalWidth", image.element_handle()) == 320
    expect(citizen.locator("#report-pin-map")).to_have_attribute("data-loaded", "true")
    problems += axe_problems(citizen, f"/reports/{report} (en)")

    # The roads department's staff member closes it as fixed, with a public answer.
    staff = new_page("en-GB")
    staff.goto("/login")
    staff.locator("#email").fill(STAFF_EMAIL)
    staff.locator("#password").fill(STAFF_PASSWORD)
    staff.locator("form[action='/login'] button[type=submit]").click()
    staff.get_by_role("link", name="Reports to handle").click()
    staff.locator("#filter-category").select_option(E2E_REPORT_CATEGORY)
    staff.get_by_role("button", name="Show").click()
    staff.get_by_role("link", name=f"Report #{report}", exact=True).click()
    expect(staff.locator("h1")).to_contain_text(f"Report #{report}")
    staff.locator("#status").select_option("closed")
    staff.locator("#close_reason").select_option("fixed")
    staff.locator("#public_answer").fill(ANSWER)
    staff.get_by_role("button", name="Save").click()
    expect(staff.locator(".flash-success")).to_contain_text("The report has been updated.")

    # The reporter's page now shows the answer and the closed status.
    citizen.reload()
    expect(citizen.locator(".report-status")).to_contain_text("closed (fixed)")
    expect(citizen.locator(".answer")).to_contain_text(ANSWER)
    expect(citizen.locator(".history")).to_contain_text(ANSWER)

    report_text = "".join(problems)
    if report_text:
        print(report_text)
    assert not problems, "axe-core found serious or critical accessibility violations:\n" + report_text


def test_placing_the_pin_without_a_pointer(new_page: NewPage) -> None:
    page = phone(new_page)
    open_form(page)
    # With the keyboard: Enter on the focused map places the pin at its centre.
    page.locator("#report-map").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#lon")).not_to_have_value("")
    expect(page.locator("#location-status")).to_contain_text("The pin is placed")

    # With the device's location, once the citizen allows it.
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": 48.8606, "longitude": 2.3376})
    page.get_by_role("button", name="Use my location").click()
    expect(page.locator("#lon")).to_have_value("2.337600")
    expect(page.locator("#lat")).to_have_value("48.860600")

    # When it is refused, the page says so.
    page.context.clear_permissions()
    page.get_by_role("button", name="Use my location").click()
    expect(page.locator("#location-status")).to_contain_text("Your location is not available")


def test_the_reports_map_counts_then_shows_each_report(new_page: NewPage) -> None:
    page = phone(new_page)
    reference = file_a_report(page)
    page.goto(f"/reports?category={E2E_REPORT_CATEGORY}")
    reports_map = page.locator("#reports-map")
    expect(reports_map).to_have_attribute("data-kind", "cells")
    problems = axe_problems(page, "/reports (en)")
    assert not problems, "axe-core found serious or critical accessibility violations:\n" + "".join(problems)

    # "See on the map" on the report opens the map close in around it, where each report is a point that
    # opens its page. A crowded close-up (zoom 16-17) shows ~100 m cells first: clicking one zooms in on it.
    page.goto(f"/reports/{reference}")
    page.get_by_role("link", name="See on the map").click()
    expect(reports_map).to_have_attribute("data-loaded", "true")
    for _ in range(2):
        page.wait_for_load_state("networkidle")  # the layer of the view reached
        if reports_map.get_attribute("data-kind") == "points":
            break
        reports_map.locator("path.leaflet-interactive").last.click()
        page.wait_for_timeout(600)
    expect(reports_map).to_have_attribute("data-kind", "points")
    point = reports_map.locator("path.leaflet-interactive").last  # drawn last, on top
    expect(point).to_be_visible()
    point.click()
    expect(page).to_have_url(re.compile(r"/reports/\d+$"))
