"""The demo's sensors: real series replayed so that their last reading is now, synthetic meters with daily and
weekly cycles, and a demo that builds them (quickly) on every backend."""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from citoyen.config import Settings
from citoyen.demo import sensing as demo
from citoyen.demo.common import DEMO_ACCOUNTS
from citoyen.events import HUB_KEY
from citoyen.indicators import service as indicators
from citoyen.people import service as people
from citoyen.sensing import service as sensing_service
from citoyen.sensing.events import SensingEventBus
from citoyen.sensing.models import Datastream, Observation, Thing, ThingAccess, ThingKind
from tests.demo.conftest import demo_engine, rolled_back_connection

NOW = datetime(2026, 11, 25, 14, 37, tzinfo=UTC)  # a Wednesday afternoon


def test_air_quality_file_marks_missing_readings() -> None:
    series = demo.air_quality_series()
    co = series["CO_GT"]
    assert co.start == datetime(2004, 3, 10, 18)
    assert co.values[0] == 2.6  # the file's first row
    # -200 in the file is a missing reading, never a value of -200.
    assert None in co.values
    assert all(value is None or value >= 0 for value in co.values)


def test_hourly_series_leaves_absent_hours_missing() -> None:
    start = datetime(2025, 3, 30, 0)
    series = demo.hourly_series([(start, 1.0), (start + timedelta(hours=1), 2.0), (start + timedelta(hours=3), 4.0)])
    assert series.values == (1.0, 2.0, None, 4.0)


def test_replay_is_shifted_so_its_last_reading_is_now() -> None:
    series = demo.series_named("air:NO2_GT")
    offset = demo.aligned_offset(series, NOW, weeks_in=6)
    spec = demo.ReplaySpec("air:NO2_GT", NOW, offset)
    history = demo.hourly_history(spec, NOW, 48)
    present = [(time, value) for time, value in history]
    assert present[-1][0] == NOW or series.values[offset] is None
    # Each hour back reads the series one hour earlier: the real data, in order.
    for step, (time, value) in enumerate(reversed(present)):
        hours_back = round((NOW - time) / timedelta(hours=1))
        assert value == series.values[offset - hours_back], step
    # Aligned on the hour of the day and the weekday, in Paris time (where the demo city is).
    original = series.start + timedelta(hours=offset)
    local_now = NOW.astimezone(demo.PARIS)
    assert (original.hour, original.weekday()) == (local_now.hour, local_now.weekday())


def test_replay_skips_missing_readings_and_interpolates_between_hours() -> None:
    series = demo.series_named("air:CO_GT")
    missing = next(index for index in range(2000, len(series)) if series.values[index] is None)
    spec = demo.ReplaySpec("air:CO_GT", NOW, missing)
    assert spec.value_at(NOW) is None
    history = demo.hourly_history(spec, NOW, 24)
    assert NOW not in [time for time, _value in history]
    assert len(history) == sum(1 for index in range(missing - 23, missing + 1) if series.values[index] is not None)

    present = next(index for index in range(2000, len(series)) if None not in series.values[index : index + 2])
    between = demo.ReplaySpec("air:CO_GT", NOW, present).value_at(NOW + timedelta(minutes=30))
    first, second = series.values[present], series.values[present + 1]
    assert first is not None and second is not None and between is not None
    assert abs(between - (first + second) / 2) < 1e-9


def test_replay_continues_past_the_end_of_the_data() -> None:
    series = demo.series_named("bikes")
    spec = demo.ReplaySpec("bikes", NOW, len(series) - 1)
    assert spec.value_at(NOW + timedelta(hours=1)) == series.values[0]


def test_synthetic_meters_have_daily_and_weekly_cycles_and_noise() -> None:
    meter = demo.SyntheticSpec("electricity", 10.0, seed=3)
    monday = datetime(2026, 11, 23, tzinfo=UTC)  # 01:00 in Paris

    def mean_at(local_hour: int, days: range) -> float:
        return statistics.mean(
            meter.value_at(monday + timedelta(days=day, hours=local_hour - 1, minutes=minute))
            for day in days
            for minute in range(0, 60, 5)
        )

    weekdays, weekend = range(0, 5), range(5, 7)
    assert mean_at(20, weekdays) > 2 * mean_at(4, weekdays)  # evening peak against the night
    assert mean_at(7, weekdays) > 1.5 * mean_at(7, weekend)  # people get up later at the weekend
    readings = [meter.value_at(monday + timedelta(minutes=minute)) for minute in range(60)]
    assert len(set(readings)) > 30  # noise
    assert meter.value_at(monday) == demo.SyntheticSpec("electricity", 10.0, seed=3).value_at(monday)
    water = demo.SyntheticSpec("water", 100.0, seed=4)
    assert water.value_at(monday + timedelta(hours=6.5)) > 3 * water.value_at(monday + timedelta(hours=2))


@pytest.fixture(scope="module")
async def sensing_city(
    module_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AsyncEngine]:
    """The sensors and their indicators, built once for the module's tests (each of which once built its own)."""
    data_dir = tmp_path_factory.mktemp("demo-sensing")
    async with demo_engine(
        module_database_url, data_dir, frozenset({"sensors", "indicators"}), demo_citizens=20, demo_reports=20
    ) as engine:
        yield engine


@pytest.fixture
async def connection(sensing_city: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """The tests' `session` and `sessionmaker` are on the module's city, in a transaction rolled back after each."""
    async for connection in rolled_back_connection(sensing_city):
        yield connection


async def test_the_demo_builds_its_sensors_with_history_up_to_now(session: AsyncSession) -> None:
    things = list((await session.execute(select(Thing).order_by(Thing.id))).scalars())
    assert {thing.kind for thing in things} == {ThingKind.AIR, ThingKind.MOBILITY, ThingKind.ENERGY, ThingKind.WATER}
    citizen = await people.find_person_by_email(session, DEMO_ACCOUNTS[0].email)
    assert citizen is not None
    personal = [thing for thing in things if thing.access == ThingAccess.PERSONAL]
    assert personal and all(thing.owner_person_id == citizen.id for thing in personal)
    assert any(thing.access == ThingAccess.RESTRICTED for thing in things)
    # Meters are synthetic, and say so in both languages.
    meters = [thing for thing in things if thing.kind in (ThingKind.WATER, ThingKind.ENERGY)]
    assert all("simulées" in thing.description and "simulated" in thing.description_en for thing in meters)
    assert all(thing.name_en and thing.name_en != thing.name for thing in things)

    first, last, count = (
        await session.execute(
            select(
                func.min(Observation.phenomenon_time_start),
                func.max(Observation.phenomenon_time_start),
                func.count(),
            )
        )
    ).one()
    assert datetime.now(UTC) - last < timedelta(minutes=5)
    assert last - first >= timedelta(days=demo.HISTORY_DAYS - 1)
    streams = (await session.execute(select(func.count()).select_from(Datastream))).scalar_one()
    # Hourly readings for every Datastream, less the replay's missing ones; the bicycle counters' go back further.
    counters = len(demo.BIKE_COUNTERS)
    hours = ((streams - counters) * demo.HISTORY_DAYS + counters * demo.FORECAST_HISTORY_DAYS) * 24
    assert hours * 0.8 < count <= hours
    assert len(await demo.demo_datastreams(session)) == streams


async def test_the_feed_catches_up_after_a_pause(session: AsyncSession) -> None:
    before = (await session.execute(select(func.count()).select_from(Observation))).scalar_one()
    later = datetime.now(UTC) + timedelta(hours=5)
    filled = await demo.catch_up(session, later)
    streams = len(await demo.demo_datastreams(session))
    assert streams * 3 <= filled <= streams * 5
    after = (await session.execute(select(func.count()).select_from(Observation))).scalar_one()
    assert after == before + filled
    assert await demo.catch_up(session, later) == 0  # nothing twice


async def test_the_live_feed_adds_one_reading_per_sensor_through_the_service(
    session: AsyncSession, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    bus = SensingEventBus()
    # As in the app, the feed's sessions deliver their events through the hub the sensing bus listens on.
    sessionmaker.configure(info={HUB_KEY: bus.hub})
    state = SimpleNamespace(settings=settings, sessionmaker=sessionmaker, sensing_events=bus)
    listening = bus.subscribe()
    tick = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)
    created = await demo.feed_once(state, tick)
    streams = await demo.demo_datastreams(session)
    expected = [(ds, spec.value_at(tick)) for ds, spec in streams]
    assert created == sum(1 for _ds, value in expected if value is not None) > 0
    await asyncio.sleep(0)  # events are delivered once the commit is done
    events = [listening.queue.get_nowait() for _ in range(listening.queue.qsize())]
    assert len(events) == created and {event.entity_set for event in events} == {"Observations"}
    datastream, value = next((ds, value) for ds, value in expected if value is not None)
    latest = (
        await session.execute(
            select(Observation.result_number, Observation.phenomenon_time_start)
            .where(Observation.datastream_id == datastream.id)
            .order_by(Observation.phenomenon_time_start.desc())
            .limit(1)
        )
    ).one()
    decimals = int((datastream.properties or {})["decimals"])
    assert latest == (round(value, decimals), tick)


async def test_on_sqlite_the_feed_and_its_catch_up_write_in_the_app_s_write_turn(
    session: AsyncSession,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The feed queues with the app's other writers (requests, the MQTT ingest) on the app's write turn, rather than
    in SQLite's busy handler, which gives up after busy_timeout: each of its transactions writes in the turn."""
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("the write turn is SQLite's: PostgreSQL has writers side by side")
    turn = asyncio.Lock()
    state = SimpleNamespace(settings=settings, sessionmaker=sessionmaker, sensing_events=SensingEventBus())
    state.sqlite_write_lock = turn
    held: dict[str, list[bool]] = {"reading": [], "catch-up": [], "rollups": []}
    real_create, real_catch_up = sensing_service.create_at, demo.catch_up

    async def create_at(*args: Any, **kwargs: Any) -> Any:
        held["reading"].append(turn.locked())
        return await real_create(*args, **kwargs)

    async def catch_up(*args: Any, **kwargs: Any) -> int:
        held["catch-up"].append(turn.locked())
        return await real_catch_up(*args, **kwargs)

    async def rebuild(*_args: Any, **_kwargs: Any) -> None:
        held["rollups"].append(turn.locked())  # what it rebuilds is another test's

    monkeypatch.setattr(sensing_service, "create_at", create_at)
    monkeypatch.setattr(demo, "catch_up", catch_up)
    monkeypatch.setattr(indicators, "rebuild", rebuild)
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
    assert await demo.feed_once(state, later) > 0
    assert await demo.catch_up_in_steps(state, later + timedelta(hours=3)) > 0
    streams = len(await demo.demo_datastreams(session))
    assert held["catch-up"] == [True] * streams and held["rollups"] == [True]
    assert held["reading"] and all(held["reading"])
    assert not turn.locked()
