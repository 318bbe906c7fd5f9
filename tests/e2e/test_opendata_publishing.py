"""A publisher makes a dataset by hand in a real browser, in French and in English: the new dataset's form, an upload
whose row error is shown before anything is published, the fixed file's preview, "Publish", then the dataset
published and found in the catalogue by someone not signed in. (The demo's administrator publishes: administrators
hold the publisher's rights.) Also an accessibility check of the forms."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_journey import axe_problems
from tests.e2e.test_sensing import log_in_as_admin

pytestmark = pytest.mark.e2e

NewPage = Callable[[str], Page]

expect.set_options(timeout=15_000)

FIXED_CSV = "date,arbres,quartier\n" + "".join(f"2026-03-{day:02d},{day * 3},Centre\n" for day in range(1, 21))
# Line 12 of the file (the header is line 1) holds a date that does not exist.
BAD_CSV = FIXED_CSV.replace("2026-03-11,", "31/02/2026,")


@pytest.mark.parametrize(
    ("browser_locale", "texts"),
    [
        ("fr-FR", {"row": "Ligne 12, colonne «\u00a0date\u00a0»\u00a0: «\u00a031/02/2026\u00a0» n’est pas une date"}),
        ("en-GB", {"row": "Line 12, column “date”: “31/02/2026” is not a date"}),
    ],
)
def test_a_publisher_makes_a_dataset_fixes_its_file_and_publishes_it(
    new_page: NewPage, browser_locale: str, texts: dict[str, str]
) -> None:
    name = f"plantations-{browser_locale.lower()}"
    page = new_page(browser_locale)
    log_in_as_admin(page)

    page.goto("/data")
    page.locator("#new-dataset").click()
    expect(page).to_have_url(re.compile(r"/data/new$"))
    page.locator("#title").fill(f"Plantations d’arbres {browser_locale}")
    page.locator("#title_en").fill(f"Tree plantings {browser_locale}")
    page.locator("#name").fill(name)
    page.locator("#notes").fill("Les **plantations** de l’année.")
    page.locator("#owner_org").select_option(index=1)
    page.locator("input[name=groups][value=envi]").check()
    page.locator("#tags").fill("arbres, plantations")
    expect(page.locator("#private")).to_be_checked()
    problems = axe_problems(page, f"new dataset ({browser_locale})")
    page.locator("#save-dataset").click()

    expect(page).to_have_url(re.compile(rf"/data/{name}$"))
    expect(page.locator("#draft-notice")).to_be_visible()
    page.locator("#add-resource").click()
    expect(page).to_have_url(re.compile(rf"/data/{name}/resources/new$"))

    # A file with a bad date: the row's error, and no way to publish it.
    page.locator("#upload").set_input_files(
        {"name": "plantations.csv", "mimeType": "text/csv", "buffer": BAD_CSV.encode()}
    )
    page.locator("#check-upload").click()
    expect(page.locator("#upload-problems")).to_be_visible()
    expect(page.locator("#upload-problems li.row-problem")).to_have_count(1)
    expect(page.locator("#upload-problems li.row-problem")).to_have_text(texts["row"])
    expect(page.locator("#publish-upload")).to_have_count(0)
    problems += axe_problems(page, f"upload with a row error ({browser_locale})")

    # The fixed file: its columns, its preview and the button that publishes it.
    page.locator("#upload").set_input_files(
        {"name": "plantations.csv", "mimeType": "text/csv", "buffer": FIXED_CSV.encode()}
    )
    page.locator("#resource-name").fill("Plantations")
    page.locator("#resource-name-en").fill("Plantings")
    page.locator("#check-upload").click()
    expect(page.locator("#staged-upload")).to_be_visible()
    expect(page.locator("#detected-schema tbody tr")).to_have_count(3)
    expect(page.locator("#detected-schema tr[data-type=date]")).to_contain_text("date")
    expect(page.locator("#staged-upload table.preview-table")).to_have_attribute("data-rows", "20")
    expect(page.locator("#staged-upload .preview-chart")).to_have_attribute("data-ready", "true")
    problems += axe_problems(page, f"upload's preview ({browser_locale})")
    page.locator("#publish-upload").click()

    expect(page).to_have_url(re.compile(rf"/data/{name}/resources/[0-9a-f-]{{36}}$"))
    expect(page.locator("#resource-versions tbody tr")).to_have_count(1)
    page.goto(f"/data/{name}")
    page.locator("#publish-dataset").click()
    expect(page.locator("#draft-notice")).to_have_count(0)
    expect(page.locator("article.resource[data-format=CSV] table.preview-table")).to_have_attribute("data-rows", "20")

    # Published: anyone finds it in the catalogue.
    visitor = new_page(browser_locale)
    visitor.goto(f"/data?q={name.split('-')[0]}")
    expect(visitor.locator(f"a[href='/data/{name}']")).to_be_visible()
    assert not problems, "\n".join(problems)
