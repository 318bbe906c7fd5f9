"""SensorThings over MQTT against the real broker (Mosquitto at 127.0.0.1:1883, started by `.ci/run`).

Each test uses its own topic prefix and client identifiers, so tests never see each other's messages."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import aiomqtt
import httpx
import pytest
from fastapi import FastAPI
from paho.mqtt.exception import MQTTException
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.people import service as people
from citoyen.sensing.models import Observation, ThingAccess
from citoyen.sensing.mqtt import (
    ORIGIN_PROPERTY,
    MqttBridge,
    MqttPayloadError,
    ObservationCreate,
    make_bridge,
    parse_create,
    running_bridge,
)
from tests.factories import create_person
from tests.sensing.helpers import STA, bearer, entity_id, wind
from tests.sensing.live_helpers import create_sensor

BROKER_HOST, BROKER_PORT = "127.0.0.1", 1883


def broker_is_up() -> bool:
    try:
        with socket.create_connection((BROKER_HOST, BROKER_PORT), timeout=1):
            return True
    except OSError:
        return False


needs_broker = pytest.mark.skipif(
    not broker_is_up(), reason=f"no MQTT broker at {BROKER_HOST}:{BROKER_PORT} (.ci/run starts Mosquitto)"
)


def mqtt_settings(**overrides: object) -> Settings:
    unique = uuid.uuid4().hex[:10]
    values: dict[str, object] = {
        "mqtt_url": f"mqtt://{BROKER_HOST}:{BROKER_PORT}",
        "mqtt_topic_prefix": f"test-{unique}/",
        "mqtt_client_id": f"citoyen-test-{unique}",
        "mqtt_session_expiry_seconds": 60,
        "secret_key": "x" * 40,
    }
    return Settings(**(values | overrides))  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def running(bridge: MqttBridge) -> AsyncIterator[MqttBridge]:
    task = asyncio.create_task(bridge.run())
    try:
        await asyncio.wait_for(bridge.connected.wait(), timeout=10)
        yield bridge
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def publish(settings: Settings, topic: str, payloads: Sequence[bytes | str]) -> None:
    async with aiomqtt.Client(BROKER_HOST, BROKER_PORT, identifier=f"device-{uuid.uuid4().hex[:8]}") as device:
        for payload in payloads:
            await device.publish(settings.mqtt_topic_prefix + topic, payload, qos=1)


async def wait_for(condition: Callable[[], bool], seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"still not true after {seconds} s")


def test_create_topics_and_payloads_are_parsed() -> None:
    created = parse_create("v1.1/Datastreams(12)/Observations", b'{"result": 3.5}')
    assert (created.datastream_id, created.feature_of_interest_id, created.body) == (12, None, {"result": 3.5})
    by_feature = parse_create("v1.1/FeaturesOfInterest(4)/Observations", b'{"result": 1, "Datastream": {"@iot.id": 2}}')
    assert (by_feature.datastream_id, by_feature.feature_of_interest_id) == (None, 4)
    assert parse_create("v1.1/Observations", b'{"result": 1}').datastream_id is None
    for topic, payload in [
        ("v1.1/Things(1)/Observations", b"{}"),
        ("v1.1/Datastreams(x)/Observations", b"{}"),
        ("v1.0/Observations", b"{}"),
        ("v1.1/Observations", b"not json"),
        ("v1.1/Observations", b"[1, 2]"),
        ("v1.1/Observations", b"\xff\xfe"),
    ]:
        with pytest.raises(MqttPayloadError):
            parse_create(topic, payload)


def _properties(packet_type: int) -> Any:
    return Properties(packet_type)  # type: ignore[no-untyped-call]


def test_mqtt5_properties_still_pack_check_and_unpack_with_shared_tables() -> None:
    # The bridge makes paho share its property tables between instances (citoyen.sensing.mqtt): the
    # properties it relies on (its origin marker, session expiry) must still work, and be checked.
    sent = _properties(PacketTypes.PUBLISH)
    sent.UserProperty = [ORIGIN_PROPERTY]
    sent.MessageExpiryInterval = 60
    received = _properties(PacketTypes.PUBLISH)
    received.unpack(sent.pack())
    assert [tuple(item) for item in received.UserProperty] == [ORIGIN_PROPERTY]
    assert received.MessageExpiryInterval == 60
    assert received.names is sent.names and received.properties is sent.properties
    with pytest.raises(MQTTException):
        received.SessionExpiryInterval = 60  # a CONNECT property: refused on a PUBLISH as before
    connect = _properties(PacketTypes.CONNECT)
    connect.SessionExpiryInterval = 3600
    assert connect.SessionExpiryInterval == 3600


@needs_broker
async def test_messages_are_acknowledged_only_once_stored(caplog: pytest.LogCaptureFixture) -> None:
    """The first attempt to store fails: nothing is acknowledged, the broker delivers again, nothing is lost."""
    settings = mqtt_settings()
    stored: list[ObservationCreate] = []
    failures = [RuntimeError("database unavailable")]

    async def store(batch: Sequence[ObservationCreate]) -> list[str | None]:
        if failures:
            raise failures.pop()
        stored.extend(batch)
        return [None] * len(batch)

    bridge = MqttBridge(settings, store)
    caplog.set_level(logging.INFO, "citoyen.sensing.mqtt")
    async with running(bridge):
        await publish(settings, "v1.1/Datastreams(7)/Observations", [json.dumps({"result": n}) for n in range(50)])
        await wait_for(lambda: len({c.body["result"] for c in stored}) == 50, seconds=20)
    assert {create.body["result"] for create in stored} == set(range(50))
    assert all(create.datastream_id == 7 for create in stored)
    assert bridge.counters.connections >= 2  # it reconnected to have the messages again
    assert "stay unacknowledged" in caplog.text


@needs_broker
async def test_malformed_messages_are_refused_and_logged_and_the_rest_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    settings = mqtt_settings()
    stored: list[ObservationCreate] = []

    async def store(batch: Sequence[ObservationCreate]) -> list[str | None]:
        stored.extend(batch)
        return [None if "result" in create.body else "an Observation needs its result" for create in batch]

    bridge = MqttBridge(settings, store)
    caplog.set_level(logging.WARNING, "citoyen.sensing.mqtt")
    async with running(bridge):
        await publish(settings, "v1.1/Datastreams(3)/Observations", [b"{not json", b'{"phenomenonTime": "x"}'])
        await publish(settings, "v1.1/Datastreams(3)/Observations", [b'{"result": 1}'])
        await wait_for(lambda: bridge.counters.stored == 1)
    assert bridge.counters.refused == 2
    assert "not JSON" in caplog.text and "needs its result" in caplog.text


async def test_a_broker_that_is_down_is_retried_without_stopping_the_app(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings = mqtt_settings(mqtt_url=f"mqtt://127.0.0.1:{closed_port}")

    async def store(batch: Sequence[ObservationCreate]) -> list[str | None]:
        raise AssertionError("nothing to store")

    caplog.set_level(logging.INFO, "citoyen.sensing.mqtt")
    bridge = MqttBridge(settings, store)
    async with running_bridge(bridge):
        await wait_for(lambda: "unreachable" in caplog.text, seconds=5)
        assert not bridge.connected.is_set()
    assert "retrying in 1 s" in caplog.text


async def test_without_a_broker_mqtt_is_off(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "citoyen.sensing.mqtt")
    async with running_bridge(None):
        pass
    assert "MQTT is off" in caplog.text


# --- Through the app: the sensing service stores what devices publish, and subscribers hear of changes ---------


@contextlib.asynccontextmanager
async def app_bridge(app: FastAPI) -> AsyncIterator[MqttBridge]:
    app.state.settings = mqtt_settings(database_url=app.state.settings.database_url)
    bridge = make_bridge(app.state)
    assert bridge is not None
    async with running(bridge):
        yield bridge


@contextlib.asynccontextmanager
async def subscriber(settings: Settings, *topics: str) -> AsyncIterator[aiomqtt.Client]:
    async with aiomqtt.Client(BROKER_HOST, BROKER_PORT, identifier=f"reader-{uuid.uuid4().hex[:8]}") as client:
        for topic in topics:
            await client.subscribe(settings.mqtt_topic_prefix + topic, qos=1)
        yield client


async def next_notifications(
    client: aiomqtt.Client, count: int, seconds: float = 10
) -> list[tuple[str, dict[str, Any]]]:
    """The next `count` messages that carry an entity made by the server (devices' own creates are skipped)."""
    received: list[tuple[str, dict[str, Any]]] = []

    async def collect() -> None:
        async for message in client.messages:
            payload = json.loads(bytes(message.payload))
            if "@iot.id" in payload:
                received.append((message.topic.value, payload))
                if len(received) == count:
                    return

    await asyncio.wait_for(collect(), seconds)
    return received


async def stored_results(session: AsyncSession, datastream_id: int) -> list[object]:
    rows = await session.execute(
        select(Observation.result_number).where(Observation.datastream_id == datastream_id).order_by(Observation.id)
    )
    return list(rows.scalars())


@needs_broker
async def test_a_published_observation_is_stored_and_announced(app: FastAPI, session: AsyncSession) -> None:
    world = await create_sensor(session)
    await session.commit()
    async with app_bridge(app) as bridge:
        settings: Settings = app.state.settings
        async with subscriber(settings, f"v1.1/Datastreams({world.datastream_id})/Observations") as reader:
            await publish(
                settings,
                f"v1.1/Datastreams({world.datastream_id})/Observations",
                [json.dumps({"phenomenonTime": "2026-11-26T01:00:00Z", "result": 21.5})],
            )
            [(topic, payload)] = await next_notifications(reader, 1)
        await wait_for(lambda: bridge.counters.stored == 1)
        await asyncio.sleep(0.3)  # time enough to (wrongly) store our own notification again
        assert bridge.counters.stored == 1
    assert topic == f"{settings.mqtt_topic_prefix}v1.1/Datastreams({world.datastream_id})/Observations"
    assert payload["result"] == 21.5 and payload["phenomenonTime"].startswith("2026-11-26T01:00:00")
    assert payload["@iot.selfLink"].endswith(f"/sta/v1.1/Observations({payload['@iot.id']})")
    assert await stored_results(session, world.datastream_id) == [21.5]


@needs_broker
async def test_a_multi_datastream_s_observations_are_stored_and_announced_on_its_topic(
    app: FastAPI, client: httpx.AsyncClient, token: str, session: AsyncSession
) -> None:
    world = await create_sensor(session)
    await session.commit()
    made = await client.post(f"{STA}/Things({world.thing_id})/MultiDatastreams", json=wind(), headers=bearer(token))
    assert made.status_code == 201, made.text
    topic = f"v1.1/MultiDatastreams({entity_id(made.headers['Location'])})/Observations"
    async with app_bridge(app) as bridge:
        settings: Settings = app.state.settings
        async with subscriber(settings, topic) as reader:
            await publish(
                settings,
                topic,
                [
                    json.dumps({"phenomenonTime": "2026-11-26T01:00:00Z", "result": [3.5, 90]}),
                    json.dumps({"result": [3.5]}),  # one value for two ObservedProperties
                ],
            )
            [(heard, payload)] = await next_notifications(reader, 1)
        await wait_for(lambda: bridge.counters.stored + bridge.counters.refused == 2)
    assert (bridge.counters.stored, bridge.counters.refused) == (1, 1)
    assert heard == settings.mqtt_topic_prefix + topic and payload["result"] == [3.5, 90]


@needs_broker
async def test_the_observations_topic_takes_the_datastream_from_the_body(app: FastAPI, session: AsyncSession) -> None:
    world = await create_sensor(session)
    await session.commit()
    async with app_bridge(app) as bridge:
        settings: Settings = app.state.settings
        await publish(
            settings,
            "v1.1/Observations",
            [
                json.dumps({"result": 5, "Datastream": {"@iot.id": world.datastream_id}}),
                json.dumps({"result": 6, "Datastream": {"@iot.id": 987654321}}),  # no such Datastream
                json.dumps({"result": 7}),  # no Datastream at all
                json.dumps(
                    {"result": 8, "phenomenonTime": "yesterday", "Datastream": {"@iot.id": world.datastream_id}}
                ),
            ],
        )
        await wait_for(lambda: bridge.counters.stored + bridge.counters.refused == 4)
    assert (bridge.counters.stored, bridge.counters.refused) == (1, 3)
    assert await stored_results(session, world.datastream_id) == [5.0]


@needs_broker
async def test_malformed_payloads_are_not_stored_and_the_bridge_goes_on(
    app: FastAPI, session: AsyncSession, caplog: pytest.LogCaptureFixture
) -> None:
    world = await create_sensor(session)
    await session.commit()
    caplog.set_level(logging.WARNING, "citoyen.sensing.mqtt")
    topic = f"v1.1/Datastreams({world.datastream_id})/Observations"
    async with app_bridge(app) as bridge:
        settings: Settings = app.state.settings
        await publish(settings, topic, [b"{oops", b'{"result": 1, "colour": "red"}', b'{"result": 2}'])
        await wait_for(lambda: bridge.counters.stored + bridge.counters.refused == 3)
    assert (bridge.counters.stored, bridge.counters.refused) == (1, 2)
    assert await stored_results(session, world.datastream_id) == [2.0]
    assert "not JSON" in caplog.text and "colour" in caplog.text


@needs_broker
async def test_http_changes_reach_subscribers_of_public_things_only(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    owner = await create_person(session)
    public = await create_sensor(session)
    personal = await create_sensor(session, ThingAccess.PERSONAL, owner_id=owner.id)
    _token, secret = await people.create_api_token(session, "gateway", ["sensing:write"])
    await session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    async with app_bridge(app):
        settings: Settings = app.state.settings
        topics = (
            "v1.1/Observations",
            f"v1.1/Datastreams({public.datastream_id})/Observations",
            f"v1.1/Datastreams({personal.datastream_id})/Observations",
            f"v1.1/Things({public.thing_id})",
            f"v1.1/Things({public.thing_id})/Datastreams",
        )
        async with subscriber(settings, *topics) as reader:
            hidden = await client.post(
                f"/sta/v1.1/Datastreams({personal.datastream_id})/Observations", json={"result": 1.0}, headers=headers
            )
            shown = await client.post(
                f"/sta/v1.1/Datastreams({public.datastream_id})/Observations", json={"result": 2.0}, headers=headers
            )
            assert (hidden.status_code, shown.status_code) == (201, 201)
            renamed = await client.patch(
                f"/sta/v1.1/Things({public.thing_id})", json={"name": "Station renamed"}, headers=headers
            )
            assert renamed.status_code == 200
            received = await next_notifications(reader, 3)
            with pytest.raises(TimeoutError):
                received += await next_notifications(reader, 1, seconds=1)
    prefix = settings.mqtt_topic_prefix
    by_topic = {topic.removeprefix(prefix): payload for topic, payload in received}
    assert set(by_topic) == {
        "v1.1/Observations",
        f"v1.1/Datastreams({public.datastream_id})/Observations",
        f"v1.1/Things({public.thing_id})",
    }
    assert by_topic["v1.1/Observations"]["result"] == 2.0
    assert by_topic[f"v1.1/Things({public.thing_id})"]["name"] == "Station renamed"
