"""Rollups grow with the readings, in their transaction, and a rebuild from the raw readings gives the same."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.indicators import service as indicators
from tests.indicators.helpers import create_city, rollups, send
from tests.sensing.helpers import STA, bearer


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


async def test_rollups_kept_on_ingest_equal_the_rebuilt_ones(
    session: AsyncSession, client: httpx.AsyncClient, token: str
) -> None:
    city = await create_city(session, client, token)
    await send(client, token, city.west_no2, [["2026-11-25T10:00:00Z", 40], ["2026-11-25T10:30:00Z", 50]])
    await send(client, token, city.west_no2, [["2026-11-25T11:00:00Z", 30], ["2026-11-26T00:10:00+01:00", 70]])
    await send(client, token, city.east_no2, [["2026-11-25T10:15:00Z", 20], ["2026-11-25T10:45:00Z", "n/a"]])
    await send(client, token, city.west_temperature, [["2026-11-25T10:00:00Z", 8.5]])
    await send(client, token, city.bicycles, [["2026-11-25T07:00:00Z", 120], ["2026-11-25T08:00:00Z", 300]])
    # One request for two Datastreams of two quartiers (one write, one ReadingsStored), and a single POST.
    both = [
        {"Datastream": {"@iot.id": stream}, "components": ["phenomenonTime", "result"], "dataArray": readings}
        for stream, readings in (
            (city.west_no2, [["2026-11-24T09:00:00Z", 10]]),
            (city.east_no2, [["2026-11-24T09:30:00Z", 12.5]]),
        )
    ]
    response = await client.post(f"{STA}/CreateObservations", json=both, headers=bearer(token))
    assert response.status_code == 201, response.text
    single = {"phenomenonTime": "2026-11-24T09:45:00Z", "result": 14, "Datastream": {"@iot.id": city.east_no2}}
    response = await client.post(f"{STA}/Observations", json=single, headers=bearer(token))
    assert response.status_code == 201, response.text
    await session.commit()
    kept = await rollups(session)
    assert kept[0][(city.east_no2, "hour", utc("2026-11-24T09:00:00Z"))] == (2, 26.5, 12.5, 14.0)
    assert kept[1][(city.west, "no2", "day", utc("2026-11-24T00:00:00Z"))] == (1, 10.0, 10.0, 10.0)

    streams, areas = kept
    hour = utc("2026-11-25T10:00:00Z")
    assert streams[(city.west_no2, "hour", hour)] == (2, 90.0, 40.0, 50.0)
    # The text result is not a number: left out.
    assert streams[(city.east_no2, "hour", hour)] == (1, 20.0, 20.0, 20.0)
    # 00:10 in Paris's winter time is 23:10 UTC the day before: buckets are UTC.
    assert streams[(city.west_no2, "hour", utc("2026-11-25T23:00:00Z"))] == (1, 70.0, 70.0, 70.0)
    assert streams[(city.west_no2, "day", utc("2026-11-25T00:00:00Z"))] == (4, 190.0, 30.0, 70.0)
    assert (city.west, "no2", "hour", hour) in areas
    assert areas[(city.west, "bicycles", "day", utc("2026-11-25T00:00:00Z"))] == (2, 420.0, 120.0, 300.0)
    assert areas[(city.east, "no2", "day", utc("2026-11-25T00:00:00Z"))] == (1, 20.0, 20.0, 20.0)

    rebuilt = await indicators.rebuild(session)
    assert rebuilt.datastreams == 5  # two stations of two Datastreams each, and the counter
    assert await rollups(session) == kept


async def test_bucket_boundaries_are_utc_hours_and_days(
    session: AsyncSession, client: httpx.AsyncClient, token: str
) -> None:
    city = await create_city(session, client, token)
    await send(
        client,
        token,
        city.west_no2,
        [["2026-03-28T23:59:59Z", 1], ["2026-03-29T00:00:00Z", 2], ["2026-03-29T02:30:00+02:00", 4]],
    )
    await session.commit()
    streams, _ = await rollups(session)
    days = {key[2]: value[0] for key, value in streams.items() if key[0] == city.west_no2 and key[1] == "day"}
    assert days == {utc("2026-03-28T00:00:00Z"): 1, utc("2026-03-29T00:00:00Z"): 2}
    hours = {key[2]: value[1] for key, value in streams.items() if key[0] == city.west_no2 and key[1] == "hour"}
    assert hours == {utc("2026-03-28T23:00:00Z"): 1.0, utc("2026-03-29T00:00:00Z"): 6.0}
    await indicators.rebuild(session)
    assert (await rollups(session))[0] == streams


def test_batch_cells_sum_by_utc_hour_and_day_and_leave_out_what_is_not_a_number() -> None:
    times = (
        utc("2026-01-01T10:20:00Z"),
        utc("2026-01-01T10:40:00Z"),
        utc("2026-01-01T12:05:00+01:00"),
        datetime(2026, 1, 1, 23, 59),  # naive: UTC
        utc("2026-01-01T10:00:00Z"),
    )
    cells = indicators.batch_cells((1, 1, 1, 1, 2), times, (3.0, None, 5.0, -1.0, 7.0))
    assert cells == {
        (1, "hour", utc("2026-01-01T10:00:00Z")): [1, 3.0, 3.0, 3.0],
        (1, "hour", utc("2026-01-01T11:00:00Z")): [1, 5.0, 5.0, 5.0],
        (1, "hour", utc("2026-01-01T23:00:00Z")): [1, -1.0, -1.0, -1.0],
        (1, "day", utc("2026-01-01T00:00:00Z")): [3, 7.0, -1.0, 5.0],
        (2, "hour", utc("2026-01-01T10:00:00Z")): [1, 7.0, 7.0, 7.0],
        (2, "day", utc("2026-01-01T00:00:00Z")): [1, 7.0, 7.0, 7.0],
    }


def test_observed_properties_are_recognised() -> None:
    assert indicators.quantity_of("Nitrogen dioxide (NO2)") == "no2"
    assert indicators.quantity_of("Nitrogen oxides (NOx)") == "nitrogen oxides (nox)"
    assert indicators.quantity_of("PM2.5") == "pm25"
    assert indicators.quantity_of("Bicycles passing") == "bicycles"
