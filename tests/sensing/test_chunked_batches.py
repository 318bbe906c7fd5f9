"""A CreateObservations larger than `sta_observations_per_transaction` is committed in several transactions:
stored whole, resumed by a retry with its Idempotency-Key after a failure halfway, and leaving room for other
writers in between."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.sensing import bulk
from citoyen.sensing.models import IdempotentAnswer, Observation
from tests.sensing.helpers import STA, bearer, create_station

PER_TRANSACTION = 4


@pytest.fixture(autouse=True)
def small_transactions(app: FastAPI) -> None:
    app.state.settings.sta_observations_per_transaction = PER_TRANSACTION


def batch(datastream_id: int, count: int, *, bad_row: int | None = None) -> list[dict[str, Any]]:
    rows: list[list[Any]] = [
        [f"2026-11-{1 + hour // 24:02d}T{hour % 24:02d}:00:00Z", float(hour)] for hour in range(count)
    ]
    if bad_row is not None:
        rows[bad_row] = ["yesterday", 1.0]
    return [{"Datastream": {"@iot.id": datastream_id}, "components": ["phenomenonTime", "result"], "dataArray": rows}]


async def stored_results(session: AsyncSession, datastream_id: int) -> list[float | None]:
    rows = await session.execute(
        select(Observation.result_number)
        .where(Observation.datastream_id == datastream_id)
        .order_by(Observation.phenomenon_time_start)
    )
    return [value for value in rows.scalars()]


def fail_in_transaction(monkeypatch: pytest.MonkeyPatch, failing: int) -> list[int]:
    """Make the `failing`-th transaction of a batch (1 = the first) fail as a busy database would."""
    calls: list[int] = []
    store_chunk = bulk.store_chunk

    async def flaky(session: AsyncSession, ctx: Any, outcomes: Sequence[bulk.Outcome]) -> list[str]:
        calls.append(len(outcomes))
        if len(calls) == failing:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return await store_chunk(session, ctx, outcomes)

    monkeypatch.setattr(bulk, "store_chunk", flaky)
    return calls


async def test_a_batch_larger_than_one_transaction_is_stored_whole_with_a_link_or_error_per_row(
    client: httpx.AsyncClient, token: str, session: AsyncSession
) -> None:
    thing = await create_station(client, token)
    datastream_id = thing["Datastreams"][0]["@iot.id"]
    response = await client.post(
        f"{STA}/CreateObservations", json=batch(datastream_id, 11, bad_row=5), headers=bearer(token)
    )
    assert response.status_code == 201
    answer = response.json()
    assert len(answer) == 11
    assert answer[5].startswith("error")
    links = [row for index, row in enumerate(answer) if index != 5]
    assert all("/Observations(" in link for link in links)
    assert len(set(links)) == 10
    assert await stored_results(session, datastream_id) == [float(hour) for hour in range(11) if hour != 5]


async def test_a_keyed_batch_that_failed_halfway_is_resumed_by_its_retry_and_stored_once(
    client: httpx.AsyncClient, token: str, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    thing = await create_station(client, token)
    datastream_id = thing["Datastreams"][0]["@iot.id"]
    headers = {**bearer(token), "Idempotency-Key": "gateway-3-batch-9"}
    calls = fail_in_transaction(monkeypatch, failing=2)
    failed = await client.post(f"{STA}/CreateObservations", json=batch(datastream_id, 10), headers=headers)
    assert failed.status_code == 503
    assert failed.json()["type"] == "error"
    assert "4 of 10" in failed.json()["message"]
    assert await stored_results(session, datastream_id) == [0.0, 1.0, 2.0, 3.0]

    retried = await client.post(f"{STA}/CreateObservations", json=batch(datastream_id, 10), headers=headers)
    assert retried.status_code == 201
    assert calls == [4, 4, 4, 2]  # the retry started after the first transaction's rows
    answer = retried.json()
    assert len(answer) == len(set(answer)) == 10
    assert await stored_results(session, datastream_id) == [float(hour) for hour in range(10)]
    observation_ids = {
        int(link.rsplit("(", 1)[1].rstrip(")")) for link in answer if isinstance(link, str) and "(" in link
    }
    stored_ids = set(
        (await session.execute(select(Observation.id).where(Observation.datastream_id == datastream_id))).scalars()
    )
    assert observation_ids == stored_ids

    again = await client.post(f"{STA}/CreateObservations", json=batch(datastream_id, 10), headers=headers)
    assert again.status_code == 201
    assert again.json() == answer
    assert again.headers["Idempotent-Replayed"] == "true"
    parts = select(func.count()).select_from(IdempotentAnswer).where(IdempotentAnswer.status == 102)
    assert (await session.execute(parts)).scalar_one() == 0


async def test_a_batch_without_key_that_failed_halfway_says_which_rows_were_stored(
    client: httpx.AsyncClient, token: str, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    thing = await create_station(client, token)
    datastream_id = thing["Datastreams"][0]["@iot.id"]
    fail_in_transaction(monkeypatch, failing=3)
    response = await client.post(f"{STA}/CreateObservations", json=batch(datastream_id, 10), headers=bearer(token))
    assert response.status_code == 201
    answer = response.json()
    assert all("/Observations(" in row for row in answer[:8])
    assert all(row.startswith("error") and "not stored" in row for row in answer[8:])
    assert await stored_results(session, datastream_id) == [float(hour) for hour in range(8)]


async def test_a_batch_refused_as_a_whole_stores_nothing_even_when_larger_than_a_transaction(
    client: httpx.AsyncClient, token: str, session: AsyncSession
) -> None:
    thing = await create_station(client, token)
    datastream_id = thing["Datastreams"][0]["@iot.id"]
    unknown = {"Datastream": {"@iot.id": 2**40}, "components": ["phenomenonTime", "result"], "dataArray": []}
    body = [*batch(datastream_id, 10), unknown]
    response = await client.post(f"{STA}/CreateObservations", json=body, headers=bearer(token))
    assert response.status_code == 400
    assert response.json()["type"] == "error"
    assert await stored_results(session, datastream_id) == []


async def test_another_writer_gets_through_between_the_transactions_of_a_large_batch(
    client: httpx.AsyncClient, token: str, session: AsyncSession, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's single writer is what this is about (the test's sessions share one connection)")
    thing = await create_station(client, token)
    datastream_id, other_id = (stream["@iot.id"] for stream in thing["Datastreams"])
    first_transaction = asyncio.Event()
    store_chunk = bulk.store_chunk

    async def signalling(session: AsyncSession, ctx: Any, outcomes: Sequence[bulk.Outcome]) -> list[str]:
        first_transaction.set()
        await asyncio.sleep(0.05)  # the other writer is now waiting for the write lock
        return await store_chunk(session, ctx, outcomes)

    monkeypatch.setattr(bulk, "store_chunk", signalling)
    large = asyncio.create_task(
        client.post(f"{STA}/CreateObservations", json=batch(datastream_id, 40), headers=bearer(token))
    )
    await first_transaction.wait()
    single = await client.post(
        f"{STA}/Datastreams({other_id})/Observations",
        json={"phenomenonTime": "2026-11-25T12:00:00Z", "result": 7.5},
        headers=bearer(token),
    )
    assert single.status_code == 201
    assert not large.done()  # it got through while the large batch was still being written
    answer = (await large).json()
    assert len(answer) == 40
    single_id = int(single.headers["Location"].rsplit("(", 1)[1].rstrip(")"))
    batch_ids = sorted(int(link.rsplit("(", 1)[1].rstrip(")")) for link in answer)
    assert batch_ids[0] < single_id < batch_ids[-1]
