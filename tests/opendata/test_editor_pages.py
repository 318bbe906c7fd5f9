"""Publishers make datasets by hand in the catalogue's pages: the dataset's form (errors next to their fields, in
French and English), an upload checked row by row and previewed before it is published, new versions that keep the
earlier ones downloadable, drafts seen and downloaded by publishers only, and who may do any of it."""

from __future__ import annotations

import html
import io
import json
import re
from datetime import date

import httpx
import openpyxl
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.opendata import service as opendata
from citoyen.people.models import Role
from tests.conftest import csrf_token
from tests.factories import create_person, log_in
from tests.opendata.helpers import create_organization

FR = {"Accept-Language": "fr"}
EN = {"Accept-Language": "en"}
GOOD_CSV = "date,valeur,quartier\n" + "".join(f"2026-01-{day:02d},{day},Belleville\n" for day in range(1, 29))
# Line 12 of the file (the header is line 1) holds a date that does not exist.
BAD_CSV = GOOD_CSV.replace("2026-01-11,11,", "31/02/2026,11,")
NEWER_CSV = GOOD_CSV + "2026-01-29,29,Belleville\n"


async def _publisher(client: httpx.AsyncClient, session: AsyncSession, role: Role = Role.PUBLISHER) -> str:
    person = await create_person(session, f"{role.value}-{id(client)}@example.org", role=role)
    await session.commit()
    await log_in(client, person.email)
    return await csrf_token(client, "/data")


async def _new_dataset(
    client: httpx.AsyncClient, token: str, organization: str, name: str = "arbres", private: bool = True
) -> httpx.Response:
    data = {
        "csrf_token": token,
        "title": "Arbres d’alignement",
        "title_en": "Street trees",
        "name": name,
        "notes": "Les **arbres** de la ville.",
        "notes_en": "The city's **trees**.",
        "owner_org": organization,
        "license_id": "odc-odbl",
        "groups": ["envi", "regi"],
        "tags": "arbres, nature",
        "frequency": "ANNUAL",
        "temporal_start": "2026-01-01",
        "temporal_end": "2026-12-31",
        "bbox": "2.25, 48.82, 2.42, 48.9",
    }
    if private:
        data["private"] = "on"
    return await client.post("/data/new", data=data, headers=FR)


def _hidden(page: str, name: str) -> str:
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)">', page)
    assert match, f"no hidden {name}"
    return html.unescape(match.group(1))


async def _check_upload(
    client: httpx.AsyncClient, token: str, path: str, filename: str, body: str, headers: dict[str, str], **fields: str
) -> httpx.Response:
    return await client.post(
        path,
        data={"csrf_token": token, **fields},
        files={"upload": (filename, body.encode(), "text/csv")},
        headers=headers,
    )


async def _publish(client: httpx.AsyncClient, token: str, name: str, staged: str) -> httpx.Response:
    fields = ("sha256", "filename", "resource", "name", "name_en", "description", "description_en", "format")
    data = {key: _hidden(staged, key) for key in fields}
    if 'name="keep_schema"' in staged.split('id="publish-upload-form"')[1].split("</form>")[0]:
        data["keep_schema"] = "on"
    return await client.post(f"/data/{name}/resources/publish", data={"csrf_token": token, **data})


async def test_a_publisher_creates_a_draft_dataset_with_the_apis_checks(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    organization = await create_organization(session, "parcs")
    token = await _publisher(client, session)
    form = await client.get("/data/new", headers=FR)
    assert form.status_code == 200 and "Nouveau jeu de données" in form.text
    assert 'name="csrf_token"' in form.text

    created = await _new_dataset(client, token, organization.name)

    assert created.status_code == 303 and created.headers["location"] == "/data/arbres"
    dataset = await opendata.find_dataset(session, "arbres", include_private=True)
    view = await opendata.load_view(session, dataset)
    assert dataset.private and dataset.title_en == "Street trees" and dataset.license_id == "odc-odbl"
    assert [tag.name for tag in view.tags] == ["arbres", "nature"]
    assert sorted(group.name for group in view.groups) == ["envi", "regi"]
    assert str(dataset.temporal_start) == "2026-01-01" and dataset.frequency == "ANNUAL"
    assert json.loads(dataset.spatial)["coordinates"][0][2] == [2.42, 48.9]
    page = (await client.get("/data/arbres", headers=FR)).text
    assert 'id="draft-notice"' in page and 'id="publisher-actions"' in page
    assert 'id="dataset-extent"' in page  # the map of the box typed
    assert 'value="2.25, 48.82, 2.42, 48.9"' in (await client.get("/data/arbres/edit")).text
    catalogue = (await client.get("/data", headers=FR)).text
    assert re.search(r'id="drafts".*href="/data/arbres"', catalogue, re.S)


async def test_the_dataset_form_shows_each_problem_next_to_its_field_in_french_and_english(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    organization = await create_organization(session, "voirie-formulaire")
    token = await _publisher(client, session)
    await _new_dataset(client, token, organization.name, name="pris")
    bad = {"csrf_token": token, "title": "Doublon", "name": "pris", "owner_org": "", "temporal_start": "hier"}

    french = await client.post("/data/new", data=bad, headers=FR)
    english = await client.post("/data/new", data=bad, headers=EN)

    assert french.status_code == 400
    assert re.search(r'id="name"[^>]*aria-invalid="true"', french.text)
    assert 'id="name-error">Un autre jeu de données porte déjà ce nom.' in french.text
    assert 'id="owner_org-error">Choisissez un éditeur.' in french.text
    assert 'id="temporal_start-error">Donnez une date au format AAAA-MM-JJ.' in french.text
    assert 'id="name-error">Another dataset already has this name.' in english.text
    assert 'id="owner_org-error">Choose a publisher.' in english.text
    # What was typed comes back.
    assert 'value="Doublon"' in french.text
    boxed = {**bad, "name": "autre", "owner_org": organization.name, "temporal_start": "", "bbox": "48.8, 2.3"}
    refused = await client.post("/data/new", data=boxed, headers=EN)
    assert 'id="bbox-error">Give four numbers: west, south, east, north' in refused.text
    assert await opendata.dataset_names(session, None, 0) == []


async def test_an_upload_with_a_bad_row_is_refused_row_by_row_and_nothing_is_published(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    organization = await create_organization(session, "parcs-lignes")
    token = await _publisher(client, session)
    await _new_dataset(client, token, organization.name)

    french = await _check_upload(client, token, "/data/arbres/resources/new", "arbres.csv", BAD_CSV, FR)
    english = await _check_upload(client, token, "/data/arbres/resources/new", "arbres.csv", BAD_CSV, EN)

    assert french.status_code == 400
    said = "Ligne 12, colonne « date » : « 31/02/2026 » n’est pas une date".replace(" »", "\u00a0»")
    said = said.replace("« ", "«\u00a0").replace(" :", "\u00a0:")
    assert said in html.unescape(french.text)
    assert "Line 12, column “date”: “31/02/2026” is not a date" in html.unescape(english.text)
    assert 'id="publish-upload"' not in french.text
    view = await opendata.load_view(session, await opendata.find_dataset(session, "arbres", include_private=True))
    assert view.resources == []


async def test_a_clean_upload_is_previewed_then_published_and_a_new_upload_makes_a_new_version(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    organization = await create_organization(session, "parcs-versions")
    token = await _publisher(client, session)
    await _new_dataset(client, token, organization.name)

    staged = await _check_upload(
        client, token, "/data/arbres/resources/new", "arbres.csv", GOOD_CSV, EN, name="Arbres", name_en="Trees"
    )

    assert staged.status_code == 200
    page = staged.text
    assert 'id="publish-upload"' in page and "28 rows" in page
    schema = re.findall(r'<tr data-type="(\w+)"><td>(\w+)</td>', page)
    assert schema == [("date", "date"), ("integer", "valeur"), ("string", "quartier")]
    assert re.search(r'<table class="preview-table" data-rows="28">', page)
    # Checked but not published yet.
    view = await opendata.load_view(session, await opendata.find_dataset(session, "arbres", include_private=True))
    assert view.resources == []

    published = await _publish(client, token, "arbres", page)

    assert published.status_code == 303
    resource_path = published.headers["location"]
    uuid = resource_path.rsplit("/", 1)[1]
    versions_page = (await client.get(resource_path, headers=EN)).text
    assert versions_page.count("<tr data-version=") == 1 and "28" in versions_page

    # A new version, checked against the current version's columns (a wrong type is refused on its row).
    upload_path = f"/data/arbres/resources/{uuid}/upload"
    form = (await client.get(upload_path, headers=EN)).text
    assert 'value="Trees"' in form and 'id="keep_schema"' in form
    wrong = GOOD_CSV.replace("2026-01-05,5,", "2026-01-05,cinq,")
    refused = await _check_upload(client, token, upload_path, "arbres.csv", wrong, EN, keep_schema="on")
    assert refused.status_code == 400
    assert "Line 6, column “valeur”: “cinq” is not a whole number" in html.unescape(refused.text)
    staged_again = await _check_upload(
        client, token, upload_path, "arbres-2.csv", NEWER_CSV, EN, keep_schema="on", name="Arbres", name_en="Trees"
    )
    assert staged_again.status_code == 200
    assert (await _publish(client, token, "arbres", staged_again.text)).headers["location"] == resource_path

    versions_page = (await client.get(resource_path, headers=EN)).text
    versions = re.findall(r'<tr data-version="(\d+)">.*?<td>(\d+)</td>\s*<td><a href="([^"]+)"', versions_page, re.S)
    assert [(number, rows) for number, rows, _link in versions] == [("2", "29"), ("1", "28")]
    # Both stay downloadable, by the publisher while the dataset is a draft.
    for _number, _rows, link in versions:
        assert (await client.get(html.unescape(link))).status_code == 200
    assert (await client.get(html.unescape(versions[1][2]))).text == GOOD_CSV


async def test_a_link_resource_is_added_at_once(client: httpx.AsyncClient, session: AsyncSession) -> None:
    organization = await create_organization(session, "parcs-liens")
    token = await _publisher(client, session)
    await _new_dataset(client, token, organization.name)

    refused = await client.post(
        "/data/arbres/resources/new", data={"csrf_token": token, "url": "ftp://ailleurs"}, headers=EN
    )
    assert refused.status_code == 400
    added = await client.post(
        "/data/arbres/resources/new",
        data={"csrf_token": token, "url": "https://example.org/arbres.pdf", "name": "Rapport"},
    )
    assert added.status_code == 303
    view = await opendata.load_view(session, await opendata.find_dataset(session, "arbres", include_private=True))
    assert [item.resource.url for item in view.resources] == ["https://example.org/arbres.pdf"]


async def test_a_too_big_upload_is_refused_with_a_clear_message(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    organization = await create_organization(session, "parcs-taille")
    token = await _publisher(client, session)
    await _new_dataset(client, token, organization.name)
    settings.opendata_max_upload_bytes = 100

    response = await _check_upload(client, token, "/data/arbres/resources/new", "arbres.csv", GOOD_CSV, FR)

    assert response.status_code == 413
    assert "Le fichier dépasse la limite de 100\u00a0octets." in html.unescape(response.text)


async def test_a_draft_is_edited_then_published_for_everyone_and_deleted(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    organization = await create_organization(session, "parcs-publication")
    token = await _publisher(client, session)
    await _new_dataset(client, token, organization.name)
    staged = await _check_upload(client, token, "/data/arbres/resources/new", "arbres.csv", GOOD_CSV, FR)
    download = (await _publish(client, token, "arbres", staged.text)).headers["location"]
    link = re.search(r'<td><a href="([^"]+)" download>', (await client.get(download)).text)
    assert link
    file_url = html.unescape(link.group(1))

    edit = (await client.get("/data/arbres/edit", headers=FR)).text
    assert 'value="Arbres d’alignement"' in edit and 'value="arbres, nature"' in edit
    changed = await client.post(
        "/data/arbres/edit",
        data={"csrf_token": token, "name": "arbres", "title": "Arbres", "owner_org": organization.name,
              "license_id": "etalab-2.0", "private": "on"},
    )  # fmt: skip
    assert changed.status_code == 303
    assert (await opendata.find_dataset(session, "arbres", include_private=True)).title == "Arbres"

    # A draft's file downloads for publishers only, by its own route; the public one does not serve it yet.
    assert "/draft/" in file_url and (await client.get(file_url)).text == GOOD_CSV
    assert (await client.get(file_url)).headers["cache-control"] == "private, no-store"
    public_url = file_url.replace("/draft/", "/download/")
    async with httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url)) as anonymous:
        assert (await anonymous.get("/data/arbres")).status_code == 404
        assert (await anonymous.get(file_url)).headers["location"].startswith("/login")
        assert (await anonymous.get(public_url)).status_code == 404
        assert (await client.post("/data/arbres/publish", data={"csrf_token": token})).status_code == 303
        assert (await anonymous.get("/data/arbres")).status_code == 200
        assert (await anonymous.get(public_url)).text == GOOD_CSV
        assert public_url in (await anonymous.get(download)).text
        assert "/data/arbres" in (await anonymous.get("/data")).text

        assert (await client.post("/data/arbres/delete", data={"csrf_token": token})).status_code == 303
        assert (await anonymous.get("/data/arbres")).status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/data/new"),
        ("POST", "/data/new"),
        ("GET", "/data/arbres/edit"),
        ("POST", "/data/arbres/publish"),
        ("GET", "/data/arbres/resources/new"),
        ("POST", "/data/arbres/resources/new"),
    ],
)
async def test_only_publishers_and_administrators_may_edit_the_catalogue(
    client: httpx.AsyncClient, session: AsyncSession, method: str, path: str
) -> None:
    organization = await create_organization(session, "parcs-droits")
    admin = await _publisher(client, session, Role.ADMIN)
    await _new_dataset(client, admin, organization.name)
    await client.post("/logout", data={"csrf_token": admin})

    anonymous = await client.request(method, path, data={"csrf_token": await csrf_token(client, "/login")})
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    citizen = await _publisher(client, session, Role.CITIZEN)
    assert (await client.request(method, path, data={"csrf_token": citizen})).status_code == 403
    dataset = await opendata.find_dataset(session, "arbres", include_private=True)
    assert dataset.private


def _workbook(bad_row: int | None = None) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["date", "valeur"])
    for day in range(1, 21):
        sheet.append([date(2026, 2, day), day])
    if bad_row is not None:
        sheet[f"A{bad_row}"] = "31/02/2026"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_a_workbook_is_checked_row_by_row_and_previewed_like_a_csv(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    organization = await create_organization(session, "parcs-classeurs")
    token = await _publisher(client, session)
    await _new_dataset(client, token, organization.name)
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    refused = await client.post(
        "/data/arbres/resources/new",
        data={"csrf_token": token},
        files={"upload": ("arbres.xlsx", _workbook(bad_row=7), xlsx)},
        headers=EN,
    )
    staged = await client.post(
        "/data/arbres/resources/new",
        data={"csrf_token": token},
        files={"upload": ("arbres.xlsx", _workbook(), xlsx)},
        headers=EN,
    )

    assert refused.status_code == 400
    assert "Line 7, column “date”: “31/02/2026” is not a date and time" in html.unescape(refused.text)
    assert staged.status_code == 200 and 'data-format="XLSX"' in staged.text
    assert re.findall(r'<tr data-type="(\w+)"><td>(\w+)</td>', staged.text) == [
        ("datetime", "date"),
        ("integer", "valeur"),
    ]
    assert '<table class="preview-table" data-rows="20">' in staged.text
    assert "<td>2026-02-01T00:00:00</td><td>1</td>" in staged.text


async def test_a_checked_upload_publishes_even_when_its_check_record_is_gone(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    organization = await create_organization(session, "parcs-relecture")
    token = await _publisher(client, session)
    await _new_dataset(client, token, organization.name)
    staged = await _check_upload(client, token, "/data/arbres/resources/new", "arbres.csv", GOOD_CSV, EN)
    records = list((settings.opendata_path / "incoming").glob("*.checked.json"))
    assert len(records) == 1 and records[0].name.startswith(_hidden(staged.text, "sha256"))
    records[0].unlink()  # as the upkeep does after its grace period: the file is then checked again

    published = await _publish(client, token, "arbres", staged.text)

    assert published.status_code == 303
    versions = (await client.get(published.headers["location"], headers=EN)).text
    assert re.search(r'<tr data-version="1">.*?<td>28</td>', versions, re.S)
