"""SensorThings over MQTT against the real broker (Mosquitto at 127.0.0.1:1883, started by `.ci/run`).

Each test uses its own topic prefix and client identifiers, so tests never see each other's messages."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import uuid
from collections.abc import AsyncIterator, Sequence

import aiomqtt
import pytest

from citoyen.config import Settings
from citoyen.sensing.mqtt import MqttBridge, MqttPayloadError, ObservationCreate, parse_create, running_bridge

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


async def wait_for(condition: object, timeout: float = 10) -> None:
    async def poll() -> None:
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)


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
        await wait_for(lambda: len({c.body["result"] for c in stored}) == 50, timeout=20)
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
        await wait_for(lambda: "unreachable" in caplog.text, timeout=5)
        assert not bridge.connected.is_set()
    assert "retrying in 1 s" in caplog.text


async def test_without_a_broker_mqtt_is_off(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "citoyen.sensing.mqtt")
    async with running_bridge(None):
        pass
    assert "MQTT is off" in caplog.text
