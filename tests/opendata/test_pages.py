"""The open-data catalogue's pages as a reader uses them: searching, filtering by facets, sorting and paging the
catalogue, a dataset's page with its resources, versions and previews, drafts hidden from the public, and the
privacy ledger, in French and English."""

from __future__ import annotations

import html
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.opendata import service as opendata
from citoyen.opendata.privacy import LedgerEntry
from citoyen.opendata.views import PAGE_SIZE, render_markdown
from citoyen.people.models import Role
from tests.factories import create_person, log_in

EN = {"Accept-Language": "en"}
FR = {"Accept-Language": "fr"}
AIR_CSV = "mesure_le,no2,station\n" + "".join(
    f"2026-11-{day:02d}T{hour:02d}:00:00Z,{10 + day + hour / 10:.1f},Belleville\n"
    for day in range(1, 7)
    for hour in range(0, 24)
)
PLACES = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [2.35, 48.86]},
            "properties": {"nom": "Fontaine"},
        },
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [2.36, 48.87]}, "properties": {"nom": "Banc"}},
    ],
}
EXTENT = '{"type":"Polygon","coordinates":[[[2.25,48.82],[2.42,48.82],[2.42,48.9],[2.25,48.9],[2.25,48.82]]]}'


@dataclass
class Catalogue:
    air: str
    csv_uuid: str
    geojson_uuid: str
    first_version_name: str


async def _dataset(session: AsyncSession, **fields: object) -> str:
    data = {"license_id": "etalab-2.0", **fields}
    return (await opendata.save_dataset(session, await opendata.check_dataset(session, data))).name


async def _upload(
    session: AsyncSession, settings: Settings, dataset: str, name: str, filename: str, body: bytes
) -> opendata.ResourceView:
    return await opendata.create_resource(
        session,
        settings.opendata_path,
        10_000_000,
        {"package_id": dataset, "name": name},
        opendata.Upload(filename, io.BytesIO(body)),
    )


@pytest.fixture
async def catalogue(session: AsyncSession, settings: Settings) -> Catalogue:
    environment = await opendata.create_organization(
        session, "environnement", "Direction de l’environnement", "Environment department"
    )
    roads = await opendata.create_organization(session, "voirie", "Direction de la voirie", "Roads department")
    air = await _dataset(
        session,
        name="qualite-air",
        title="Qualité de l’air",
        title_en="Air quality",
        notes="Mesures **horaires** du dioxyde d’azote.\n\n<script>alert('x')</script>\n\n[lien](javascript:alert(1))",
        notes_en="Hourly **nitrogen dioxide** readings.",
        owner_org=environment.name,
        tags=[{"name": "air"}, {"name": "pollution"}],
        groups=[{"name": "envi"}],
        frequency="DAILY",
        temporal_start="2026-11-01",
        temporal_end="2026-11-06",
        spatial=EXTENT,
    )
    csv = await _upload(
        session, settings, air, "Mesures (ancien)", "mesures.csv", b"mesure_le,no2\n2026-10-01T00:00:00Z,3\n"
    )
    await opendata.update_resource(
        session,
        settings.opendata_path,
        10_000_000,
        {"id": csv.resource.uuid, "name": "Mesures", "name_en": "Readings"},
        opendata.Upload("mesures-novembre.csv", io.BytesIO(AIR_CSV.encode())),
    )
    places = await _dataset(
        session, name="mobilier-urbain", title="Mobilier urbain", title_en="Street furniture", owner_org=roads.name,
        tags=[{"name": "voirie"}], groups=[{"name": "regi"}], license_id="odc-odbl",
    )  # fmt: skip
    geojson = await _upload(session, settings, places, "Mobilier", "mobilier.geojson", json.dumps(PLACES).encode())
    for number in range(1, 26):  # enough for two pages of the catalogue
        await _dataset(session, name=f"budget-{number:02d}", title=f"Budget {number:02d}", owner_org=roads.name)
    await _dataset(session, name="brouillon", title="Brouillon secret", owner_org=roads.name, private=True)
    for period, epsilon in (("2026-W48", 0.5), ("2026-W48", 0.25), ("2026-W49", 1.0)):
        entry = LedgerEntry(
            air, "", datetime(2026, 12, 1, tzinfo=UTC), period, "laplace", epsilon, None, "Comptes", "Counts"
        )
        await opendata.record_release(session, entry)
    await opendata.record_release(
        session,
        LedgerEntry(places, "", datetime(2026, 12, 2, tzinfo=UTC), "2026-11", "min_cell_size", None, 10, "", ""),
    )
    await session.commit()
    return Catalogue(air, csv.resource.uuid, geojson.resource.uuid, "mesures.csv")


def _names(page: str) -> list[str]:
    return re.findall(r'<h3><a href="/data/([a-z0-9_-]+)">', page)


def _count(page: str) -> int:
    match = re.search(r'id="result-count" data-count="(\d+)"', page)
    assert match, "no result count"
    return int(match.group(1))


async def test_the_catalogue_lists_public_datasets_with_count_facets_and_pages(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    response = await client.get("/data", headers=FR)

    assert response.status_code == 200
    page = response.text
    assert _count(page) == 27  # every public dataset, the draft left out
    assert "brouillon" not in _names(page) and len(_names(page)) == PAGE_SIZE
    assert "27 jeux de données" in page
    # Facets count the matching datasets and link to the catalogue with the filter added.
    assert re.search(r'href="/data\?groups=envi"[^>]*>Environnement</a> <span class="facet-count">\(1\)', page)
    assert re.search(
        r'href="/data\?organization=voirie"[^>]*>Direction de la voirie</a> <span class="facet-count">\(26\)', page
    )
    assert 'href="/data?res_format=CSV"' in page and 'href="/data?res_format=GEOJSON"' in page
    # Links for machines and to the ledger.
    for link in ('href="/catalog.ttl"', 'href="/api/3/action/package_search"', 'href="/data/privacy"'):
        assert link in page
    second = await client.get("/data?page=2", headers=FR)
    assert len(_names(second.text)) == 27 - PAGE_SIZE
    assert set(_names(page)).isdisjoint(_names(second.text))
    assert (await client.get("/data?page=3")).status_code == 404


async def test_searching_filtering_and_sorting_the_catalogue(client: httpx.AsyncClient, catalogue: Catalogue) -> None:
    # Full text, French stemming: "mesure" finds "Mesures".
    found = (await client.get("/data", params={"q": "dioxyde"}, headers=FR)).text
    assert _names(found) == [catalogue.air] and _count(found) == 1
    assert "<p>Mesures horaires du dioxyde d’azote. &lt;script&gt;alert" in found  # the excerpt is plain text
    assert _names((await client.get("/data", params={"q": "nitrogen"}, headers=EN)).text) == [catalogue.air]
    # A facet's link adds its filter; the chosen value's link takes it off again.
    filtered = (await client.get("/data?organization=voirie&tags=voirie", headers=FR)).text
    assert _names(filtered) == ["mobilier-urbain"]
    assert 'href="/data?organization=voirie"' in filtered  # the tag's link now removes it
    assert 'aria-current="true"' in filtered
    assert _count((await client.get("/data?license_id=odc-odbl")).text) == 1
    assert _count((await client.get("/data?res_format=GEOJSON&groups=regi")).text) == 1
    assert _count((await client.get("/data?res_format=GEOJSON&groups=envi")).text) == 0
    # Sort by name (title); last modified first.
    by_name = _names((await client.get("/data?sort=name&organization=voirie")).text)
    assert by_name[:3] == ["budget-01", "budget-02", "budget-03"]
    latest = _names((await client.get("/data?sort=modified")).text)
    assert latest[0] == "budget-25"
    assert (await client.get("/data?sort=bogus")).status_code == 400
    assert (await client.get("/data?page=0")).status_code in (400, 422)


async def test_a_dataset_page_shows_its_metadata_in_french_and_english(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    french = (await client.get(f"/data/{catalogue.air}", headers={**FR, "Accept": "text/html"})).text
    english = (await client.get(f"/data/{catalogue.air}", headers={**EN, "Accept": "text/html"})).text

    assert "<h1>Qualité de l’air</h1>" in french and "<h1>Air quality</h1>" in english
    assert "<strong>horaires</strong>" in french and "<strong>nitrogen dioxide</strong>" in english
    # The description's HTML and script links are not kept.
    assert "<script>alert" not in french and 'href="javascript' not in french
    assert "Direction de l’environnement" in french and "Environment department" in english
    assert "Licence Ouverte / Open Licence version 2.0" in french
    assert 'rel="license"' in french
    assert "Environnement" in french and "Environment" in english  # the theme
    assert 'href="/data?tags=pollution"' in french
    assert "du 1 nov. 2026 au 6 nov. 2026" in french and "from Nov 1, 2026 to Nov 6, 2026" in english
    assert "quotidien" in french and "daily" in english
    extent = re.search(r'id="dataset-extent"[^>]*data-extent="([^"]+)"', french)
    assert extent and json.loads(html.unescape(extent.group(1)))["type"] == "Polygon"
    assert f'<link rel="alternate" type="text/turtle" href="/data/{catalogue.air}.ttl">' in french
    # An RDF client asking the same address still gets DCAT.
    rdf = await client.get(f"/data/{catalogue.air}", headers={"Accept": "text/turtle"})
    assert rdf.headers["content-type"].startswith("text/turtle")


async def test_a_resource_shows_its_versions_downloads_and_previews(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    page = (await client.get(f"/data/{catalogue.air}", headers=EN)).text

    current = f"/data/{catalogue.air}/resources/{catalogue.csv_uuid}/download/mesures-novembre.csv"
    assert f'href="{current}"' in page
    assert "2 versions" in page
    earlier = f"/data/{catalogue.air}/resources/{catalogue.csv_uuid}/download/{catalogue.first_version_name}?version=1"
    assert f'href="{earlier}"' in page
    assert (await client.get(current)).text == AIR_CSV
    assert (await client.get(earlier)).text.startswith("mesure_le,no2\n2026-10-01")
    # The table preview: the first 100 rows of 144, with the Table Schema's types.
    table = re.search(r'<table class="preview-table" data-rows="(\d+)">(.*?)</table>', page, re.S)
    assert table and table.group(1) == "100"
    assert "The first 100 rows of 144" in page
    headers = re.findall(
        r'<th scope="col" data-type="(\w+)">(\w+)<br><small class="column-type">([^<]+)</small>', table.group(2)
    )
    assert headers == [
        ("datetime", "mesure_le", "date and time"),
        ("number", "no2", "number"),
        ("string", "station", "text"),
    ]
    assert "<td>2026-11-01T00:00:00Z</td><td>11.0</td><td>Belleville</td>" in table.group(2)
    # The chart of the time series: every row's time (seconds, in order) and value.
    series = re.search(r'class="preview-chart"[^>]*data-series="([^"]+)"', page)
    assert series
    times, values = json.loads(html.unescape(series.group(1)))
    assert len(times) == 144 and times == sorted(times)
    assert times[0] == datetime(2026, 11, 1, tzinfo=UTC).timestamp() and values[0] == 11.0
    # The GeoJSON map preview of the other dataset.
    places = (await client.get("/data/mobilier-urbain", headers=FR)).text
    drawn = re.search(r'class="preview-map"[^>]*data-geojson="([^"]+)"', places)
    assert drawn
    collection = json.loads(html.unescape(drawn.group(1)))
    assert [feature["properties"]["nom"] for feature in collection["features"]] == ["Fontaine", "Banc"]
    assert "La carte montre 2 lieux." in places


async def test_drafts_are_not_found_for_the_public_and_shown_to_publishers(
    client: httpx.AsyncClient, session: AsyncSession, catalogue: Catalogue
) -> None:
    assert (await client.get("/data/brouillon")).status_code == 404
    assert (await client.get("/data/nothing-here")).status_code == 404
    citizen = await create_person(session, "citoyenne@example.org")
    publisher = await create_person(session, "editrice@example.org", role=Role.PUBLISHER)
    await session.commit()
    await log_in(client, citizen.email)
    assert (await client.get("/data/brouillon")).status_code == 404
    await client.post("/logout", data={"csrf_token": await _token(client)})
    await log_in(client, publisher.email)
    draft = await client.get("/data/brouillon", headers=FR)
    assert draft.status_code == 200 and 'id="draft-notice"' in draft.text
    assert "brouillon" in _names((await client.get("/data?q=secret")).text)


async def _token(client: httpx.AsyncClient) -> str:
    from tests.conftest import csrf_token

    return await csrf_token(client, "/data")


async def test_the_privacy_ledger_lists_releases_and_totals(client: httpx.AsyncClient, catalogue: Catalogue) -> None:
    french = (await client.get("/data/privacy", headers=FR)).text
    english = (await client.get("/data/privacy", headers=EN)).text

    rows = re.findall(
        r'<tr data-dataset="([^"]+)" data-period="([^"]+)">.*?<td class="epsilon">([^<]+)</td>', french, re.S
    )
    assert rows == [(catalogue.air, "2026-W48", "0,75"), (catalogue.air, "2026-W49", "1")]  # a French page
    releases = re.search(r'<table id="ledger-releases">(.*?)</table>', french, re.S)
    assert releases and releases.group(1).count("<tr>") == 4 + 1  # the header row and four releases
    assert "k = 10" in releases.group(1) and "ε = 0,25" in releases.group(1)
    assert "Taille minimale des cellules" in french and "Minimum cell size" in english
    assert "Confidentialité différentielle" in french and "Differential privacy" in english
    assert "Qualité de l’air" in french and "Air quality" in english


def test_markdown_is_rendered_and_sanitised() -> None:
    shown = str(
        render_markdown("# Titre\n\n*a* <img src=x onerror=alert(1)> [ok](https://example.org) [ko](javascript:x)")
    )

    assert "<h1>Titre</h1>" in shown and "<em>a</em>" in shown
    # HTML in the text is shown as text; only http(s) and mailto links are links.
    assert "<img" not in shown and "&lt;img src=x onerror=alert(1)&gt;" in shown
    assert '<a href="https://example.org" rel="nofollow noopener noreferrer">ok</a>' in shown
    assert 'href="javascript' not in shown
