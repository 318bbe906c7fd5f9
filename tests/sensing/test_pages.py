"""Citizens' sensor pages: the map layer, a sensor's page, its chart's series (downsampled on the server) and the
access rules: restricted sensors give hourly means only, personal ones are seen by their owner and staff only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.people.models import AccessLogEntry, Role
from citoyen.sensing import portal
from citoyen.sensing.models import ThingAccess, ThingKind
from tests.factories import create_person, log_in
from tests.sensing.live_helpers import add_readings, create_sensor


def minutes_back(count: int, now: datetime) -> list[tuple[datetime, float]]:
    """One reading a minute for `count` minutes up to `now`, value = minutes since the epoch's hour (varies)."""
    return [(now - timedelta(minutes=step), float(step % 60)) for step in range(count)]


async def test_the_map_layer_shows_public_and_restricted_sensors_never_personal(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    owner = await create_person(session)
    air = await create_sensor(session, kind=ThingKind.AIR, name="Air Halles", lon=2.3470, lat=48.8620)
    flats = await create_sensor(session, ThingAccess.RESTRICTED, ThingKind.ENERGY, name="Block of flats")
    home = await create_sensor(session, ThingAccess.PERSONAL, ThingKind.WATER, owner.id, name="My flat")
    await session.commit()
    response = await client.get("/api/sensing/things.geojson")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    features = {f["properties"]["id"]: f for f in response.json()["features"]}
    assert air.thing_id in features and flats.thing_id in features and home.thing_id not in features
    assert features[air.thing_id]["geometry"]["coordinates"] == [2.3470, 48.8620]
    assert features[air.thing_id]["properties"]["kind"] == "air"
    assert features[flats.thing_id]["properties"]["access"] == "restricted"

    home_page = await client.get("/")
    assert 'data-sensors-url="/api/sensing/things.geojson"' in home_page.text
    for kind in ("air", "water", "energy", "mobility"):
        assert f'id="sensors-{kind}"' in home_page.text


async def test_a_public_sensor_page_shows_latest_values_chart_and_table(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await create_sensor(session, name="Station Belleville")
    now = utcnow().replace(second=0, microsecond=0)
    await add_readings(session, world, [(now - timedelta(minutes=10), 31.5), (now - timedelta(minutes=5), 42.25)])
    await session.commit()
    response = await client.get(f"/sensing/things/{world.thing_id}", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    assert "Station Belleville" in response.text
    assert "42.25" in response.text and "µg/m³" in response.text
    assert 'id="sensor-chart"' in response.text and 'data-live="true"' in response.text
    assert "uplot-1.6.32/uPlot.iife.min.js" in response.text
    # The table alternative is rendered on the server, newest first.
    table = response.text[response.text.index('id="chart-table"') :]
    assert table.index("42.25") < table.index("31.50")


async def test_series_are_raw_for_a_day_and_means_for_longer_spans(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await create_sensor(session)
    now = utcnow().replace(second=0, microsecond=0)
    await add_readings(session, world, minutes_back(3 * 24 * 60, now))
    await add_readings(session, world, [(now - timedelta(days=40), 99.0)])  # outside every span
    await session.commit()
    day = (await client.get(f"/api/sensing/datastreams/{world.datastream_id}/series?span=day")).json()
    assert day["bucketSeconds"] is None
    assert 1439 <= len(day["points"]) <= 1441
    assert day["points"][-1] == [int(now.timestamp()), 0.0]
    week = (await client.get(f"/api/sensing/datastreams/{world.datastream_id}/series?span=week")).json()
    assert week["bucketSeconds"] == 900
    assert 3 * 24 * 4 <= len(week["points"]) <= 3 * 24 * 4 + 1
    month = (await client.get(f"/api/sensing/datastreams/{world.datastream_id}/series?span=month")).json()
    assert month["bucketSeconds"] == 3600
    full_hours = [value for start, value in month["points"][1:-1]]
    assert all(abs(value - 29.5) < 1e-9 for value in full_hours)  # the mean of 0..59
    assert 99.0 not in [value for _start, value in month["points"]]
    bad = await client.get(f"/api/sensing/datastreams/{world.datastream_id}/series?span=year")
    assert bad.status_code == 400 and "error" in bad.json()
    assert (await client.get("/api/sensing/datastreams/999999/series")).status_code == 404


async def test_a_restricted_sensor_shows_hourly_means_only(client: httpx.AsyncClient, session: AsyncSession) -> None:
    world = await create_sensor(session, ThingAccess.RESTRICTED, ThingKind.ENERGY)
    now = utcnow().replace(second=0, microsecond=0)
    readings = minutes_back(6 * 60, now)
    readings.append((now - timedelta(minutes=7, seconds=30), 1234.5))  # a conspicuous raw reading
    await add_readings(session, world, readings)
    await session.commit()
    day = (await client.get(f"/api/sensing/datastreams/{world.datastream_id}/series?span=day")).json()
    assert day["bucketSeconds"] == 3600
    values = [value for _start, value in day["points"]]
    assert 1234.5 not in values and len(values) <= 6
    current_hour = int(now.replace(minute=0).timestamp())
    assert all(start < current_hour for start, _value in day["points"])  # the hour in progress is not shown
    page = await client.get(f"/sensing/things/{world.thing_id}", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert "1234.50" not in page.text and "hourly means only" in page.text
    assert 'data-live="false"' in page.text
    live = await client.get(f"/api/sensing/datastreams/{world.datastream_id}/live")
    assert live.status_code == 403

    staff = await create_person(session, role=Role.STAFF)
    await session.commit()
    await log_in(client, staff.email)
    staff_day = (await client.get(f"/api/sensing/datastreams/{world.datastream_id}/series?span=day")).json()
    assert staff_day["bucketSeconds"] is None and 1234.5 in [value for _t, value in staff_day["points"]]


async def test_a_personal_sensor_is_for_its_owner_and_staff_only(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    owner = await create_person(session)
    neighbour = await create_person(session)
    staff = await create_person(session, role=Role.STAFF)
    world = await create_sensor(session, ThingAccess.PERSONAL, ThingKind.WATER, owner.id, name="Flat 3B water")
    await add_readings(session, world, [(utcnow() - timedelta(minutes=3), 12.0)])
    await session.commit()
    paths = (f"/sensing/things/{world.thing_id}", f"/api/sensing/datastreams/{world.datastream_id}/series")
    for path in paths:
        assert (await client.get(path)).status_code == 404  # anonymous: as if it did not exist
    await log_in(client, neighbour.email)
    for path in paths:
        assert (await client.get(path)).status_code == 404
    await log_in(client, owner.email)
    page = await client.get(paths[0])
    assert page.status_code == 200 and "Flat 3B water" in page.text and 'data-live="true"' in page.text
    assert (await client.get(paths[1])).json()["points"][-1][1] == 12.0
    log_entries = (await session.execute(select(AccessLogEntry).where(AccessLogEntry.subject_id == owner.id))).all()
    assert log_entries == []  # people reading their own data are not logged
    await log_in(client, staff.email)
    assert (await client.get(paths[0])).status_code == 200
    logged = (await session.execute(select(AccessLogEntry).where(AccessLogEntry.subject_id == owner.id))).scalars()
    assert [entry.actor_id for entry in logged] == [staff.id]


async def test_hourly_bucketing_is_the_same_on_every_backend(session: AsyncSession) -> None:
    world = await create_sensor(session)
    base = datetime(2026, 1, 5, 10, tzinfo=UTC)
    await add_readings(session, world, [(base + timedelta(minutes=m), float(m)) for m in (0, 30, 59, 60, 61)])
    points = await portal._bucketed(session, world.datastream_id, base, base + timedelta(hours=3), 3600)
    assert points == [(base, (0 + 30 + 59) / 3), (base + timedelta(hours=1), 60.5)]
