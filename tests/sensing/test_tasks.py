"""Sensing's housekeeping, tested by moving its clock: Idempotency-Key answers go after their lifetime, and on
PostgreSQL the observation partitions of the coming months exist before their observations arrive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from citoyen.app import build_housekeeping
from citoyen.config import Settings
from citoyen.db import utcnow
from citoyen.sensing.models import IdempotentAnswer
from tests.sensing.helpers import STA, bearer, create_station


async def _count(session: AsyncSession, model: type) -> int:
    return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_idempotency_answers_go_after_their_lifetime(
    client: httpx.AsyncClient,
    token: str,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    await create_station(client, token)
    thing = {"name": "Compteur vélo Sébastopol", "description": "Boucle de comptage"}
    headers = {**bearer(token), "Idempotency-Key": "gateway-3-thing-1"}
    assert (await client.post(f"{STA}/Things", json=thing, headers=headers)).status_code == 201
    housekeeping = build_housekeeping(settings)
    await housekeeping.run(sessionmaker, utcnow() + timedelta(hours=settings.sta_idempotency_hours - 1))
    assert await _count(session, IdempotentAnswer) == 1
    await housekeeping.run(sessionmaker, utcnow() + timedelta(hours=settings.sta_idempotency_hours + 1))
    assert await _count(session, IdempotentAnswer) == 0


async def test_observation_partitions_are_made_ahead_of_the_months_that_need_them(
    client: httpx.AsyncClient,
    token: str,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    done = await build_housekeeping(settings).run(sessionmaker, datetime(2031, 1, 15, tzinfo=UTC))
    made = done["sensing: observation partitions ahead"]
    if session.get_bind().dialect.name != "postgresql":
        assert made == 0  # SQLite's table is not partitioned
        return
    assert made == 28  # February 2029 (after the migration's last) to April 2031 (three months ahead)
    thing = await create_station(client, token)
    datastream_id = thing["Datastreams"][0]["@iot.id"]
    observation = {"phenomenonTime": "2031-03-20T08:00:00Z", "result": 41, "Datastream": {"@iot.id": datastream_id}}
    assert (await client.post(f"{STA}/Observations", json=observation, headers=bearer(token))).status_code == 201
    partition = await session.execute(
        text("SELECT tableoid::regclass::text FROM sta_observations WHERE phenomenon_time_start >= '2031-01-01'")
    )
    assert partition.scalar_one() == "sta_observations_y2031m03"
    again = await build_housekeeping(settings).run(sessionmaker, datetime(2031, 1, 15, tzinfo=UTC))
    assert again["sensing: observation partitions ahead"] == 0
