"""Ingest notes what it changed, the fold brings the rollups up to date from it, and a rebuild from the raw readings
gives the same: for new readings, changed ones and deleted ones."""

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
    # One request for two Datastreams of two quartiers (one write, one ReadingsChanged), and a single POST.
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
    # Ingest only noted what it touched: the rollups wait for the fold (the app's timer, a few seconds later).
    assert await rollups(session) == ({}, {})
    assert await indicators.pending_since(session) is not None
    folded = await indicators.fold(session)
    assert folded is not None and folded.datastreams == 4  # the temperature too: not an indicator, still kept
    assert await indicators.pending_since(session) is None
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
    await indicators.fold(session)
    await session.commit()
    streams, _ = await rollups(session)
    days = {key[2]: value[0] for key, value in streams.items() if key[0] == city.west_no2 and key[1] == "day"}
    assert days == {utc("2026-03-28T00:00:00Z"): 1, utc("2026-03-29T00:00:00Z"): 2}
    hours = {key[2]: value[1] for key, value in streams.items() if key[0] == city.west_no2 and key[1] == "hour"}
    assert hours == {utc("2026-03-28T23:00:00Z"): 1.0, utc("2026-03-29T00:00:00Z"): 6.0}
    await indicators.rebuild(session)
    assert (await rollups(session))[0] == streams


async def test_changed_and_deleted_readings_are_folded_in_as_new_ones_are(
    session: AsyncSession, client: httpx.AsyncClient, token: str
) -> None:
    city = await create_city(session, client, token)
    first, second, third = await send(
        client,
        token,
        city.west_no2,
        [["2026-11-25T10:00:00Z", 40], ["2026-11-25T10:30:00Z", 50], ["2026-11-25T11:00:00Z", 30]],
    )
    await send(client, token, city.east_no2, [["2026-11-25T10:15:00Z", 20]])
    await send(client, token, city.bicycles, [["2026-11-25T07:00:00Z", 120]])
    await indicators.fold(session)
    await session.commit()
    hour, day = utc("2026-11-25T10:00:00Z"), utc("2026-11-25T00:00:00Z")
    assert (await rollups(session))[0][(city.west_no2, "hour", hour)] == (2, 90.0, 40.0, 50.0)

    # A reading corrected, another moved to the next day, one deleted, and a whole Datastream deleted.
    changed = await client.patch(f"{STA}/Observations({first})", json={"result": 44}, headers=bearer(token))
    assert changed.status_code == 200, changed.text
    moved = {"phenomenonTime": "2026-11-26T08:00:00Z"}
    assert (await client.patch(f"{STA}/Observations({third})", json=moved, headers=bearer(token))).status_code == 200
    assert (await client.delete(f"{STA}/Observations({second})", headers=bearer(token))).status_code == 200
    assert (await client.delete(f"{STA}/Datastreams({city.east_no2})", headers=bearer(token))).status_code == 200
    await session.commit()
    await indicators.fold(session)
    streams, areas = kept = await rollups(session)
    assert streams[(city.west_no2, "hour", hour)] == (1, 44.0, 44.0, 44.0)
    assert (city.west_no2, "hour", utc("2026-11-25T11:00:00Z")) not in streams
    assert streams[(city.west_no2, "day", utc("2026-11-26T00:00:00Z"))] == (1, 30.0, 30.0, 30.0)
    assert areas[(city.west, "no2", "day", day)] == (1, 44.0, 44.0, 44.0)
    assert not [key for key in {**streams, **areas} if city.east_no2 in key[:1] or city.east in key[:1]]
    assert areas[(city.west, "bicycles", "day", day)] == (1, 120.0, 120.0, 120.0)  # untouched: kept

    await indicators.rebuild(session)
    assert await rollups(session) == kept


def test_observed_properties_are_recognised() -> None:
    assert indicators.quantity_of("Nitrogen dioxide (NO2)") == "no2"
    assert indicators.quantity_of("Nitrogen oxides (NOx)") == "nitrogen oxides (nox)"
    assert indicators.quantity_of("PM2.5") == "pm25"
    assert indicators.quantity_of("Bicycles passing") == "bicycles"
