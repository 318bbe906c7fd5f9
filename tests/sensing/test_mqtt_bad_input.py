"""Bad messages over MQTT are dropped with a logged reason; the ingest goes on and stores the good ones. A
database that is busy for a moment is waited for, not a reason to drop readings."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.sensing import bulk, mqtt
from citoyen.sensing.mqtt import ObservationCreate, store_observations
from citoyen.sensing.retrying import is_transient, with_retries
from tests.sensing.live_helpers import create_sensor
from tests.sensing.test_mqtt import app_bridge, needs_broker, publish, stored_results, wait_for


@needs_broker
async def test_messages_that_would_have_failed_storage_are_dropped_and_the_ingest_goes_on(
    app: FastAPI, session: AsyncSession, caplog: pytest.LogCaptureFixture
) -> None:
    world = await create_sensor(session)
    await session.commit()
    caplog.set_level(logging.WARNING, "citoyen.sensing.mqtt")
    topic = f"v1.1/Datastreams({world.datastream_id})/Observations"
    bad = [
        "[" * 200_000 + "]" * 200_000,
        '{"result": 1e400}',
        '{"result": NaN}',
        json.dumps({"result": "nul \x00 byte"}),
        '{"result": "\\ud800"}',
        json.dumps({"result": 1, "FeatureOfInterest": {"@iot.id": 2**70}}),
        json.dumps({"result": {"samples": list(range(20_000))}}),
    ]
    async with app_bridge(app) as bridge:
        settings = app.state.settings
        await publish(settings, topic, [*bad, '{"result": 3}'])
        await publish(settings, "v1.1/Datastreams(99999999999999999999)/Observations", ['{"result": 4}'])
        await publish(settings, topic, ['{"result": 5}'])
        await wait_for(lambda: bridge.counters.stored + bridge.counters.refused == len(bad) + 3)
    assert (bridge.counters.stored, bridge.counters.refused) == (2, len(bad) + 1)
    assert await stored_results(session, world.datastream_id) == [3.0, 5.0]
    assert "nested too deeply" in caplog.text and "too large" in caplog.text


def locked() -> OperationalError:
    return OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked"))


async def test_a_busy_database_is_retried_with_backoff_and_other_errors_are_not() -> None:
    attempts = 0

    async def transaction() -> str:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise locked()
        return "stored"

    assert await with_retries(transaction, "test", first_delay=0.001) == "stored"
    assert attempts == 3
    broken = OperationalError("INSERT ...", {}, sqlite3.OperationalError("no such table: sta_observations"))
    assert is_transient(locked()) and not is_transient(broken)

    async def always_locked() -> None:
        raise locked()

    with pytest.raises(OperationalError):
        await with_retries(always_locked, "test", attempts=3, first_delay=0.001)


async def test_mqtt_ingest_waits_for_a_busy_database_instead_of_dropping_the_batch(
    app: FastAPI, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await create_sensor(session)
    await session.commit()
    real = with_retries
    failures = 2

    async def busy_at_first(transaction, what, **options):  # type: ignore[no-untyped-def]
        async def flaky():  # type: ignore[no-untyped-def]
            nonlocal failures
            if failures:
                failures -= 1
                raise locked()
            return await transaction()

        return await real(flaky, what, first_delay=0.001)

    monkeypatch.setattr(mqtt, "with_retries", busy_at_first)
    create = ObservationCreate(
        f"v1.1/Datastreams({world.datastream_id})/Observations", world.datastream_id, None, {"result": 7}
    )
    assert await store_observations(app.state, [create]) == [None]
    assert await stored_results(session, world.datastream_id) == [7.0]


async def test_on_sqlite_the_mqtt_ingest_writes_in_the_app_s_write_turn(
    app: FastAPI, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ingest queues with the app's other writers (requests, each transaction of a large CreateObservations) on
    the app's write turn, rather than in SQLite's busy handler, which gives up after busy_timeout."""
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("the write turn is SQLite's: PostgreSQL has writers side by side")
    world = await create_sensor(session)
    await session.commit()
    turn = app.state.sqlite_write_lock = asyncio.Lock()
    held_while_storing: list[bool] = []
    real_insert = bulk.insert_observations

    async def insert_observations(*args: Any, **kwargs: Any) -> Any:
        held_while_storing.append(turn.locked())
        return await real_insert(*args, **kwargs)

    monkeypatch.setattr(bulk, "insert_observations", insert_observations)
    create = ObservationCreate(
        f"v1.1/Datastreams({world.datastream_id})/Observations", world.datastream_id, None, {"result": 8}
    )
    assert await store_observations(app.state, [create]) == [None]
    assert held_while_storing == [True]
    assert not turn.locked()  # and given back
    assert await stored_results(session, world.datastream_id) == [8.0]
