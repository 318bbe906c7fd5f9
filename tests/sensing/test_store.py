"""The observation store on PostgreSQL keeps its integrity without foreign keys: a batch locks its Datastreams and
FeaturesOfInterest once, deletes cascade by statement triggers, and the migration keeps existing Observations."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from citoyen.engines import make_app_engine
from citoyen.events import EventHub
from citoyen.migrations import upgrade_engine
from citoyen.sensing import bulk
from citoyen.sensing.events import SensingEventBus
from citoyen.sensing.models import Datastream, FeatureOfInterest, Observation, ObservedProperty, Sensor, Thing
from citoyen.sensing.service import Access, Context, StaError, update_entity

BEFORE_STORE = "6d2b9e4f1a37"  # the revision before "observation_store"
START = datetime(2026, 11, 25, 10, tzinfo=UTC)


async def _stream(session: AsyncSession) -> tuple[int, int]:
    """A Datastream and a FeatureOfInterest, committed."""
    thing, sensor = Thing(name="Station"), Sensor(name="NO2", encoding_type="text/plain", sensor_metadata="x")
    observed = ObservedProperty(name="NO2", definition="no2")
    feature = FeatureOfInterest(name="Here", feature='{"type": "Point", "coordinates": [2.3, 48.8]}')
    session.add_all([thing, sensor, observed, feature])
    await session.flush()
    stream = Datastream(
        name="NO2",
        observation_type="OM_Measurement",
        unit_of_measurement={"name": "µg/m³"},
        thing_id=thing.id,
        sensor_id=sensor.id,
        observed_property_id=observed.id,
    )
    session.add(stream)
    await session.commit()
    return stream.id, feature.id


def _rows(datastream_id: int, feature_id: int, count: int = 50) -> list[bulk.ObservationRow]:
    return [
        bulk.ObservationRow(
            datastream_id, START + timedelta(minutes=n), None, None, float(n), feature_of_interest_id=feature_id
        )
        for n in range(count)
    ]


async def _observations(engine: AsyncEngine, datastream_id: int) -> int:
    async with engine.connect() as connection:
        query = select(func.count()).select_from(Observation).where(Observation.datastream_id == datastream_id)
        return int((await connection.execute(query)).scalar_one())


async def _wait_until_blocked(engine: AsyncEngine, pid: int) -> None:
    """Until the backend `pid` waits for a lock (the explicit signal the concurrent delete has reached it)."""
    async with engine.connect() as connection:
        for _ in range(2000):
            waiting = await connection.scalar(
                text("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            )
            if waiting:
                return
            await asyncio.sleep(0.005)
    raise AssertionError("the concurrent statement never waited for the batch's lock")


@pytest.fixture
async def store(own_database_url: str) -> AsyncEngine:
    if not own_database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's store: SQLite keeps its foreign keys and one writer at a time")
    return make_app_engine(own_database_url)


async def test_a_datastream_deleted_while_a_batch_is_stored_leaves_no_orphan(store: AsyncEngine) -> None:
    await upgrade_engine(store)
    context = Context(access=Access(is_staff=True), base_url="http://test", bus=SensingEventBus(EventHub()))
    try:
        async with AsyncSession(store, expire_on_commit=False) as setup:
            first, feature = await _stream(setup)
            second, _ = await _stream(setup)

        # The batch first: the delete waits for it, then its cascade takes the batch's Observations too.
        async with AsyncSession(store) as writer, AsyncSession(store) as deleter:
            await bulk.insert_observations(writer, context, _rows(first, feature))
            pid = await deleter.scalar(text("SELECT pg_backend_pid()"))
            deleting = asyncio.create_task(
                deleter.execute(text("DELETE FROM sta_datastreams WHERE id = :id"), {"id": first})
            )
            await _wait_until_blocked(store, pid)
            await writer.commit()
            await deleting
            await deleter.commit()
        assert await _observations(store, first) == 0

        # The delete first: the batch waits for it, then finds its Datastream gone and stores nothing.
        async with AsyncSession(store) as writer, AsyncSession(store) as deleter:
            await deleter.execute(text("DELETE FROM sta_datastreams WHERE id = :id"), {"id": second})
            pid = await writer.scalar(text("SELECT pg_backend_pid()"))
            storing = asyncio.create_task(bulk.insert_observations(writer, context, _rows(second, feature)))
            await _wait_until_blocked(store, pid)
            await deleter.commit()
            with pytest.raises(StaError, match=rf"Datastream\({second}\) does not exist"):
                await storing
            await writer.rollback()
        assert await _observations(store, second) == 0
        async with store.connect() as connection:
            orphans = await connection.scalar(
                text(
                    "SELECT count(*) FROM sta_observations o WHERE NOT EXISTS "
                    "(SELECT 1 FROM sta_datastreams d WHERE d.id = o.datastream_id)"
                )
            )
        assert orphans == 0
    finally:
        await store.dispose()


async def test_the_upgrade_keeps_the_observations_and_their_cascades(store: AsyncEngine) -> None:
    await upgrade_engine(store, BEFORE_STORE)
    try:
        async with AsyncSession(store, expire_on_commit=False) as setup:
            kept, feature = await _stream(setup)
            gone, _ = await _stream(setup)
            for stream in (kept, gone):
                await setup.execute(
                    text(
                        "INSERT INTO sta_observations (datastream_id, phenomenon_time_start, result_type, "
                        "result_number, feature_of_interest_id) "
                        "SELECT :stream, CAST(:start AS timestamptz) + n * interval '1 hour', 1, n, :feature "
                        "FROM generate_series(1, 30) n"
                    ),
                    {"stream": stream, "start": START, "feature": feature},
                )
            await setup.commit()
        await upgrade_engine(store)
        async with store.begin() as connection:
            keys = await connection.scalar(
                text(
                    "SELECT count(*) FROM pg_constraint WHERE conrelid = 'sta_observations'::regclass "
                    "AND contype IN ('p', 'f', 'u')"  # no keys checked row by row (a CHECK costs no look-up)
                )
            )
            assert keys == 0
            await connection.execute(text("DELETE FROM sta_datastreams WHERE id = :id"), {"id": gone})
        assert await _observations(store, kept) == 30
        assert await _observations(store, gone) == 0
        async with store.begin() as connection:
            found = await connection.scalar(
                text("SELECT result_number FROM sta_observations WHERE id = (SELECT max(id) FROM sta_observations)")
            )
            assert found == 30
            await connection.execute(text("DELETE FROM sta_features_of_interest WHERE id = :id"), {"id": feature})
        assert await _observations(store, kept) == 0
    finally:
        await store.dispose()


async def test_an_observation_linked_to_a_feature_being_deleted_leaves_no_orphan(store: AsyncEngine) -> None:
    """A PATCH that links an Observation to another FeatureOfInterest locks it as a new Observation's write does:
    the concurrent DELETE of that feature waits for the PATCH, then its cascade takes the Observation too."""
    await upgrade_engine(store)
    context = Context(access=Access(is_staff=True), base_url="http://test", bus=SensingEventBus(EventHub()))
    try:
        async with AsyncSession(store, expire_on_commit=False) as setup:
            stream, feature = await _stream(setup)
            (observation,) = await bulk.insert_observations(setup, context, _rows(stream, feature, 1))
            other = FeatureOfInterest(name="There", feature='{"type": "Point", "coordinates": [2.4, 48.9]}')
            setup.add(other)
            await setup.commit()

        async with AsyncSession(store) as writer, AsyncSession(store) as deleter:
            await update_entity(
                writer,
                context,
                f"Observations({observation})",
                {"FeatureOfInterest": {"@iot.id": other.id}},
                mode="merge",
            )
            pid = await deleter.scalar(text("SELECT pg_backend_pid()"))
            deleting = asyncio.create_task(
                deleter.execute(text("DELETE FROM sta_features_of_interest WHERE id = :id"), {"id": other.id})
            )
            await _wait_until_blocked(store, pid)
            await writer.commit()
            await deleting
            await deleter.commit()
        assert await _observations(store, stream) == 0
    finally:
        await store.dispose()
