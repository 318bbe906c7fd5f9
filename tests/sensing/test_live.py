"""The live stream of a Datastream's new readings (server-sent events), served by a real server so that the
stream is read as a browser reads it: events arrive, heartbeats keep it open, access rules hold."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.events import EventHub, ObservationsStored
from citoyen.people import service as people
from citoyen.sensing.events import SensingEvent, get_bus, queue_events
from citoyen.sensing.models import ThingAccess
from tests.sensing.live_helpers import create_sensor


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
async def server(app: FastAPI) -> AsyncIterator[str]:
    """The test app served over real HTTP (no lifespan: the app already has the test's database)."""
    app.state.settings.sensing_live_heartbeat_seconds = 0.2
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    instance = uvicorn.Server(config)
    task = asyncio.create_task(instance.serve())
    for _ in range(500):
        if instance.started:
            break
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    await task


def observation_event(datastream_id: int, observation_id: int, result: object) -> SensingEvent:
    return SensingEvent(
        "create",
        "Observations",
        observation_id,
        f"/sta/v1.1/Observations({observation_id})",
        {"@iot.id": observation_id, "phenomenonTime": "2026-11-26T01:02:03Z", "result": result},
        "public",
        datastream_id,
    )


async def read_events(response: httpx.Response, wanted: int) -> tuple[list[dict[str, object]], int]:
    """The first `wanted` observation events of the stream, and how many heartbeats came meanwhile."""
    events: list[dict[str, object]] = []
    heartbeats = 0
    kind = ""
    async for line in response.aiter_lines():
        if line == ": heartbeat":
            heartbeats += 1
        elif line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: ") and kind == "observation":
            events.append(json.loads(line.removeprefix("data: ")))
            if len(events) == wanted:
                break
    return events, heartbeats


async def wait_for_listener(app: FastAPI) -> None:
    hub: EventHub = app.state.events
    for _ in range(500):
        if hub.listeners(ObservationsStored):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the live stream never listened")


async def test_new_readings_of_the_datastream_arrive_as_events(
    server: str, app: FastAPI, session: AsyncSession
) -> None:
    world = await create_sensor(session)
    other = await create_sensor(session)
    await session.commit()
    async with (
        httpx.AsyncClient(base_url=server, timeout=10) as client,
        client.stream("GET", f"/api/sensing/datastreams/{world.datastream_id}/live") as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")

        async def store_later() -> None:
            await wait_for_listener(app)
            await asyncio.sleep(0.5)  # some heartbeats first
            await queue_events(
                session,
                get_bus(app.state),
                [
                    observation_event(other.datastream_id, 1, 99.0),  # another Datastream: not sent
                    observation_event(world.datastream_id, 2, "text"),  # not a number: the chart skips it
                    observation_event(world.datastream_id, 3, 41.5),
                ],
            )
            await session.commit()

        writer = asyncio.create_task(store_later())
        events, heartbeats = await asyncio.wait_for(read_events(response, 1), timeout=10)
        await writer
    assert events == [{"id": 3, "time": "2026-11-26T01:02:03Z", "result": 41.5}]
    assert heartbeats >= 1
    # The browser went away: the stream notices at its next heartbeat and stops listening.
    for _ in range(50):
        if not app.state.events.listeners(ObservationsStored):
            break
        await asyncio.sleep(0.05)
    assert not app.state.events.listeners(ObservationsStored)


async def test_a_create_observations_batch_reaches_the_stream_of_its_datastream(
    server: str, app: FastAPI, session: AsyncSession
) -> None:
    world = await create_sensor(session)
    other = await create_sensor(session)
    _token, secret = await people.create_api_token(session, "live batch", ["sensing:write"])
    await session.commit()
    measurements = ["phenomenonTime", "result"]
    body = [
        {
            "Datastream": {"@iot.id": world.datastream_id},
            "components": measurements,
            "dataArray": [["2026-11-26T01:00:00Z", 40.5]],
        },
        {
            "Datastream": {"@iot.id": other.datastream_id},
            "components": measurements,
            "dataArray": [["2026-11-26T01:00:00Z", 9.0]],
        },
        {
            "Datastream": {"@iot.id": world.datastream_id},
            "components": measurements,
            "dataArray": [["2026-11-26T02:00:00.250+01:00", 41], ["2026-11-26T01:00:01Z", "text"]],
        },
    ]
    async with (
        httpx.AsyncClient(base_url=server, timeout=10) as client,
        client.stream("GET", f"/api/sensing/datastreams/{world.datastream_id}/live") as response,
    ):

        async def post() -> list[str]:
            await wait_for_listener(app)
            answer = await client.post(
                "/sta/v1.1/CreateObservations", json=body, headers={"Authorization": f"Bearer {secret}"}
            )
            assert answer.status_code == 201, answer.text
            links: list[str] = answer.json()
            return links

        writer = asyncio.create_task(post())
        events, _ = await asyncio.wait_for(read_events(response, 2), timeout=10)
        links = await writer
    ids = [int(link.rsplit("(", 1)[1].rstrip(")")) for link in links]
    # Another Datastream's reading is not sent, nor a text (the chart draws numbers); times in UTC, as the API says.
    assert events == [
        {"id": ids[0], "time": "2026-11-26T01:00:00Z", "result": 40.5},
        {"id": ids[2], "time": "2026-11-26T01:00:00.250Z", "result": 41},
    ]


async def test_readings_of_a_rolled_back_transaction_never_reach_the_chart(
    server: str, app: FastAPI, session: AsyncSession
) -> None:
    world = await create_sensor(session)
    await session.commit()
    async with (
        httpx.AsyncClient(base_url=server, timeout=10) as client,
        client.stream("GET", f"/api/sensing/datastreams/{world.datastream_id}/live") as response,
    ):

        async def store_later() -> None:
            await wait_for_listener(app)
            await queue_events(session, get_bus(app.state), [observation_event(world.datastream_id, 10, 1.0)])
            await session.rollback()
            await queue_events(session, get_bus(app.state), [observation_event(world.datastream_id, 11, 2.0)])
            await session.commit()

        writer = asyncio.create_task(store_later())
        events, _heartbeats = await asyncio.wait_for(read_events(response, 1), timeout=10)
        await writer
    assert events == [{"id": 11, "time": "2026-11-26T01:02:03Z", "result": 2.0}]


async def test_live_streams_follow_the_access_rules(server: str, session: AsyncSession) -> None:
    restricted = await create_sensor(session, ThingAccess.RESTRICTED)
    personal = await create_sensor(session, ThingAccess.PERSONAL)
    await session.commit()
    async with httpx.AsyncClient(base_url=server, timeout=10) as client:
        refused = await client.get(
            f"/api/sensing/datastreams/{restricted.datastream_id}/live", headers={"Accept-Language": "en"}
        )
        assert refused.status_code == 403 and "hourly means" in refused.json()["error"]["message"]
        hidden = await client.get(f"/api/sensing/datastreams/{personal.datastream_id}/live")
        assert hidden.status_code == 404
