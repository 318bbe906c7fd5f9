"""A citizen's journey through the demo city in a real browser, and an accessibility check with axe-core.

The fixtures (conftest.py) serve a small demo city and run each test body in the Playwright thread.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Locator, Page, expect

pytestmark = pytest.mark.e2e

NewPage = Callable[[str], Page]

NEIGHBOURHOOD_COUNT = 80
PASSWORD = "Quai-des-Orfevres-36-Maigret"
ADMIN_EMAIL = "admin@demo.citoyen.example"
ADMIN_PASSWORD = "mairie-ville-lumiere"
AXE_SCRIPT = Path(__file__).parent / "vendor" / "axe-core-4.11.0" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")

SHAPES = "#city-map path[data-neighbourhood-id]"
# The id of a neighbourhood whose shape is what a click at the centre of its bounding box hits
# (Playwright clicks there; the centre of a concave shape can belong to a neighbour).
FIND_CLICKABLE_SHAPE = """
(selector) => {
  for (const path of document.querySelectorAll(selector)) {
    const box = path.getBoundingClientRect();
    const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
    if (hit === path) return path.getAttribute("data-neighbourhood-id");
  }
  return null;
}
"""

expect.set_options(timeout=15_000)


def fresh_email() -> str:
    return f"e2e-{uuid.uuid4().hex[:12]}@example.org"


def wait_for_map(page: Page) -> None:
    expect(page.locator("#city-map")).to_have_attribute("data-loaded", str(NEIGHBOURHOOD_COUNT))
    expect(page.locator(SHAPES)).to_have_count(NEIGHBOURHOOD_COUNT)
    # Sensor markers arrive after the shapes and may cover one; a shape is picked for a click once they are drawn.
    expect(page.locator("#city-map")).to_have_attribute("data-sensors-loaded", re.compile(r"^\d+$"))


def clickable_shape_id(page: Page) -> str:
    found = page.evaluate(FIND_CLICKABLE_SHAPE, SHAPES)
    assert isinstance(found, str), "no neighbourhood shape can be clicked at the centre of its bounding box"
    return found


def shape(page: Page, neighbourhood_id: str) -> Locator:
    return page.locator(f'{SHAPES}[data-neighbourhood-id="{neighbourhood_id}"]')


def sign_up(page: Page, email: str, display_name: str) -> None:
    page.goto("/signup")
    page.locator("#email").fill(email)
    page.locator("#display_name").fill(display_name)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/signup'] button[type=submit]").click()
    # The account is made when the link mailed to the address is followed; the demo keeps mail in its outbox.
    expect(page.get_by_role("status")).to_contain_text(email)
    # The mailed link names the platform's configured address; the test server listens elsewhere.
    page.goto(urlsplit(mailed_link(page, email)).path)
    page.locator("form[action^='/login/link/'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/account$"))


def mailed_link(page: Page, email: str) -> str:
    """The link of the newest mail to `email`, read in the demo outbox by an administrator in a browser of
    their own."""
    browser = page.context.browser
    assert browser is not None
    address = urlsplit(page.url)
    context = browser.new_context(base_url=f"{address.scheme}://{address.netloc}")
    try:
        admin = context.new_page()
        admin.goto("/login")
        admin.locator("#email").fill(ADMIN_EMAIL)
        admin.locator("#password").fill(ADMIN_PASSWORD)
        admin.locator("form[action='/login'] button[type=submit]").click()
        admin.goto("/admin/outbox")
        message = admin.locator("article.card", has_text=email).first
        link = message.locator("a[href*='/login/link/']").first.get_attribute("href")
        assert link, f"no link mailed to {email}"
        return link
    finally:
        context.close()


def test_citizen_journey(new_page: NewPage, tmp_path: Path) -> None:
    page = new_page("fr-FR")

    # The home page draws the 80 quartiers of the demo city, in French by default.
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    wait_for_map(page)
    screenshot = tmp_path / "home-map.png"
    page.screenshot(path=screenshot, full_page=True)
    print(f"home page screenshot: {screenshot}")

    # A click on a shape loads its panel.
    first_id = clickable_shape_id(page)
    first = shape(page, first_id)
    first_name = first.get_attribute("aria-label")
    assert first_name
    first.click()
    expect(page.locator("#neighbourhood-panel h2")).to_have_text(first_name)

    # So does Enter on a shape reached with the keyboard.
    second = page.locator(f'{SHAPES}:not([data-neighbourhood-id="{first_id}"])').first
    second_name = second.get_attribute("aria-label")
    assert second_name and second_name != first_name
    second.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#neighbourhood-panel h2")).to_have_text(second_name)

    # Sign up with a fresh address and a strong password.
    email = fresh_email()
    sign_up(page, email, "Promeneuse du canal")
    expect(page.locator(".flash-success")).to_be_visible()
    expect(page.locator("main")).to_contain_text(email)

    # Switch to English: the same page comes back in English.
    switch = page.locator("button[name=locale]")
    expect(switch).to_have_text("English")
    switch.click()
    expect(page).to_have_url(re.compile(r"/account$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("link", name="My account", exact=True)).to_be_visible()
    expect(page.locator("h1")).to_have_text("My account")
    expect(page.locator("button[name=locale]")).to_have_text("Français")

    # Download my data, as JSON then as a zip of CSV files.
    with page.expect_download() as json_download:
        page.locator("a[href='/account/export.json']").click()
    export = json.loads(Path(json_download.value.path()).read_text(encoding="utf-8"))
    assert export["domains"]["people"]["tables"]["account"][0]["email"] == email

    with page.expect_download() as zip_download:
        page.locator("a[href='/account/export.zip']").click()
    with zipfile.ZipFile(zip_download.value.path()) as archive:
        names = archive.namelist()
        assert "export.json" in names and "people/account.csv" in names, names
        rows = list(csv.DictReader(io.StringIO(archive.read("people/account.csv").decode("utf-8"))))
    assert [row["email"] for row in rows] == [email]

    # Erase the account, confirming with the password.
    page.locator("#erase-password").fill(PASSWORD)
    page.get_by_role("button", name="Erase my account").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator(".flash-success")).to_contain_text("Your account and your personal data have been erased.")
    expect(page.get_by_role("link", name="Log in", exact=True)).to_be_visible()

    # The account is gone: logging in with it fails.
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator("#form-errors")).to_contain_text("Wrong e-mail address or password.")
    expect(page.get_by_role("link", name="My account", exact=True)).to_have_count(0)


def axe_problems(page: Page, label: str) -> list[str]:
    """Run axe-core on the current page; describe each violation of serious or critical impact."""
    # Evaluated through the browser's debugging protocol, which the page's Content Security Policy does not
    # govern (a script element would be refused, as it should be).
    page.evaluate(AXE_SCRIPT.read_text())
    results: dict[str, Any] = page.evaluate("axe.run()")
    problems = []
    for violation in results["violations"]:
        if violation["impact"] not in BLOCKING_IMPACTS:
            continue
        targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]]
        problems.append(
            f"{label}: {violation['id']} ({violation['impact']}): {violation['help']}\n"
            + "".join(f"    {target}\n" for target in targets)
        )
    return problems


@pytest.mark.parametrize(("browser_locale", "lang"), [("fr-FR", "fr"), ("en-GB", "en")])
def test_pages_have_no_serious_accessibility_violations(new_page: NewPage, browser_locale: str, lang: str) -> None:
    page = new_page(browser_locale)
    problems: list[str] = []

    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    wait_for_map(page)
    shape(page, clickable_shape_id(page)).click()
    expect(page.locator("#neighbourhood-panel dl")).to_be_visible()
    problems += axe_problems(page, f"home ({lang})")

    for path in ("/signup", "/login", "/privacy"):
        page.goto(path)
        problems += axe_problems(page, f"{path} ({lang})")

    sign_up(page, fresh_email(), "")
    problems += axe_problems(page, f"/account ({lang})")

    report = "".join(problems)
    if report:
        print(report)
    assert not problems, "axe-core found serious or critical accessibility violations:\n" + report
