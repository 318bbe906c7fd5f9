"""The CKAN Action API through HTTP: CKAN's answers and errors, search with French and English stemming,
facets, writes with a token, uploads with versions, and the download route."""

from __future__ import annotations

import hashlib

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.people import service as people
from tests.opendata.helpers import create_dataset, create_organization

API = "/api/3/action"


async def _token(session: AsyncSession, scopes: list[str]) -> str:
    _token, secret = await people.create_api_token(session, "publisher", scopes)
    await session.commit()
    return secret


async def test_search_finds_french_and_english_words_by_their_stems_with_facets(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    roads = await create_organization(session, "voirie")
    parks = await create_organization(session, "parcs")
    await create_dataset(
        session,
        roads,
        name="pistes-cyclables",
        title="Pistes cyclables",
        title_en="Cycle lanes",
        notes="Les aménagements cyclables de la ville",
        tags=[{"name": "vélo"}, {"name": "mobilité"}],
        groups=[{"name": "tran"}],
    )
    await create_dataset(session, roads, name="stationnement", title="Stationnement des vélos", tags=[{"name": "vélo"}])
    await create_dataset(session, parks, name="arbres", title="Arbres d'alignement", title_en="Street trees")
    await create_dataset(session, parks, name="brouillon", title="Vélos en brouillon", private=True)
    await session.commit()

    found = (await client.get(f"{API}/package_search", params={"q": "velo"})).json()
    assert found["success"] is True
    assert {item["name"] for item in found["result"]["results"]} == {"pistes-cyclables", "stationnement"}
    assert found["result"]["count"] == 2
    english = (await client.get(f"{API}/package_search", params={"q": "lanes"})).json()["result"]
    assert [item["name"] for item in english["results"]] == ["pistes-cyclables"]
    facets = found["result"]["search_facets"]
    assert facets["organization"]["items"] == [{"name": "voirie", "display_name": roads.title, "count": 2}]
    assert {"name": "vélo", "display_name": "vélo", "count": 2} in facets["tags"]["items"]
    assert facets["groups"]["items"][0]["name"] == "tran"

    filtered = (
        await client.get(
            f"{API}/package_search", params={"fq": "organization:parcs", "sort": "name asc", "rows": "1", "start": "0"}
        )
    ).json()["result"]
    assert filtered["count"] == 1  # the private draft is not shown
    assert [item["name"] for item in filtered["results"]] == ["arbres"]
    by_tag = (await client.post(f"{API}/package_search", json={"fq": 'tags:"vélo"', "sort": "name desc"})).json()
    assert [item["name"] for item in by_tag["result"]["results"]] == ["stationnement", "pistes-cyclables"]


async def test_package_show_has_ckans_fields_and_unknown_dataset_is_ckans_404(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    organization = await create_organization(session)
    dataset = await create_dataset(session, organization, name="qualite-air", tags=[{"name": "air"}])
    await session.commit()
    shown = (await client.get(f"{API}/package_show", params={"id": "qualite-air"})).json()["result"]
    assert shown["id"] == dataset.uuid
    assert shown["owner_org"] == organization.uuid
    assert shown["organization"]["name"] == organization.name
    assert shown["license_title"].startswith("Open Licence")
    assert shown["tags"][0]["name"] == "air"
    assert shown["num_resources"] == 0 and shown["resources"] == []
    assert {"key", "value"} <= set(shown["extras"][0])

    missing = await client.get(f"{API}/package_show", params={"id": "nothing-here"})
    assert missing.status_code == 404
    body = missing.json()
    assert body["success"] is False
    assert body["error"]["__type"] == "Not Found Error"
    assert "help" in body


async def test_bad_fq_and_sort_are_validation_errors_naming_the_field(client: httpx.AsyncClient) -> None:
    bad_fq = await client.get(f"{API}/package_search", params={"fq": "colour:blue"})
    assert bad_fq.status_code == 409
    assert bad_fq.json()["error"]["__type"] == "Validation Error"
    assert "fq" in bad_fq.json()["error"]
    bad_sort = await client.get(f"{API}/package_search", params={"sort": "price desc"})
    assert bad_sort.status_code == 409
    assert "sort" in bad_sort.json()["error"]
    bad_rows = await client.get(f"{API}/package_search", params={"rows": "-1"})
    assert bad_rows.status_code == 409
    assert "rows" in bad_rows.json()["error"]
    not_json = await client.post(
        f"{API}/package_search", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400


async def test_writes_need_a_token_with_the_opendata_scope(client: httpx.AsyncClient, session: AsyncSession) -> None:
    organization = await create_organization(session)
    sensing = await _token(session, ["sensing:write"])
    body = {"name": "refused", "title": "Refused", "owner_org": organization.name}
    anonymous = await client.post(f"{API}/package_create", json=body)
    assert anonymous.status_code == 403
    assert anonymous.json()["error"]["__type"] == "Authorization Error"
    wrong_scope = await client.post(f"{API}/package_create", json=body, headers={"Authorization": sensing})
    assert wrong_scope.status_code == 403
    assert (await client.get(f"{API}/package_show", params={"id": "refused"})).status_code == 404


async def test_a_dataset_cannot_take_the_name_of_a_catalogue_page(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    organization = await create_organization(session)
    token = await _token(session, ["opendata:write"])
    body = {"name": "privacy", "title": "Vie privée", "owner_org": organization.name}
    taken = await client.post(f"{API}/package_create", json=body, headers={"Authorization": token})
    assert taken.status_code == 409
    assert taken.json()["error"]["name"] == ["That URL is already in use."]


async def test_create_update_patch_delete_and_upload_versions(client: httpx.AsyncClient, session: AsyncSession) -> None:
    organization = await create_organization(session)
    token = await _token(session, ["opendata:write"])
    headers = {"Authorization": token}
    created = await client.post(
        f"{API}/package_create",
        json={"name": "budget", "title": "Budget", "owner_org": organization.name, "license_id": "cc-by-4.0"},
        headers=headers,
    )
    assert created.status_code == 200, created.text
    invalid = await client.post(
        f"{API}/package_create",
        json={"name": "Budget 2026!", "owner_org": organization.name, "license_id": "mine"},
        headers=headers,
    )
    assert invalid.status_code == 409
    assert {"name", "license_id"} <= set(invalid.json()["error"])

    first = b"year,amount\n2025,100\n2026,120\n"
    uploaded = await client.post(
        f"{API}/resource_create",
        data={"package_id": "budget", "name": "Budget par année"},
        files={"upload": ("budget.csv", first, "text/csv")},
        headers=headers,
    )
    assert uploaded.status_code == 200, uploaded.text
    resource = uploaded.json()["result"]
    assert resource["format"] == "CSV"
    assert resource["size"] == len(first)
    assert resource["row_count"] == 2
    assert resource["schema"]["fields"][1] == {"name": "amount", "type": "integer"}
    download = await client.get(resource["url"], headers={"Accept-Encoding": "identity"})  # gzipped: a weak ETag
    assert download.status_code == 200
    assert download.content == first
    assert download.headers["etag"] == f'"{hashlib.sha256(first).hexdigest()}"'
    partial = await client.get(resource["url"], headers={"Range": "bytes=0-3"})
    assert partial.status_code == 206 and partial.content == b"year"
    again = await client.get(resource["url"], headers={"If-None-Match": download.headers["etag"]})
    assert again.status_code == 304

    wrong = await client.post(
        f"{API}/resource_update",
        data={"id": resource["id"]},
        files={"upload": ("budget.csv", b"\x89PNG\r\n\x1a\n\x00\x00binary", "text/csv")},
        headers=headers,
    )
    assert wrong.status_code == 409
    assert "upload" in wrong.json()["error"]
    assert (await client.get(resource["url"])).content == first  # nothing lost

    second = b"year,amount\n2025,100\n2026,125\n"
    updated = await client.post(
        f"{API}/resource_update",
        data={"id": resource["id"]},
        files={"upload": ("budget-v2.csv", second, "text/csv")},
        headers=headers,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["result"]["version"] == 2
    assert (await client.get(updated.json()["result"]["url"])).content == second
    old = await client.get(resource["url"], params={"version": 1})
    assert old.content == first

    patched = await client.post(f"{API}/package_patch", json={"id": "budget", "notes": "Chiffres"}, headers=headers)
    assert patched.status_code == 200, patched.text
    assert patched.json()["result"]["notes"] == "Chiffres"
    assert patched.json()["result"]["license_id"] == "cc-by-4.0"
    assert patched.json()["result"]["num_resources"] == 1

    deleted = await client.post(f"{API}/package_delete", json={"id": "budget"}, headers=headers)
    assert deleted.json()["success"] is True
    assert (await client.get(f"{API}/package_show", params={"id": "budget"})).status_code == 404
    assert (await client.get(resource["url"])).status_code == 404


async def test_too_big_upload_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, session: AsyncSession, app: object, settings: object
) -> None:
    organization = await create_organization(session)
    await create_dataset(session, organization, name="big")
    token = await _token(session, ["opendata:write"])
    app.state.settings.opendata_max_upload_bytes = 10  # type: ignore[attr-defined]
    response = await client.post(
        f"{API}/resource_create",
        data={"package_id": "big"},
        files={"upload": ("big.csv", b"a,b\n" + b"1,2\n" * 10, "text/csv")},
        headers={"Authorization": token},
    )
    assert response.status_code == 413
    assert response.json()["error"]["__type"] == "Validation Error"
    assert "upload" in response.json()["error"]
    shown = (await client.get(f"{API}/package_show", params={"id": "big"})).json()["result"]
    assert shown["num_resources"] == 0
    stored = app.state.settings.opendata_path  # type: ignore[attr-defined]
    assert not [path for path in stored.rglob("*") if path.is_file()] if stored.exists() else True


async def test_lists_licences_groups_and_status(client: httpx.AsyncClient) -> None:
    licences = (await client.get(f"{API}/license_list")).json()["result"]
    assert {"etalab-2.0", "odc-odbl", "cc-by-4.0", "cc0-1.0"} <= {licence["id"] for licence in licences}
    groups = (await client.get(f"{API}/group_list")).json()["result"]
    assert len(groups) == 13 and "envi" in groups
    status = (await client.get(f"{API}/status_show")).json()["result"]
    assert status["ckan_version"].startswith("2.")


async def test_control_characters_and_unknown_actions_are_refused_cleanly(client: httpx.AsyncClient) -> None:
    nul = await client.get(f"{API}/package_show", params={"id": "a\x00b"})
    assert nul.status_code == 409
    assert "id" in nul.json()["error"]
    surrogate = await client.post(
        f"{API}/package_search", content=b'{"q": "\\ud800"}', headers={"Content-Type": "application/json"}
    )
    assert surrogate.status_code == 409
    unknown = await client.get(f"{API}/datastore_upsert")  # a CKAN action Citoyen does not offer
    assert unknown.status_code == 400
    assert unknown.json()["success"] is False
    download = await client.get("/data/a%00b/resources/x/download/file.csv")
    assert download.status_code == 404
    default = await client.get(f"{API}/package_search")  # the default sort, with no words to score
    assert default.status_code == 200
    assert default.json()["result"]["sort"] == "score desc, metadata_modified desc"


async def test_drafts_are_shown_only_to_publishers(client: httpx.AsyncClient, session: AsyncSession) -> None:
    organization = await create_organization(session)
    await create_dataset(session, organization, name="draft", title="Brouillon", private=True)
    token = await _token(session, ["opendata:write"])
    refused = await client.get(f"{API}/package_show", params={"id": "draft"})
    assert refused.status_code == 403
    assert refused.json()["error"]["__type"] == "Authorization Error"
    shown = await client.get(f"{API}/package_show", params={"id": "draft"}, headers={"Authorization": token})
    assert shown.json()["result"]["private"] is True
    public = await client.get(f"{API}/package_search", params={"include_private": "true"})
    assert public.json()["result"]["count"] == 0
    private = await client.get(
        f"{API}/package_search", params={"include_private": "true"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert private.json()["result"]["count"] == 1
    assert (await client.get(f"{API}/package_list")).json()["result"] == []


async def test_a_drafts_file_downloads_by_its_url_with_a_publishers_token_only(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    organization = await create_organization(session)
    await create_dataset(session, organization, name="draft", title="Brouillon", private=True)
    publisher = {"Authorization": await _token(session, ["opendata:write"])}
    created = await client.post(
        f"{API}/resource_create",
        data={"package_id": "draft", "name": "Budget", "format": "CSV"},
        files={"upload": ("budget.csv", b"poste,montant\nvoirie,1200\n", "text/csv")},
        headers=publisher,
    )
    assert created.status_code == 200, created.text
    url = created.json()["result"]["url"]
    shown = await client.get(url, headers=publisher)
    assert shown.status_code == 200
    assert shown.content == b"poste,montant\nvoirie,1200\n"
    assert shown.headers["cache-control"] == "private, no-store"
    assert (await client.get(url)).status_code == 404
    reader = {"Authorization": await _token(session, ["sensing:write"])}
    assert (await client.get(url, headers=reader)).status_code == 404


async def test_an_upload_that_is_not_its_type_stores_nothing(
    client: httpx.AsyncClient, session: AsyncSession, settings: object
) -> None:
    organization = await create_organization(session)
    await create_dataset(session, organization, name="places")
    token = await _token(session, ["opendata:write"])
    for filename, content in (
        ("places.geojson", b'{"name": "not a geometry"}'),
        ("places.csv", b"a,b\n1,2,3\n"),
        ("places.xlsx", b"plain text"),
        ("places.exe", b"MZ\x90\x00"),
    ):
        response = await client.post(
            f"{API}/resource_create",
            data={"package_id": "places"},
            files={"upload": (filename, content, "application/octet-stream")},
            headers={"Authorization": token},
        )
        assert response.status_code == 409, filename
        assert response.json()["error"]["__type"] == "Validation Error"
    shown = (await client.get(f"{API}/package_show", params={"id": "places"})).json()["result"]
    assert shown["num_resources"] == 0
    stored = settings.opendata_path  # type: ignore[attr-defined]
    assert not stored.exists() or not [path for path in stored.rglob("*") if path.is_file()]


async def test_numbers_beyond_what_is_served_are_validation_errors(client: httpx.AsyncClient) -> None:
    for params in ({"rows": str(10**30)}, {"start": str(2**63)}, {"facet.limit": "0"}, {"rows": "ten"}):
        response = await client.get(f"{API}/package_search", params=params)
        assert response.status_code == 409, params
        assert set(params) <= set(response.json()["error"])
    as_json = await client.post(f"{API}/package_list", json={"limit": 1e300})
    assert as_json.status_code == 409
    beyond = await client.get("/data/x/resources/y/download/z.csv", params={"version": str(2**31)})
    assert beyond.status_code in (400, 404)
