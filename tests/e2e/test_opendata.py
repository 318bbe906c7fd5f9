"""The open-data catalogue in a real browser, in French and in English: from the site's navigation to the catalogue,
a search and a facet, a dataset's page with the map of its extent, its previews (a table with its column types, a
chart of the time series, a map of the GeoJSON's places) and a download. The dataset is published through the CKAN
API with a token made on the admin page, as a city's publisher would. Also an accessibility check of the pages."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_journey import axe_problems
from tests.e2e.test_sensing import log_in_as_admin

pytestmark = pytest.mark.e2e

NewPage = Callable[[str], Page]

expect.set_options(timeout=15_000)

ROWS = 150
SERIES_CSV = "mesure_le,no2\n" + "".join(
    f"2026-11-{1 + hour // 24:02d}T{hour % 24:02d}:00:00Z,{20 + (hour % 24) / 2:.1f}\n" for hour in range(ROWS)
)
PLACES = {
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": {"nom": name}}
        for lon, lat, name in ((2.35, 48.86, "Capteur du parc"), (2.37, 48.87, "Capteur de la gare"))
    ],
}
EXTENT = {"type": "Polygon", "coordinates": [[[2.3, 48.83], [2.4, 48.83], [2.4, 48.89], [2.3, 48.89], [2.3, 48.83]]]}


def write_token(page: Page) -> str:
    page.goto("/admin/tokens")
    page.locator("#token-name").fill("Publication e2e")
    page.locator("input[name=scopes][value='opendata:write']").check()
    page.locator("form[action='/admin/tokens'] button[type=submit]").click()
    secret = page.locator("#new-token").inner_text().strip()
    assert secret.startswith("cit_")
    return secret


def publish_dataset(base_url: str, token: str, name: str) -> None:
    """A dataset with a time series (CSV) and places (GeoJSON), published through the CKAN Action API."""
    headers = {"Authorization": token}
    with httpx.Client(base_url=f"{base_url}/api/3/action", headers=headers, timeout=30) as api:
        organization = api.post(
            "/organization_create",
            json={"name": f"{name}-org", "title": "Observatoire de l’air", "title_en": "Air observatory"},
        )
        assert organization.status_code == 200, organization.text
        package = api.post(
            "/package_create",
            json={
                "name": name,
                "title": "Zéphyrmètre : qualité de l’air",
                "title_en": "Zephyrmeter: air quality",
                "notes": "Mesures **horaires** du dioxyde d’azote.",
                "notes_en": "**Hourly** nitrogen dioxide readings.",
                "owner_org": f"{name}-org",
                "license_id": "odc-odbl",
                "groups": [{"name": "envi"}],
                "tags": [{"name": "air"}],
                "extras": [
                    {"key": "spatial", "value": json.dumps(EXTENT)},
                    {"key": "frequency", "value": "HOURLY"},
                ],
            },
        )
        assert package.status_code == 200, package.text
        for filename, body, fmt in (
            ("no2.csv", SERIES_CSV.encode(), "CSV"),
            ("capteurs.geojson", json.dumps(PLACES).encode(), "GeoJSON"),
        ):
            resource = api.post(
                "/resource_create",
                data={"package_id": name, "name": filename, "format": fmt},
                files={"upload": (filename, body)},
            )
            assert resource.status_code == 200, resource.text


@pytest.mark.parametrize(
    ("browser_locale", "texts"),
    [
        ("fr-FR", {"nav": "Données ouvertes", "download": "Télécharger (CSV)"}),
        ("en-GB", {"nav": "Open data", "download": "Download (CSV)"}),
    ],
)
def test_from_the_catalogue_to_a_dataset_its_previews_and_a_download(
    new_page: NewPage, live_server: str, browser_locale: str, texts: dict[str, str]
) -> None:
    admin = new_page("en-GB")
    log_in_as_admin(admin)
    name = f"zephyrmetre-{browser_locale.lower()}"
    publish_dataset(live_server, write_token(admin), name)

    page = new_page(browser_locale)
    page.goto("/")
    page.get_by_role("link", name=texts["nav"], exact=True).click()
    expect(page).to_have_url(re.compile(r"/data$"))
    page.locator("#catalogue-q").fill("zéphyrmètre")
    page.locator("form.catalogue-search button[type=submit]").click()
    expect(page.locator(f"a[href='/data/{name}']")).to_be_visible()
    # A facet narrows the search: the GeoJSON format keeps the dataset, and shows as chosen.
    page.locator("[data-facet=res_format] a[data-value=GEOJSON]").click()
    expect(page.locator("[data-facet=res_format] a.chosen")).to_have_attribute("data-value", "GEOJSON")
    dataset_link = page.locator(f"a[href='/data/{name}']")
    expect(dataset_link).to_be_visible()
    dataset_link.click()

    expect(page).to_have_url(re.compile(rf"/data/{name}$"))
    expect(page.locator("#dataset-extent")).to_have_attribute("data-ready", "true")
    csv_resource = page.locator("article.resource[data-format=CSV]")
    table = csv_resource.locator("table.preview-table")
    expect(table).to_have_attribute("data-rows", "100")
    expect(table.locator("tbody tr")).to_have_count(100)
    expect(table.locator("thead th[data-type=datetime]")).to_contain_text("mesure_le")
    expect(table.locator("thead th[data-type=number]")).to_contain_text("no2")
    chart = csv_resource.locator(".preview-chart")
    expect(chart).to_have_attribute("data-ready", "true")
    expect(chart).to_have_attribute("data-points", str(ROWS))
    expect(chart.locator("canvas").first).to_be_visible()
    places = page.locator("article.resource[data-format=GEOJSON] .preview-map")
    expect(places).to_have_attribute("data-ready", "true")
    expect(places).to_have_attribute("data-features", "2")
    expect(places.locator(".leaflet-interactive")).to_have_count(2)

    download_link = csv_resource.get_by_role("link", name=texts["download"])
    with page.expect_download() as download:
        download_link.click()
    assert Path(download.value.path()).read_text(encoding="utf-8") == SERIES_CSV
    assert download.value.suggested_filename == "no2.csv"

    problems = axe_problems(page, f"dataset ({browser_locale})")
    page.goto("/data")
    expect(page.locator("#result-count")).to_have_attribute("data-count", re.compile(r"^[1-9]\d*$"))
    problems += axe_problems(page, f"catalogue ({browser_locale})")
    page.goto("/data/privacy")
    problems += axe_problems(page, f"privacy ledger ({browser_locale})")
    assert not problems, "\n".join(problems)
