"""SensorThings over MQTT (OGC 18-088 v1.1, "MQTT extension"), against an external broker.

Devices create Observations by publishing to `v1.1/Datastreams(id)/Observations`, `v1.1/Observations`,
`v1.1/MultiDatastreams(id)/Observations` or `v1.1/FeaturesOfInterest(id)/Observations`; clients subscribe to the
same kind of topics to receive new and changed entities. Citoyen is a client of the city's broker (Mosquitto,
EMQX): the bridge below subscribes to the create topics and stores what arrives through the sensing service, then
publishes what the event bus reports.

Guarantees:
- QoS 1 messages are acknowledged (PUBACK) only once their batch is committed: paho's manual acknowledgement.
  If storing fails, the bridge drops the connection without acknowledging and resumes its broker session, so
  the broker delivers the messages again (at least once, never lost).
- Who may publish where is the broker's job: its ACL (e.g. Mosquitto's `acl_file` with one user per device)
  decides which device may publish to which Datastream's topic. The bridge trusts what the broker delivers.
- Our own notifications carry an MQTT v5 user property, and the bridge skips them when they come back on a
  create topic (a notification about a new Observation uses the very topic a device publishes to).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions
from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError

from citoyen.addresses import base_url
from citoyen.config import Settings
from citoyen.db import sqlite_write_turn
from citoyen.sensing import bulk, multi, service
from citoyen.sensing.bulk import ObservationRow, check_values
from citoyen.sensing.events import SensingEvent, get_bus
from citoyen.sensing.models import Datastream, FeatureOfInterest
from citoyen.sensing.retrying import with_retries
from citoyen.sensing.validation import Limits, id_in_range, load_json

log = logging.getLogger(__name__)


def _share_paho_property_tables() -> None:
    """paho-mqtt builds its two tables of MQTT 5 property names and types anew in every `Properties()`, and
    it makes one for every message received over MQTT 5: that took about half of the bridge's time per
    message. The tables are only ever read, so every instance can share one copy, built here once."""
    template = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    types, names, table = template.types, template.names, template.properties

    def shared_tables_init(self: Properties, packetType: int) -> None:
        self.packetType = packetType
        self.types = types
        self.names = names
        self.properties = table

    if getattr(Properties.__init__, "__name__", "") != shared_tables_init.__name__:
        Properties.__init__ = shared_tables_init  # type: ignore[method-assign]


_share_paho_property_tables()

STA_VERSION = "v1.1"
ORIGIN_PROPERTY = ("citoyen-origin", "server")
# `Datastreams(+)` is not an MQTT wildcard (a `+` must fill a whole level): subscribe one level wider and filter.
CREATE_FILTERS = (f"{STA_VERSION}/Observations", f"{STA_VERSION}/+/Observations")
CREATE_TOPIC = re.compile(
    rf"^{re.escape(STA_VERSION)}/(?:(?P<parent>Datastreams|MultiDatastreams|FeaturesOfInterest)\((?P<id>\d+)\)/)?"
    "Observations$"
)
MAX_BACKOFF_SECONDS = 60.0
BATCH_LINGER_SECONDS = 0.01
# paho's own chatter (every packet at DEBUG) stays apart from the bridge's log.
CLIENT_LOG = logging.getLogger("citoyen.sensing.mqtt.client")


class MqttPayloadError(ValueError):
    """A published message that cannot be an Observation to create (acknowledged and not stored)."""


@dataclass(frozen=True)
class ObservationCreate:
    """One Observation a device published: the topic gives its Datastream or FeatureOfInterest, or the body does."""

    topic: str
    datastream_id: int | None
    feature_of_interest_id: int | None
    body: dict[str, Any]
    multi_datastream_id: int | None = None


@dataclass(frozen=True)
class Publication:
    """An entity to announce: the JSON the HTTP API would return, on every topic that concerns it."""

    topics: tuple[str, ...]
    payload: dict[str, Any]


# Stores a batch in one transaction; for each item, None when stored or the reason it was refused.
StoreBatch = Callable[[Sequence[ObservationCreate]], Awaitable[list[str | None]]]


def parse_create(topic: str, payload: bytes) -> ObservationCreate:
    """The Observation a message on a create topic asks for (`topic` without the configured prefix)."""
    match = CREATE_TOPIC.match(topic)
    if match is None:
        raise MqttPayloadError(f"not a topic to create Observations on: {topic}")
    try:
        body = load_json(payload)
    except ValueError as exc:
        raise MqttPayloadError(f"the payload is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise MqttPayloadError("the payload must be a JSON object (one Observation)")
    parent, parent_id = match.group("parent"), match.group("id")
    if parent_id is not None and not id_in_range(int(parent_id)):
        raise MqttPayloadError(f"{parent}({parent_id}) does not exist")
    return ObservationCreate(
        topic=topic,
        datastream_id=int(parent_id) if parent == "Datastreams" else None,
        feature_of_interest_id=int(parent_id) if parent == "FeaturesOfInterest" else None,
        body=body,
        multi_datastream_id=int(parent_id) if parent == "MultiDatastreams" else None,
    )


@dataclass(frozen=True)
class BrokerAddress:
    hostname: str
    port: int
    username: str | None
    password: str | None
    tls: bool

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(f"CITOYEN_MQTT_URL must look like mqtt://host:1883 or mqtts://host:8883, not {url!r}")
        tls = parts.scheme == "mqtts"
        return cls(
            hostname=parts.hostname,
            port=parts.port or (8883 if tls else 1883),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
        )

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.hostname}:{self.port}"


@dataclass
class BridgeCounters:
    stored: int = 0
    refused: int = 0
    published: int = 0
    connections: int = 0


@dataclass
class MqttBridge:
    """Keeps a connection to the broker alive (retrying with backoff), ingests creates, publishes notifications."""

    settings: Settings
    store: StoreBatch
    publications: asyncio.Queue[Publication] = field(default_factory=lambda: asyncio.Queue(maxsize=10_000))
    counters: BridgeCounters = field(default_factory=BridgeCounters)
    connected: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def prefix(self) -> str:
        return self.settings.mqtt_topic_prefix

    def announce(self, publication: Publication) -> None:
        """Queue a notification; when the broker is away for long, the oldest ones give way."""
        while True:
            try:
                self.publications.put_nowait(publication)
                return
            except asyncio.QueueFull:
                self.publications.get_nowait()
                log.warning("MQTT notifications queue full: the oldest notification was dropped")

    async def run(self) -> None:
        address = BrokerAddress.parse(self.settings.mqtt_url)
        backoff = 1.0
        while True:
            connections_before = self.counters.connections
            try:
                await self._session(address)
            except* aiomqtt.MqttError as group:
                log.warning(
                    "MQTT broker %s unreachable or lost (%s); retrying in %.0f s", address, group.exceptions[0], backoff
                )
            except* StorageFailed as group:
                log.error(
                    "MQTT: storing observations failed (%s); they stay unacknowledged, reconnecting in %.0f s",
                    group.exceptions[0],
                    backoff,
                )
            self.connected.clear()
            if self.counters.connections > connections_before:
                backoff = 1.0  # it was connected: a fresh outage starts with a short wait
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    def _client(self, address: BrokerAddress) -> aiomqtt.Client:
        connect_properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        connect_properties.SessionExpiryInterval = self.settings.mqtt_session_expiry_seconds
        # How many unacknowledged messages the broker may send at once: a batch can only be this big.
        connect_properties.ReceiveMaximum = max(1, min(self.settings.mqtt_batch_size, 65_535))
        client = aiomqtt.Client(
            address.hostname,
            address.port,
            username=address.username,
            password=address.password,
            identifier=self.settings.mqtt_client_id,
            protocol=aiomqtt.ProtocolVersion.V5,
            clean_start=False,  # resume the session: unacknowledged messages come again
            properties=connect_properties,
            tls_context=ssl.create_default_context() if address.tls else None,
            logger=CLIENT_LOG,
        )
        # aiomqtt warns about "pending calls" past a small number; thousands in flight are normal here.
        client.pending_calls_threshold = 1_000_000
        # aiomqtt has no switch for it: paho's own, set before connecting so that no message is auto-acknowledged.
        client._client.manual_ack_set(True)
        return client

    async def _session(self, address: BrokerAddress) -> None:
        async with self._client(address) as client:
            self.counters.connections += 1
            for topic_filter in CREATE_FILTERS:
                await client.subscribe(self._subscription(topic_filter), options=self._subscribe_options())
            log.info("MQTT connected to %s; ingesting %s", address, ", ".join(self.prefix + f for f in CREATE_FILTERS))
            self.connected.set()
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._publish_loop(client))
                tasks.create_task(self._ingest_loop(client))

    def _subscription(self, topic_filter: str) -> str:
        topic = self.prefix + topic_filter
        return f"$share/{self.settings.mqtt_shared_group}/{topic}" if self.settings.mqtt_shared_group else topic

    def _subscribe_options(self) -> SubscribeOptions:
        # "No local" keeps our own notifications away; MQTT 5 forbids it on shared subscriptions.
        return SubscribeOptions(qos=1, noLocal=not self.settings.mqtt_shared_group)

    async def _ingest_loop(self, client: aiomqtt.Client) -> None:
        messages = aiter(client.messages)
        size = self.settings.mqtt_batch_size
        while True:
            batch = [await anext(messages)]
            if len(client.messages) < size - 1:
                # A moment for more to arrive: one transaction for many messages is what makes ingest fast.
                await asyncio.sleep(BATCH_LINGER_SECONDS)
            while len(client.messages) and len(batch) < size:
                batch.append(await anext(messages))
            await self._handle_batch(batch)
            for message in batch:
                if message.qos > 0:
                    client._client.ack(message.mid, message.qos)

    async def _handle_batch(self, batch: Sequence[aiomqtt.Message]) -> None:
        creates: list[ObservationCreate] = []
        for message in batch:
            topic = message.topic.value
            if _is_our_notification(message) or not topic.startswith(self.prefix):
                continue
            try:
                creates.append(parse_create(topic[len(self.prefix) :], _payload_bytes(message.payload)))
            except MqttPayloadError as exc:
                self.counters.refused += 1
                log.warning("MQTT message on %s refused: %s", topic, exc)
        if not creates:
            return
        try:
            outcomes = await self.store(creates)
        except Exception as exc:  # the database is away or broken: do not acknowledge anything
            raise StorageFailed(str(exc)) from exc
        for create, problem in zip(creates, outcomes, strict=True):
            if problem is None:
                self.counters.stored += 1
            else:
                self.counters.refused += 1
                log.warning("MQTT Observation on %s refused: %s", self.prefix + create.topic, problem)

    async def _publish_loop(self, client: aiomqtt.Client) -> None:
        """Notifications go out at QoS 0: live news, not records (the records are in the API). They are handed
        to paho directly, without waiting for each to leave, so a busy broker never holds up the ingest."""
        # Marked as ours only where "no local" cannot keep them from coming back (shared subscriptions):
        # packing the property costs as much as the rest of the message.
        properties: Properties | None = None
        if self.settings.mqtt_shared_group:
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            properties.UserProperty = [ORIGIN_PROPERTY]
        paho_client = client._client
        while True:
            publication = await self.publications.get()
            payload = json.dumps(publication.payload, separators=(",", ":"), default=str)
            for topic in publication.topics:
                info = paho_client.publish(self.prefix + topic, payload, qos=0, properties=properties)
                if info.rc != 0:
                    log.warning("MQTT: a notification on %s was not sent (code %s)", topic, info.rc)
            self.counters.published += 1


class StorageFailed(Exception):
    """Storing a batch raised: the messages stay unacknowledged and the session is resumed."""


def _is_our_notification(message: aiomqtt.Message) -> bool:
    user_properties = getattr(message.properties, "UserProperty", None) or []
    return ORIGIN_PROPERTY in [tuple(item) for item in user_properties]


def _payload_bytes(payload: Any) -> bytes:
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode()
    return json.dumps(payload).encode()


@contextlib.asynccontextmanager
async def running_bridge(bridge: MqttBridge | None) -> AsyncIterator[None]:
    """Run the bridge beside the app; the app starts and serves HTTP whatever the broker does."""
    if bridge is None:
        log.info("MQTT is off (CITOYEN_MQTT_URL is empty): SensorThings works over HTTP only")
        yield
        return
    task = asyncio.create_task(bridge.run(), name="citoyen-mqtt-bridge")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# --- Wiring to the app: storing through the sensing service, announcing the event bus's changes --------------


def create_path(create: ObservationCreate) -> str:
    """The SensorThings path an HTTP client would POST the same Observation to."""
    if create.datastream_id is not None:
        return f"Datastreams({create.datastream_id})/Observations"
    if create.multi_datastream_id is not None:
        return f"MultiDatastreams({create.multi_datastream_id})/Observations"
    if create.feature_of_interest_id is not None:
        return f"FeaturesOfInterest({create.feature_of_interest_id})/Observations"
    return "Observations"


FAST_KEYS = frozenset({"phenomenonTime", "result", "resultTime", "resultQuality", "validTime", "parameters"})


def _linked_id(value: Any) -> int | None:
    """n for `{"@iot.id": n}` (a link to an existing entity), None for anything else."""
    if isinstance(value, dict) and set(value) == {"@iot.id"}:
        linked = value["@iot.id"]
        if isinstance(linked, int) and not isinstance(linked, bool) and id_in_range(linked):
            return linked
    return None


def observation_row(create: ObservationCreate, limits: Limits) -> Any:
    """The Observation as a row for the bulk insert, or None when it needs the general path (an inline
    FeatureOfInterest or Datastream, unknown keys: the service then explains what is wrong)."""
    body = create.body
    if create.multi_datastream_id is not None:
        return None  # MultiDatastreams' Observations check their result's size: the service's path
    extra = set(body) - FAST_KEYS
    datastream_id = create.datastream_id
    feature_id = create.feature_of_interest_id
    if "Datastream" in extra:
        datastream_id = datastream_id if datastream_id is not None else _linked_id(body["Datastream"])
        if datastream_id is None or create.datastream_id is not None:
            return None
        extra.discard("Datastream")
    if "FeatureOfInterest" in extra:
        feature_id = feature_id if feature_id is not None else _linked_id(body["FeatureOfInterest"])
        if feature_id is None or create.feature_of_interest_id is not None:
            return None
        extra.discard("FeatureOfInterest")
    if extra or datastream_id is None or "result" not in body:
        return None
    phenomenon = body.get("phenomenonTime")
    start, end = (
        service.parse_time_or_interval(phenomenon, "phenomenonTime")
        if phenomenon is not None
        else (datetime.now(UTC), None)
    )
    result_time = body.get("resultTime")
    valid = body.get("validTime")
    valid_start, valid_end = service.parse_time_or_interval(valid, "validTime") if valid is not None else (None, None)
    parameters = body.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise service.StaError(400, "parameters must be a JSON object")
    try:
        check_values(limits, body["result"], body.get("resultQuality"), parameters)
    except ValueError as error:
        raise service.StaError(400, str(error)) from None
    return ObservationRow(
        datastream_id,
        start,
        end,
        None if result_time is None else service.parse_time(result_time, "resultTime"),
        body["result"],
        body.get("resultQuality"),
        valid_start,
        valid_end,
        parameters,
        feature_id,
    )


async def store_observations(state: Any, creates: Sequence[ObservationCreate]) -> list[str | None]:
    """Create the batch in one transaction; what goes wrong with one Observation does not sink the rest.

    Plain Observations (the usual device message) are checked here and written with the bulk insert that
    `CreateObservations` uses; anything else goes through the same service call as `POST .../Observations`.
    The access is staff's: the broker's ACL already decided that this device may publish on this topic."""
    settings: Settings = state.settings
    context = service.Context(
        access=service.Access(is_staff=True),
        base_url=base_url(settings),
        default_top=settings.sta_default_top,
        max_top=settings.sta_max_top,
        bus=get_bus(state),
        territory=getattr(state, "territory_index", None),
        limits=Limits.of(settings),
    )
    outcomes: list[str | None] = [None] * len(creates)
    fast: list[tuple[int, Any]] = []
    slow: list[int] = []
    for index, create in enumerate(creates):
        try:
            row = observation_row(create, context.limits)
        except service.StaError as error:
            outcomes[index] = error.message
            continue
        if row is None:
            slow.append(index)
        else:
            fast.append((index, row))

    refused = list(outcomes)

    async def transaction() -> None:
        # In turn with the process's other writers (HTTP requests, each transaction of a large CreateObservations),
        # rather than in SQLite's busy handler, which a writer that commits and starts again at once can keep out.
        async with state.sessionmaker() as session, sqlite_write_turn(state, session):
            await write(session)

    async def write(session: Any) -> None:
        # A retry starts again from what was refused before touching the database.
        outcomes[:] = refused
        if fast:
            wanted_streams = {row.datastream_id for _index, row in fast}
            wanted_features = {row.feature_of_interest_id for _index, row in fast} - {None}
            streams = set(
                (await session.execute(select(Datastream.id).where(Datastream.id.in_(wanted_streams)))).scalars()
            )
            features = set(
                (
                    await session.execute(select(FeatureOfInterest.id).where(FeatureOfInterest.id.in_(wanted_features)))
                ).scalars()
            )
            ready = []
            for index, row in fast:
                if row.datastream_id not in streams:
                    outcomes[index] = f"Datastream({row.datastream_id}) does not exist"
                elif row.feature_of_interest_id is not None and row.feature_of_interest_id not in features:
                    outcomes[index] = f"FeatureOfInterest({row.feature_of_interest_id}) does not exist"
                else:
                    ready.append((index, row))
            try:
                async with session.begin_nested():
                    await bulk.insert_observations(session, context, [row for _index, row in ready])
            except (service.StaError, DataError, IntegrityError):
                # One of them cannot be stored (a Thing without Location for its feature): find which, one by one.
                for index, row in ready:
                    try:
                        async with session.begin_nested():
                            await bulk.insert_observations(session, context, [row])
                    except service.StaError as error:
                        outcomes[index] = error.message
                    except (DataError, IntegrityError) as error:
                        outcomes[index] = f"the database refused it: {error.orig}"
        for index in slow:
            create = creates[index]
            try:
                async with session.begin_nested():
                    await service.create_at(session, context, create_path(create), create.body)
            except service.StaError as error:
                outcomes[index] = error.message
            except (DataError, IntegrityError) as error:
                outcomes[index] = f"the database refused it: {error.orig}"
        await session.commit()

    await with_retries(transaction, "MQTT ingest")
    return outcomes


async def topics_for(state: Any, event: SensingEvent) -> tuple[str, ...]:
    """The topics of OGC 18-088 §14.2 that this change concerns (without the configured prefix).

    A new entity goes to its collection (`v1.1/Observations`) and to the navigation collections of its parents
    (`v1.1/Datastreams(7)/Observations`, `v1.1/Things(3)/Datastreams`); a changed entity to its own topic
    (`v1.1/Things(3)`). Deletions have no topic in the standard."""
    entity_set, entity_id = event.entity_set, event.entity_id
    if event.kind == "update":
        return (f"{STA_VERSION}/{entity_set}({entity_id})",)
    if event.kind != "create":
        return ()
    topics = [f"{STA_VERSION}/{entity_set}"]
    if entity_set == "Observations" and event.datastream_id is not None:
        topics.append(f"{STA_VERSION}/Datastreams({event.datastream_id})/Observations")
    elif entity_set == "Observations" and event.multi_datastream_id is not None:
        topics.append(f"{STA_VERSION}/MultiDatastreams({event.multi_datastream_id})/Observations")
    elif entity_set == "MultiDatastreams":
        async with state.sessionmaker() as session:
            topics += await multi.parent_topics(session, entity_id, STA_VERSION)
    elif entity_set == "Datastreams":
        async with state.sessionmaker() as session:
            parents = (
                await session.execute(
                    select(Datastream.thing_id, Datastream.sensor_id, Datastream.observed_property_id).where(
                        Datastream.id == entity_id
                    )
                )
            ).first()
        if parents is not None:
            thing_id, sensor_id, property_id = parents
            topics += [
                f"{STA_VERSION}/Things({thing_id})/Datastreams",
                f"{STA_VERSION}/Sensors({sensor_id})/Datastreams",
                f"{STA_VERSION}/ObservedProperties({property_id})/Datastreams",
            ]
    return tuple(topics)


def make_bridge(state: Any) -> MqttBridge | None:
    """The app's bridge when CITOYEN_MQTT_URL is set: it ingests creates and announces public changes."""
    settings: Settings = state.settings
    if not settings.mqtt_url:
        return None

    async def store(creates: Sequence[ObservationCreate]) -> list[str | None]:
        return await store_observations(state, creates)

    bridge = MqttBridge(settings, store)

    async def announce(event: SensingEvent) -> None:
        # Only public Things: a restricted one publishes hourly means elsewhere, a personal one nothing at all.
        if event.access != "public":
            return
        topics = await topics_for(state, event)
        if topics:
            bridge.announce(Publication(topics, event.payload))

    get_bus(state).add_listener(announce)
    return bridge
