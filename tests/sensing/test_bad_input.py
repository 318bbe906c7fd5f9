"""Bad input to the SensorThings API: each gets a 4xx in SensorThings' error object, and nothing is stored."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.sensing import models
from tests.sensing.helpers import STA, bearer, create_station, station

TABLES = (
    models.Thing,
    models.Location,
    models.HistoricalLocation,
    models.Sensor,
    models.ObservedProperty,
    models.Datastream,
    models.FeatureOfInterest,
    models.Observation,
)


async def stored(session: AsyncSession) -> dict[str, int]:
    return {
        table.__tablename__: (await session.execute(select(func.count()).select_from(table))).scalar_one()
        for table in TABLES
    }


def assert_sta_error(response: httpx.Response, status: int | None = None) -> None:
    assert 400 <= response.status_code < 500, response.text
    if status is not None:
        assert response.status_code == status, response.text
    error = response.json()
    assert error["type"] == "error"
    assert error["code"] == response.status_code
    assert error["message"]


def location(geometry: Any) -> dict[str, Any]:
    return {
        "name": "Site",
        "description": "Somewhere",
        "encodingType": "application/geo+json",
        "location": geometry,
    }


async def post_raw(client: httpx.AsyncClient, token: str, path: str, content: bytes | str) -> httpx.Response:
    headers = {**bearer(token), "Content-Type": "application/json"}
    return await client.post(f"{STA}/{path}", content=content, headers=headers)


async def test_a_deeply_nested_body_is_refused_without_storing(
    client: httpx.AsyncClient, token: str, session: AsyncSession
) -> None:
    before = await stored(session)
    for path in ("Things", "CreateObservations"):
        response = await post_raw(client, token, path, "[" * 5_000_000 + "]" * 5_000_000)
        assert_sta_error(response, 400)
        assert "nested" in response.json()["message"]
    assert await stored(session) == before


async def test_numbers_beyond_a_double_nan_and_infinity_are_refused(
    client: httpx.AsyncClient, token: str, session: AsyncSession
) -> None:
    thing = await create_station(client, token)
    datastream_id = thing["Datastreams"][0]["@iot.id"]
    before = await stored(session)
    bodies = [
        '{"phenomenonTime": "2026-11-25T10:00:00Z", "result": 1e400}',
        '{"phenomenonTime": "2026-11-25T10:00:00Z", "result": NaN}',
        '{"phenomenonTime": "2026-11-25T10:00:00Z", "result": -Infinity}',
    ]
    for body in bodies:
        assert_sta_error(await post_raw(client, token, f"Datastreams({datastream_id})/Observations", body), 400)
    batch = f'[{{"Datastream": {{"@iot.id": {datastream_id}}}, "components": ["result"], "dataArray": [[1e400]]}}]'
    assert_sta_error(await post_raw(client, token, "CreateObservations", batch), 400)
    nan_location = '{"name": "x", "description": "x", "encodingType": "application/geo+json", '
    nan_location += '"location": {"type": "Point", "coordinates": [NaN, NaN]}}'
    assert_sta_error(await post_raw(client, token, "Locations", nan_location), 400)
    assert await stored(session) == before


@pytest.mark.parametrize(
    "name",
    ["Station \ud800", "Station\x00Bastille", "Station\x07", "Line\nbreak"],
    ids=["lone-surrogate", "nul", "bell", "newline"],
)
async def test_names_that_cannot_be_stored_or_shown_are_refused(
    client: httpx.AsyncClient, token: str, session: AsyncSession, name: str
) -> None:
    before = await stored(session)
    body = station()
    body["name"] = name
    response = await post_raw(client, token, "Things", json.dumps(body))
    assert_sta_error(response, 400)
    assert await stored(session) == before


async def test_a_description_may_hold_line_breaks_but_no_nul(client: httpx.AsyncClient, token: str) -> None:
    body = station()
    body["description"] = "First line\n\tSecond line"
    assert (await client.post(f"{STA}/Things", json=body, headers=bearer(token))).status_code == 201
    body = station(name="Other")
    body["Datastreams"][0]["description"] = "NUL \x00 here"
    assert_sta_error(await client.post(f"{STA}/Things", json=body, headers=bearer(token)), 400)


async def test_texts_and_json_beyond_the_configured_sizes_are_refused(
    client: httpx.AsyncClient, token: str, session: AsyncSession
) -> None:
    before = await stored(session)
    big_description = station()
    big_description["description"] = "x" * 10_000_001
    response = await client.post(f"{STA}/Things", json=big_description, headers=bearer(token))
    assert_sta_error(response, 400)
    assert "10,000 characters" in response.json()["message"]
    long_name = station()
    long_name["name"] = "n" * 301
    assert_sta_error(await client.post(f"{STA}/Things", json=long_name, headers=bearer(token)), 400)
    big_properties = station()
    big_properties["properties"]["blob"] = "y" * 70_000
    response = await client.post(f"{STA}/Things", json=big_properties, headers=bearer(token))
    assert_sta_error(response, 400)
    assert "properties" in response.json()["message"]
    long_encoding = station()
    long_encoding["Locations"][0]["encodingType"] = "z" * 101
    assert_sta_error(await client.post(f"{STA}/Things", json=long_encoding, headers=bearer(token)), 400)
    assert await stored(session) == before

    thing = await create_station(client, token)
    datastream_id = thing["Datastreams"][0]["@iot.id"]
    before = await stored(session)
    big_result = {"phenomenonTime": "2026-11-25T10:00:00Z", "result": {"samples": list(range(20_000))}}
    response = await client.post(
        f"{STA}/Datastreams({datastream_id})/Observations", json=big_result, headers=bearer(token)
    )
    assert_sta_error(response, 400)
    batch = [
        {
            "Datastream": {"@iot.id": datastream_id},
            "components": ["phenomenonTime", "result", "parameters"],
            "dataArray": [["2026-11-25T10:00:00Z", 1.0, {"note": "p" * 70_000}]],
        }
    ]
    answer = await client.post(f"{STA}/CreateObservations", json=batch, headers=bearer(token))
    assert answer.status_code == 201
    assert answer.json()[0].startswith("error: parameters is larger than 65,536 bytes")
    assert await stored(session) == before


@pytest.mark.parametrize(
    "geometry",
    [
        {"type": "Point", "coordinates": [200, 48.85]},
        {"type": "Point", "coordinates": [2.35, -95]},
        {"type": "Point"},
        {"type": "Point", "coordinates": []},
        {"type": "Polygon", "coordinates": [[[2.3, 48.8], [2.4, 48.8], [2.4, 48.9], [2.3, 48.9]]]},
        {"type": "Polygon", "coordinates": [[[2.3, 48.8], [2.4, 48.9], [2.4, 48.8], [2.3, 48.9], [2.3, 48.8]]]},
        {"type": "LineString", "coordinates": [[2.3, 48.8]]},
        {"type": "Circle", "coordinates": [2.3, 48.8]},
        {"type": "Point", "coordinates": ["2.3", "48.8"]},
        "not geojson",
    ],
    ids=[
        "longitude-200",
        "latitude-minus-95",
        "point-without-coordinates",
        "point-empty",
        "unclosed-polygon",
        "self-intersecting-polygon",
        "one-point-line",
        "unknown-type",
        "coordinates-as-text",
        "text",
    ],
)
async def test_invalid_locations_are_refused(
    client: httpx.AsyncClient, token: str, session: AsyncSession, geometry: Any
) -> None:
    before = await stored(session)
    response = await client.post(f"{STA}/Locations", json=location(geometry), headers=bearer(token))
    assert_sta_error(response, 400)
    assert await stored(session) == before


async def test_a_self_intersecting_polygon_is_refused_with_the_reason(client: httpx.AsyncClient, token: str) -> None:
    bowtie = {"type": "Polygon", "coordinates": [[[2.3, 48.8], [2.4, 48.9], [2.4, 48.8], [2.3, 48.9], [2.3, 48.8]]]}
    response = await client.post(f"{STA}/Locations", json=location(bowtie), headers=bearer(token))
    assert response.status_code == 400
    assert "Self-intersection" in response.json()["message"]


async def test_valid_geometries_are_still_stored(client: httpx.AsyncClient, token: str) -> None:
    square = {"type": "Polygon", "coordinates": [[[2.3, 48.8], [2.4, 48.8], [2.4, 48.9], [2.3, 48.9], [2.3, 48.8]]]}
    feature = {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [-180, 90, 35]}}
    for geometry in (square, feature):
        response = await client.post(f"{STA}/Locations", json=location(geometry), headers=bearer(token))
        assert response.status_code == 201, response.text


async def test_ids_beyond_64_bits_name_nothing_on_every_database(
    client: httpx.AsyncClient, token: str, session: AsyncSession
) -> None:
    thing = await create_station(client, token)
    huge = 2**70
    for path in (f"Things({huge})", "Things(99999999999999999999)", f"Things({huge})/Datastreams"):
        assert_sta_error(await client.get(f"{STA}/{path}"), 404)
    assert_sta_error(await client.patch(f"{STA}/Things({huge})", json={"name": "x"}, headers=bearer(token)), 404)
    assert_sta_error(await client.delete(f"{STA}/Things({huge})", headers=bearer(token)), 404)
    before = await stored(session)
    linked = copy.deepcopy(station(name="Linked"))
    linked["Datastreams"][0]["Sensor"] = {"@iot.id": huge}
    assert_sta_error(await client.post(f"{STA}/Things", json=linked, headers=bearer(token)), 400)
    observation = {"phenomenonTime": "2026-11-25T10:00:00Z", "result": 1, "Datastream": {"@iot.id": huge}}
    assert_sta_error(await client.post(f"{STA}/Observations", json=observation, headers=bearer(token)), 400)
    batch = [{"Datastream": {"@iot.id": huge}, "components": ["result"], "dataArray": [[1]]}]
    assert_sta_error(await client.post(f"{STA}/CreateObservations", json=batch, headers=bearer(token)), 400)
    datastream_id = thing["Datastreams"][0]["@iot.id"]
    batch = [
        {
            "Datastream": {"@iot.id": datastream_id},
            "components": ["result", "FeatureOfInterest/id"],
            "dataArray": [[1, huge]],
        }
    ]
    answer = await client.post(f"{STA}/CreateObservations", json=batch, headers=bearer(token))
    assert answer.status_code == 201
    assert answer.json() == [f"error: FeatureOfInterest({huge}) does not exist"]
    assert await stored(session) == before


async def test_a_thing_owned_by_a_person_who_does_not_exist_is_refused(
    client: httpx.AsyncClient, token: str, session: AsyncSession
) -> None:
    before = await stored(session)
    for owner in (987_654, 2**70):
        body = station()
        body["properties"]["citoyen"] = {"access": "personal", "kind": "energy", "owner": owner}
        response = await client.post(f"{STA}/Things", json=body, headers=bearer(token))
        assert_sta_error(response, 400)
        assert "no person" in response.json()["message"]
    assert await stored(session) == before
