"""The indicators API: the list with definitions, series for the city and a quartier, and its refusals in the
house's JSON error format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.indicators import service as indicators
from citoyen.territory import service as territory
from tests.indicators.helpers import EAST, WEST, City, create_city, create_thing, network_meter, send


@pytest.fixture
async def city(session: AsyncSession, client: httpx.AsyncClient, token: str) -> City:
    city = await create_city(session, client, token)
    await send(client, token, city.west_no2, [["2026-11-25T10:00:00Z", 40], ["2026-11-25T10:30:00Z", 50]])
    await send(client, token, city.east_no2, [["2026-11-25T10:15:00Z", 20], ["2026-11-26T09:00:00Z", 130]])
    await send(client, token, city.bicycles, [["2026-11-25T07:00:00Z", 120], ["2026-11-26T08:00:00Z", 300]])
    await indicators.fold(session)  # as the app's timer does a few seconds later
    await session.commit()
    return city


async def test_the_list_says_what_each_indicator_is_and_whether_it_has_data(
    client: httpx.AsyncClient, city: City
) -> None:
    response = await client.get("/api/indicators")
    assert response.status_code == 200
    items = {item["id"]: item for item in response.json()["indicators"]}
    assert items["air-no2"]["latest_day"].startswith("2026-11-26T00:00:00")
    assert items["air-pm10"]["latest_day"] is None  # no PM10 sensor
    assert items["air-atmo"]["steps"] == ["day", "week", "month"]
    assert "1\u00a0000 habitants" in items["reports-filed"]["definition"]
    assert "1,000 residents" in items["reports-filed"]["definition_en"]


async def test_today_is_not_the_latest_day_while_it_is_measured(
    client: httpx.AsyncClient, city: City, token: str, session: AsyncSession
) -> None:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    yesterday = today - timedelta(days=1)
    await send(
        client,
        token,
        city.bicycles,
        [[(yesterday + timedelta(hours=12)).isoformat(), 500], [today.isoformat(), 3]],
    )
    await indicators.fold(session)
    await session.commit()
    items = {item["id"]: item for item in (await client.get("/api/indicators")).json()["indicators"]}
    assert datetime.fromisoformat(items["mobility-bicycles"]["latest_day"]) == yesterday
    # Without a period, the chart ends with the last complete day.
    series = (await client.get("/api/indicators/mobility-bicycles/series", params={"step": "day"})).json()
    assert datetime.fromisoformat(series["to"]) == today
    assert series["points"][-1]["value"] == 500


async def test_a_series_for_the_city_and_for_a_quartier(client: httpx.AsyncClient, city: City) -> None:
    period = {"from": "2026-11-25T00:00:00Z", "to": "2026-11-27T00:00:00Z", "step": "day"}
    whole = (await client.get("/api/indicators/air-no2/series", params=period)).json()
    # The city's daily mean: every reading of the day, whichever quartier.
    assert [point["value"] for point in whole["points"]] == [pytest.approx(110 / 3), 130.0]
    west = (await client.get("/api/indicators/air-no2/series", params={**period, "neighbourhood": city.west})).json()
    assert [point["value"] for point in west["points"]] == [45.0, None]
    hourly = await client.get(
        "/api/indicators/mobility-bicycles/series",
        params={"from": "2026-11-25T06:00:00Z", "to": "2026-11-25T09:00:00Z", "step": "hour"},
    )
    assert [(p["start"][11:16], p["value"]) for p in hourly.json()["points"]] == [
        ("06:00", None),
        ("07:00", 120.0),
        ("08:00", None),
    ]
    # Bucket starts in UTC with a Z, across a day's end, and weeks from Monday, months from the 1st.
    night = await client.get(
        "/api/indicators/air-no2/series",
        params={"from": "2026-11-25T23:00:00Z", "to": "2026-11-26T10:00:00Z", "step": "hour"},
    )
    points = night.json()["points"]
    assert [p["start"] for p in points[:2]] == ["2026-11-25T23:00:00Z", "2026-11-26T00:00:00Z"]
    assert (points[-1]["start"], points[-1]["value"]) == ("2026-11-26T09:00:00Z", 130.0)
    for step, first in (("week", "2026-11-23T00:00:00Z"), ("month", "2026-11-01T00:00:00Z")):
        longer = {"from": "2026-11-24T00:00:00Z", "to": "2026-11-30T00:00:00Z", "step": step}
        found = (await client.get("/api/indicators/air-no2/series", params=longer)).json()["points"]
        assert [(p["start"], p["value"]) for p in found] == [(first, 60.0)]  # (40 + 50 + 20 + 130) / 4
    # ATMO, on NO2's highest reading of the day: 50 µg/m³ on the 25th is class 2 (41-90), 130 on the 26th class 4
    # (121-230); the east alone reads 20 on the 25th: class 1 (up to 40).
    atmo = (await client.get("/api/indicators/air-atmo/series", params=period)).json()
    assert [point["value"] for point in atmo["points"]] == [2, 4]
    east_atmo = await client.get("/api/indicators/air-atmo/series", params={**period, "neighbourhood": city.east})
    assert [point["value"] for point in east_atmo.json()["points"]] == [1, 4]


@pytest.mark.parametrize(
    ("path", "params", "status", "words"),
    [
        ("/api/indicators/nothing/series", {}, 404, "Unknown indicator"),
        ("/api/indicators/air-no2/series", {"neighbourhood": 999999}, 404, "Unknown neighbourhood"),
        ("/api/indicators/air-no2/series", {"step": "decade"}, 400, "Unknown step"),
        ("/api/indicators/air-atmo/series", {"step": "hour"}, 400, "not computed per hour"),
        (
            "/api/indicators/air-no2/series",
            {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
            400,
            "before",
        ),
        (
            "/api/indicators/air-no2/series",
            {"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z", "step": "hour"},
            400,
            "at most 400 days",
        ),
        ("/api/indicators/air-no2/series", {"from": "yesterday"}, 400, "ISO 8601"),
        ("/api/indicators/air-no2/series", {"from": "2026-01-01T00:00:00"}, 400, "time zone"),
    ],
)
async def test_bad_requests_are_refused_with_a_message(
    client: httpx.AsyncClient, path: str, params: dict[str, str | int], status: int, words: str
) -> None:
    response = await client.get(path, params=params)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["status"] == status
    assert words in error["message"]


async def test_the_api_is_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/api/indicators" in paths
    parameters = {p["name"] for p in paths["/api/indicators/{indicator_id}/series"]["get"]["parameters"]}
    assert {"neighbourhood", "from", "to", "step"} <= parameters


async def test_water_and_energy_per_resident_divide_by_the_quartiers_population(
    client: httpx.AsyncClient, city: City, token: str, session: AsyncSession
) -> None:
    west_water = await create_thing(client, token, network_meter(*WEST, "Water supplied"))
    east_water = await create_thing(client, token, network_meter(*EAST, "Eau distribuée"))
    west_energy = await create_thing(client, token, network_meter(*WEST, "Energy delivered"))
    await send(client, token, west_water, [["2026-11-25T10:00:00Z", 150], ["2026-11-25T14:00:00Z", 50]])
    await send(client, token, east_water, [["2026-11-25T10:00:00Z", 300], ["2026-11-26T10:00:00Z", 600]])
    await send(client, token, west_energy, [["2026-11-25T10:00:00Z", 900]])
    # The city's outdoor temperature on the 25th: a mean of 9 °C, so 9 degree-days.
    await send(client, token, city.west_temperature, [["2026-11-25T06:00:00Z", 8], ["2026-11-25T15:00:00Z", 10]])
    await indicators.fold(session)
    period = {"from": "2026-11-25T00:00:00Z", "to": "2026-11-27T00:00:00Z", "step": "day"}
    # No population yet: no per-resident value.
    before = (await client.get("/api/indicators/water-per-resident/series", params=period)).json()
    assert [point["value"] for point in before["points"]] == [None, None]
    await territory.store_populations(session, {city.west: 1000, city.east: 3000}, 2021, "test")
    await session.commit()
    west = await client.get("/api/indicators/water-per-resident/series", params={**period, "neighbourhood": city.west})
    assert [point["value"] for point in west.json()["points"]] == [pytest.approx(0.2), None]
    whole = (await client.get("/api/indicators/water-per-resident/series", params=period)).json()
    # The city: the quartiers measured that day together, over their residents.
    assert [point["value"] for point in whole["points"]] == [pytest.approx(500 / 4000), pytest.approx(0.2)]
    energy = (await client.get("/api/indicators/energy-per-degree-day/series", params=period)).json()
    assert energy["points"][0]["value"] == pytest.approx(900 / 1000 / 9)
    hourly = await client.get("/api/indicators/water-per-resident/series", params={**period, "step": "hour"})
    assert hourly.status_code == 400  # a daily figure
