"""Idempotency-Key on SensorThings POSTs: a retried request is answered again without storing twice."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.people import service as people
from citoyen.sensing.models import Observation, Thing
from tests.sensing.helpers import STA, bearer, create_station, station


async def count(session: AsyncSession, model: type) -> int:
    return (await session.execute(select(func.count()).select_from(model))).scalar_one()


def batch(datastream_id: int, values: list[float]) -> list[dict[str, object]]:
    return [
        {
            "Datastream": {"@iot.id": datastream_id},
            "components": ["phenomenonTime", "result"],
            "dataArray": [[f"2026-11-25T{hour:02d}:00:00Z", value] for hour, value in enumerate(values)],
        }
    ]


async def test_a_retried_batch_with_the_same_key_is_stored_once_and_answered_the_same(
    client: httpx.AsyncClient, token: str, session: AsyncSession
) -> None:
    thing = await create_station(client, token)
    datastream_id = thing["Datastreams"][0]["@iot.id"]
    headers = {**bearer(token), "Idempotency-Key": "gateway-7-batch-42"}
    first = await client.post(f"{STA}/CreateObservations", json=batch(datastream_id, [1, 2, 3]), headers=headers)
    assert first.status_code == 201
    stored = await count(session, Observation)
    again = await client.post(f"{STA}/CreateObservations", json=batch(datastream_id, [1, 2, 3]), headers=headers)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await count(session, Observation) == stored == 3


async def test_the_same_key_with_another_body_is_refused(
    client: httpx.AsyncClient, token: str, session: AsyncSession
) -> None:
    thing = await create_station(client, token)
    datastream_id = thing["Datastreams"][0]["@iot.id"]
    headers = {**bearer(token), "Idempotency-Key": "k-1"}
    assert (
        await client.post(f"{STA}/CreateObservations", json=batch(datastream_id, [1]), headers=headers)
    ).status_code == 201
    refused = await client.post(f"{STA}/CreateObservations", json=batch(datastream_id, [9]), headers=headers)
    assert refused.status_code == 422
    assert refused.json()["type"] == "error"
    assert "Idempotency-Key" in refused.json()["message"]
    assert await count(session, Observation) == 1


async def test_an_entity_created_with_a_key_is_created_once_and_the_location_repeated(
    client: httpx.AsyncClient, token: str, session: AsyncSession
) -> None:
    headers = {**bearer(token), "Idempotency-Key": "new-station"}
    first = await client.post(f"{STA}/Things", json=station(), headers=headers)
    assert first.status_code == 201
    again = await client.post(f"{STA}/Things", json=station(), headers=headers)
    assert again.status_code == 201
    assert again.headers["Location"] == first.headers["Location"]
    assert again.json() == first.json()
    assert await count(session, Thing) == 1
    # Without a key, each POST creates.
    assert (await client.post(f"{STA}/Things", json=station(), headers=bearer(token))).status_code == 201
    assert await count(session, Thing) == 2


async def test_keys_belong_to_one_api_token(client: httpx.AsyncClient, token: str, session: AsyncSession) -> None:
    _other, other_secret = await people.create_api_token(session, "Other gateway", ["sensing:write"])
    await session.commit()
    for secret in (token, other_secret):
        headers = {**bearer(secret), "Idempotency-Key": "shared-name"}
        assert (await client.post(f"{STA}/Things", json=station(), headers=headers)).status_code == 201
    assert await count(session, Thing) == 2


async def test_a_refused_request_keeps_no_answer_so_its_key_can_be_used_again(
    client: httpx.AsyncClient, token: str, session: AsyncSession
) -> None:
    headers = {**bearer(token), "Idempotency-Key": "first-try"}
    bad = station()
    bad["Locations"][0]["location"] = {"type": "Point", "coordinates": [200, 0]}
    assert (await client.post(f"{STA}/Things", json=bad, headers=headers)).status_code == 400
    assert (await client.post(f"{STA}/Things", json=station(), headers=headers)).status_code == 201
    assert await count(session, Thing) == 1


async def test_a_malformed_key_is_refused(client: httpx.AsyncClient, token: str, session: AsyncSession) -> None:
    for key in ("", "x" * 256, "clé"):
        response = await client.post(
            f"{STA}/Things",
            json=station(),
            headers=[(b"Authorization", f"Bearer {token}".encode()), (b"Idempotency-Key", key.encode())],
        )
        assert response.status_code == 400, key
        assert response.json()["type"] == "error"
    assert await count(session, Thing) == 0


async def test_a_request_with_more_observations_than_the_cap_is_refused_whole(
    client: httpx.AsyncClient, token: str, session: AsyncSession, app: FastAPI
) -> None:
    thing = await create_station(client, token)
    datastream_id = thing["Datastreams"][0]["@iot.id"]
    app.state.settings.sta_max_observations_per_request = 5
    refused = await client.post(
        f"{STA}/CreateObservations", json=batch(datastream_id, [1.0] * 6), headers=bearer(token)
    )
    assert refused.status_code == 413
    assert refused.json()["type"] == "error"
    assert "at most 5 Observations" in refused.json()["message"]
    assert await count(session, Observation) == 0
    accepted = await client.post(
        f"{STA}/CreateObservations", json=batch(datastream_id, [1.0] * 5), headers=bearer(token)
    )
    assert accepted.status_code == 201
