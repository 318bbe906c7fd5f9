"""datastore_search and datastore_info as CKAN's DataStore answers them, on every tabular resource: rows loaded
when a CSV is uploaded or auto-published, filters, q, sort, fields, paging and totals; CKAN's errors naming the
field; drafts' rows for publishers only; a new version replaces the rows and deleting drops them; the real
ckanapi client calls datastore_search unchanged."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import ckanapi  # type: ignore[import-untyped]
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.db import utcnow
from citoyen.migrations import include_object
from citoyen.opendata import datastore
from citoyen.opendata import service as opendata
from citoyen.opendata.publication import publish_platform
from citoyen.opendata.upkeep import prune_datastore
from citoyen.people import service as people
from tests.opendata.helpers import create_dataset, create_organization
from tests.opendata.test_ckanapi_client import LiveCatalogue, live
from tests.opendata.test_feeds import build_city, token

__all__ = ["live", "token"]  # fixtures, used by name

API = "/api/3/action"
STATIONS = (
    "station,measured_at,day,value,valid,label\n"
    "12,2026-11-02T08:00:00Z,2026-11-02,3.5,true,Gare Nord\n"
    "7,2026-11-02T09:00:00Z,2026-11-02,,false,Parc de l’Hôtel de Ville\n"
    "12,2026-11-03T08:00:00Z,2026-11-03,4.25,true,Gare Nord\n"
    "9,2026-11-03T10:30:00Z,2026-11-03,1,true,Marché\n"
    "12,2026-11-04T08:00:00Z,2026-11-04,-2,false,Gare Nord annexe\n"
)


async def _publisher(session: AsyncSession) -> dict[str, str]:
    _token, secret = await people.create_api_token(session, "publisher", ["opendata:write"])
    await session.commit()
    return {"Authorization": secret}


async def _upload(
    client: httpx.AsyncClient, headers: dict[str, str], dataset: str, content: str, name: str = "mesures.csv"
) -> dict[str, Any]:
    answer = await client.post(
        f"{API}/resource_create",
        data={"package_id": dataset, "name": "Mesures"},
        files={"upload": (name, content.encode(), "text/csv")},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()["result"]
    return result


async def _search(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    answer = await client.get(f"{API}/datastore_search", params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert body["success"] is True
    result: dict[str, Any] = body["result"]
    return result


async def _stations(
    client: httpx.AsyncClient, session: AsyncSession, name: str = "stations"
) -> tuple[dict[str, str], str]:
    organization = await create_organization(session)
    await create_dataset(session, organization, name=name)
    headers = await _publisher(session)
    resource = await _upload(client, headers, name, STATIONS)
    return headers, resource["id"]


async def test_an_uploaded_table_is_searched_with_filters_q_sort_fields_and_paging(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _headers, resource_id = await _stations(client, session)
    shown = (await client.get(f"{API}/resource_show", params={"id": resource_id})).json()["result"]
    assert shown["datastore_active"] is True

    everything = await _search(client, resource_id=resource_id)
    assert [(f["id"], f["type"]) for f in everything["fields"]] == [
        ("_id", "int"),
        ("station", "int8"),
        ("measured_at", "timestamp"),
        ("day", "date"),
        ("value", "float8"),
        ("valid", "bool"),
        ("label", "text"),
    ]
    assert everything["total"] == 5 and everything["total_was_estimated"] is False
    assert everything["limit"] == 100
    assert everything["records"][0] == {
        "_id": 1,
        "station": 12,
        "measured_at": "2026-11-02T08:00:00Z",
        "day": "2026-11-02",
        "value": 3.5,
        "valid": True,
        "label": "Gare Nord",
    }
    assert everything["records"][1]["value"] is None  # an empty cell is a missing value
    assert everything["_links"]["start"].startswith("/api/3/action/datastore_search?")

    filtered = await _search(client, resource_id=resource_id, filters=json.dumps({"station": 12, "valid": True}))
    assert [r["_id"] for r in filtered["records"]] == [1, 3] and filtered["total"] == 2
    several = await _search(client, resource_id=resource_id, filters=json.dumps({"station": ["7", 9]}))
    assert [r["_id"] for r in several["records"]] == [2, 4]
    by_day = await _search(client, resource_id=resource_id, filters=json.dumps({"day": "2026-11-03"}))
    assert [r["_id"] for r in by_day["records"]] == [3, 4]
    by_time = await _search(
        client, resource_id=resource_id, filters=json.dumps({"measured_at": "2026-11-03T11:30:00+01:00"})
    )
    assert [r["_id"] for r in by_time["records"]] == [4]

    words = await _search(client, resource_id=resource_id, q="gare annexe")
    assert [r["_id"] for r in words["records"]] == [5] and words["total"] == 1
    accented = await _search(client, resource_id=resource_id, q="hôtel")
    assert [r["_id"] for r in accented["records"]] == [2]
    per_field = await _search(client, resource_id=resource_id, q=json.dumps({"label": "nord"}))
    assert per_field["total"] == 3

    ordered = await _search(client, resource_id=resource_id, sort="station desc, value asc", fields="station,value")
    assert ordered["records"] == [
        {"station": 12, "value": -2.0},
        {"station": 12, "value": 3.5},
        {"station": 12, "value": 4.25},
        {"station": 9, "value": 1.0},
        {"station": 7, "value": None},
    ]
    assert [f["id"] for f in ordered["fields"]] == ["station", "value"]

    page = await _search(client, resource_id=resource_id, limit=2, offset=2, include_total="false")
    assert [r["_id"] for r in page["records"]] == [3, 4]
    assert "total" not in page and page["offset"] == 2
    assert "offset=4" in page["_links"]["next"]

    lists = await _search(client, resource_id=resource_id, records_format="lists", fields="label", limit=1)
    assert lists["records"] == [["Gare Nord"]]
    distinct = await _search(client, resource_id=resource_id, fields="station", distinct="true", sort="station")
    assert distinct["records"] == [{"station": 7}, {"station": 9}, {"station": 12}] and distinct["total"] == 3

    posted = await client.post(
        f"{API}/datastore_search",
        json={"resource_id": resource_id, "filters": {"label": "Marché"}, "fields": ["_id", "day"]},
    )
    assert posted.json()["result"]["records"] == [{"_id": 4, "day": "2026-11-03"}]

    described = (await client.get(f"{API}/datastore_info", params={"id": resource_id})).json()["result"]
    assert described["meta"]["count"] == 5
    assert [f["id"] for f in described["fields"]][:3] == ["_id", "station", "measured_at"]


async def test_bad_calls_answer_ckans_errors_naming_the_field(client: httpx.AsyncClient, session: AsyncSession) -> None:
    _headers, resource_id = await _stations(client, session)
    missing = await client.get(f"{API}/datastore_search", params={"resource_id": "no-such-resource"})
    assert missing.status_code == 404
    assert missing.json()["error"]["__type"] == "Not Found Error"

    cases = [
        ({"filters": json.dumps({"colour": "red"})}, "filters", "colour"),
        ({"filters": "{not json"}, "filters", ""),
        ({"filters": json.dumps({"station": "twelve"})}, "filters", "station"),
        ({"sort": "altitude desc"}, "sort", "altitude"),
        ({"sort": "station sideways"}, "sort", "station"),
        ({"fields": "station,colour"}, "fields", "colour"),
        ({"q": json.dumps({"colour": "red"})}, "q", "colour"),
        ({"limit": "-1"}, "limit", ""),
        ({"offset": "many"}, "offset", ""),
    ]
    for params, key, named in cases:
        answer = await client.get(f"{API}/datastore_search", params={"resource_id": resource_id, **params})
        assert answer.status_code == 409, (params, answer.text)
        error = answer.json()["error"]
        assert error["__type"] == "Validation Error"
        assert named in " ".join(error[key]), (params, error)
    without = await client.get(f"{API}/datastore_search")
    assert without.status_code == 409 and "resource_id" in without.json()["error"]

    # A link, or a file that is not a table, has no rows to search.
    linked = await client.post(
        f"{API}/resource_create",
        json={"package_id": "stations", "url": "https://example.org/map.geojson", "format": "GeoJSON"},
        headers=_headers,
    )
    not_table = await client.get(f"{API}/datastore_search", params={"resource_id": linked.json()["result"]["id"]})
    assert not_table.status_code == 404


async def test_a_drafts_rows_are_for_publishers_only(client: httpx.AsyncClient, session: AsyncSession) -> None:
    organization = await create_organization(session)
    await create_dataset(session, organization, name="brouillon", private=True)
    headers = await _publisher(session)
    resource = await _upload(client, headers, "brouillon", STATIONS)
    refused = await client.get(f"{API}/datastore_search", params={"resource_id": resource["id"]})
    assert refused.status_code == 403
    assert refused.json()["error"]["__type"] == "Authorization Error"
    allowed = await client.get(f"{API}/datastore_search", params={"resource_id": resource["id"]}, headers=headers)
    assert allowed.status_code == 200 and allowed.json()["result"]["total"] == 5


async def test_a_new_version_replaces_the_rows_and_deleting_drops_them(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    headers, resource_id = await _stations(client, session)
    assert await datastore.tables_of(session, resource_id) == [f"{datastore.table_prefix(resource_id)}1"]
    updated = await client.post(
        f"{API}/resource_update",
        data={"id": resource_id},
        files={"upload": ("mesures.csv", b"station,label\n3,Port\n4,Plage\n", "text/csv")},
        headers=headers,
    )
    assert updated.status_code == 200, updated.text
    rows = await _search(client, resource_id=resource_id)
    assert rows["records"] == [{"_id": 1, "station": 3, "label": "Port"}, {"_id": 2, "station": 4, "label": "Plage"}]
    assert await datastore.tables_of(session, resource_id) == [f"{datastore.table_prefix(resource_id)}2"]

    # A refused upload leaves the published rows as they were.
    refused = await client.post(
        f"{API}/resource_update",
        data={"id": resource_id},
        files={"upload": ("mesures.csv", b"station,label\n3,Port,extra\n", "text/csv")},
        headers=headers,
    )
    assert refused.status_code == 409
    assert (await _search(client, resource_id=resource_id))["total"] == 2

    deleted = await client.post(f"{API}/resource_delete", json={"id": resource_id}, headers=headers)
    assert deleted.status_code == 200
    assert await datastore.tables_of(session, resource_id) == []
    gone = await client.get(f"{API}/datastore_search", params={"resource_id": resource_id})
    assert gone.status_code == 404


async def test_a_deleted_datasets_tables_are_dropped_by_the_upkeep(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    headers, resource_id = await _stations(client, session)
    _other_headers, kept = await _stations(client, session, "stations-bis")
    await client.post(f"{API}/package_delete", json={"id": "stations"}, headers=headers)
    assert await prune_datastore(session) == 1
    assert await datastore.tables_of(session, resource_id) == []
    assert await datastore.tables_of(session, kept) != []


async def test_a_version_stored_before_the_datastore_is_loaded_on_its_first_search(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _headers, resource_id = await _stations(client, session)
    for name in await datastore.tables_of(session, resource_id):
        await session.execute(text(f'DROP TABLE "{name}"'))
    assert (await _search(client, resource_id=resource_id, filters=json.dumps({"station": 9})))["total"] == 1


async def test_cells_written_in_a_schemas_own_way_are_kept_as_text(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    organization = await create_organization(session)
    await create_dataset(session, organization, name="sondage")
    headers = await _publisher(session)
    schema = {
        "fields": [
            {"name": "question", "type": "string"},
            {"name": "agree", "type": "boolean", "trueValues": ["oui"], "falseValues": ["non"]},
            {"name": "answered", "type": "date", "format": "%d/%m/%Y"},
        ]
    }
    answer = await client.post(
        f"{API}/resource_create",
        data={"package_id": "sondage", "schema": json.dumps(schema)},
        files={
            "upload": ("sondage.csv", b"question,agree,answered\nQ1,oui,02/11/2026\nQ2,non,03/11/2026\n", "text/csv")
        },
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    found = await _search(client, resource_id=answer.json()["result"]["id"], filters=json.dumps({"agree": "oui"}))
    assert found["records"] == [{"_id": 1, "question": "Q1", "agree": "oui", "answered": "02/11/2026"}]


async def test_the_platforms_published_tables_are_searched(
    session: AsyncSession, settings: Settings, client: httpx.AsyncClient, token: str
) -> None:
    await build_city(session, settings, client, token)
    report = await publish_platform(session, settings, utcnow() + timedelta(days=7))
    assert report.failed == []
    view = await opendata.load_view(session, await opendata.find_dataset(session, "signalements"))
    table = next(item for item in view.resources if item.resource.format == "CSV")
    assert table.version is not None
    result = await _search(client, resource_id=table.resource.uuid, limit=1)
    assert result["total"] == table.version.row_count and result["total"] > 0
    first = result["records"][0]
    assert first["_id"] == 1 and isinstance(first["id"], int)
    shown = (await client.get(f"{API}/package_show", params={"id": "signalements"})).json()["result"]
    active = {item["format"]: item["datastore_active"] for item in shown["resources"]}
    assert active["CSV"] is True and active["GeoJSON"] is False


def test_the_ckanapi_client_searches_the_datastore(live: LiveCatalogue, tmp_path: Path) -> None:
    remote = ckanapi.RemoteCKAN(live.url, apikey=live.token)
    remote.action.package_create(name="comptages", title="Comptages", owner_org="mobilite", license_id="etalab-2.0")
    source = tmp_path / "comptages.csv"
    source.write_text("counter,cyclists\nA,10\nB,4\nA,7\n", encoding="utf-8")
    with source.open("rb") as upload:
        resource = remote.action.resource_create(package_id="comptages", name="Comptages", upload=upload)
    anonymous = ckanapi.RemoteCKAN(live.url)
    result = anonymous.action.datastore_search(resource_id=resource["id"], filters={"counter": "A"}, sort="cyclists")
    assert [record["cyclists"] for record in result["records"]] == [7, 10]
    assert result["total"] == 2
    with pytest.raises(ckanapi.ValidationError):
        anonymous.action.datastore_search(resource_id=resource["id"], filters={"colour": "red"})
    with pytest.raises(ckanapi.NotFound):
        anonymous.action.datastore_search(resource_id="no-such-resource")


def test_autogenerate_ignores_the_datastores_tables() -> None:
    # Made at run time like CKAN's DataStore: no model or migration describes them (citoyen.migrations).
    name = datastore.table_prefix("0f8fad5b-d9cb-469f-a165-70867728950e") + "3"
    assert include_object(None, name, "table", True, None) is False
    assert include_object(None, name + "t", "table", True, None) is False
    assert include_object(None, "opendata_resources", "table", True, None) is True


async def test_a_total_past_the_threshold_is_estimated(
    client: httpx.AsyncClient, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    _headers, resource_id = await _stations(client, session)
    params = {"resource_id": resource_id, "filters": json.dumps({"station": 12})}
    exact = await _search(client, **params)
    assert (exact["total"], exact["total_was_estimated"]) == (3, False)
    estimated = await _search(client, **params, total_estimation_threshold=1)
    assert estimated["total_was_estimated"] is True and estimated["total"] >= 1
    assert [r["_id"] for r in estimated["records"]] == [1, 3, 5]  # the records themselves are all there

    # SQLite: several filters that each match many rows (here: 2) are estimated at once, not counted together
    # (which would run out of its time budget on a big table); a filter matching few rows is still counted.
    monkeypatch.setattr(datastore, "SQLITE_LOOKUPS_IN_BUDGET", 2)
    both = await _search(client, resource_id=resource_id, filters=json.dumps({"station": 12, "valid": True}))
    assert [r["_id"] for r in both["records"]] == [1, 3] and both["total"] == 2
    assert both["total_was_estimated"] is (session.get_bind().dialect.name == "sqlite")
    few = await _search(client, resource_id=resource_id, filters=json.dumps({"station": 9, "valid": True}))
    assert (few["total"], few["total_was_estimated"]) == (1, False)
