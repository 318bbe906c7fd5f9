"""SensorThings changes (every create, update and delete), published on the domain-events seam
(`citoyen.events`): delivered once their transaction commits, dropped on rollback.

Writers queue events on their session (`await queue_events(...)`). Two kinds go out:
- `SensingChanges`, the entities' JSON as SensorThings serves it, for this process only: the MQTT bridge
  announces them (`add_listener`), once, from the process that stored them;
- `ObservationsStored` (ids and plain values), which crosses workers: the live pages of every process
  subscribe to it, so a chart sees readings stored through another worker.
And one is announced in the transaction: `ReadingsChanged`, the span of phenomenon times each Datastream's
readings were stored, changed or deleted in by one write (one span per Datastream, never a row per reading), which
the indicators' rollups note with the change and fold in later (bulk ingest announces it from its rows without
building any JSON).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen import events
from citoyen.events import DomainEvent, EventHub, ObservationsStored, ReadingsChanged

log = logging.getLogger(__name__)

EventKind = Literal["create", "update", "delete"]
# Readings per ObservationsStored event: a PostgreSQL NOTIFY carries less than 8000 bytes.
READINGS_PER_EVENT = 50


@dataclass(frozen=True, slots=True)
class SensingEvent:
    """A change to one entity: `payload` is the entity's JSON as `GET path` serves it (empty for deletes)."""

    kind: EventKind
    entity_set: str  # "Things", "Datastreams", "Observations", ...
    entity_id: int
    path: str  # "/sta/v1.1/Observations(42)"
    payload: dict[str, Any]
    # The Thing's access ("public", "restricted", "personal"): who may be told about this change.
    access: str
    datastream_id: int | None = None
    # The owner of a personal Thing, so a live page can show a person their own meter.
    owner_person_id: int | None = None
    # An Observation's MultiDatastream (or the MultiDatastream itself), for its MQTT topics.
    multi_datastream_id: int | None = None


Listener = Callable[[SensingEvent], Awaitable[None]]


@dataclass(eq=False)
class Subscription:
    """A bounded queue of events; iterate it with `async for`, close it when done."""

    bus: SensingEventBus
    queue: asyncio.Queue[SensingEvent] = field(default_factory=lambda: asyncio.Queue(maxsize=10_000))
    dropped: int = 0

    def offer(self, item: SensingEvent) -> None:
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(item)

    async def get(self) -> SensingEvent:
        return await self.queue.get()

    def close(self) -> None:
        self.bus.unsubscribe(self)

    def __aiter__(self) -> AsyncIterator[SensingEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[SensingEvent]:
        while True:
            yield await self.queue.get()


class SensingEventBus:
    """This process's subscribers to SensorThings changes, fed by the app's event hub."""

    def __init__(self, hub: EventHub | None = None) -> None:
        self.hub = hub or EventHub()
        self._subscriptions: list[Subscription] = []
        self._listeners: list[Listener] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.hub.subscribe(SensingChanges, self._changed)

    @property
    def has_subscribers(self) -> bool:
        """False lets writers skip building payloads nobody will read (here, or in another worker)."""
        return (
            self.has_listeners
            or self.hub.has_transaction_subscribers(ObservationsStored)
            or self.hub.has_transaction_subscribers(ReadingsChanged)
        )

    @property
    def has_local_listeners(self) -> bool:
        """Whether this process hears each change with its JSON (its live subscriptions, the MQTT bridge)."""
        return bool(self._subscriptions or self._listeners)

    @property
    def hears_changed_readings(self) -> bool:
        """Whether a write's changed readings are heard in its transaction (the indicators' rollups note them):
        updates and deletions read which readings they touch only then."""
        return self.hub.has_transaction_subscribers(ReadingsChanged)

    @property
    def has_listeners(self) -> bool:
        """Whether anyone hears each change after the commit (this process's subscriptions and listeners, the
        live pages of any worker): bulk ingest builds each Observation's JSON only then."""
        return bool(self._subscriptions or self._listeners) or self.hub.wants(ObservationsStored)

    def subscribe(self, maxsize: int = 10_000) -> Subscription:
        subscription = Subscription(self, asyncio.Queue(maxsize=maxsize))
        self._subscriptions.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with contextlib.suppress(ValueError):
            self._subscriptions.remove(subscription)

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def _changed(self, changes: SensingChanges) -> None:
        self.publish_nowait(list(changes.events))

    def publish_nowait(self, events: list[SensingEvent]) -> None:
        """Deliver committed events: queues at once, listeners in a background task."""
        if not events:
            return
        for subscription in list(self._subscriptions):
            for item in events:
                subscription.offer(item)
        if self._listeners:
            task = asyncio.get_running_loop().create_task(self._notify_listeners(list(self._listeners), events))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def publish(self, events: list[SensingEvent]) -> None:
        self.publish_nowait(events)
        await self.drain()

    async def drain(self) -> None:
        """Wait until the listeners have seen everything published so far (tests, shutdown)."""
        await self.hub.drain()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _notify_listeners(self, listeners: list[Listener], events: list[SensingEvent]) -> None:
        for item in events:
            for listener in listeners:
                try:
                    await listener(item)
                except Exception:
                    log.exception("sensing event listener %r failed on %s %s", listener, item.kind, item.path)


@dataclass(frozen=True, slots=True)
class SensingChanges(DomainEvent):
    """The SensorThings changes of one transaction, with their JSON: for the process that stored them."""

    crosses_workers: ClassVar[bool] = False
    events: tuple[SensingEvent, ...]


def session_hub(session: AsyncSession, bus: SensingEventBus) -> EventHub:
    """The hub that `session`'s events go through: its own, else (a writer's own session: MQTT ingest, the demo
    feed) the bus's, attached to it."""
    hub = events.attached_hub(session)
    if hub is None:
        events.attach(session, bus.hub)
        hub = bus.hub
    return hub


Spans = Mapping[int, tuple[datetime, datetime]]  # Datastream id -> first and last phenomenon time touched


def spans_of(
    datastream_ids: Iterable[int], phenomenon_times: Iterable[datetime]
) -> dict[int, tuple[datetime, datetime]]:
    """Each Datastream's first and last phenomenon time among readings given column by column."""
    spans: dict[int, tuple[datetime, datetime]] = {}
    for datastream_id, moment in zip(datastream_ids, phenomenon_times, strict=True):
        known = spans.get(datastream_id)
        if known is None:
            spans[datastream_id] = (moment, moment)
        elif moment < known[0]:
            spans[datastream_id] = (moment, known[1])
        elif moment > known[1]:
            spans[datastream_id] = (known[0], moment)
    return spans


async def announce_spans(session: AsyncSession, bus: SensingEventBus, spans: Spans) -> None:
    """Announce one write's changed readings, a span per Datastream, as one ReadingsChanged to its
    in-transaction subscribers (the indicators' rollups), if any: they note it in the write's transaction."""
    hub = session_hub(session, bus)
    if spans and hub.has_transaction_subscribers(ReadingsChanged):
        ordered = sorted(spans.items())
        await events.announce(
            session,
            ReadingsChanged(
                tuple(datastream_id for datastream_id, _ in ordered),
                tuple(span[0] for _, span in ordered),
                tuple(span[1] for _, span in ordered),
            ),
        )


async def announce_readings(
    session: AsyncSession,
    bus: SensingEventBus,
    datastream_ids: Sequence[int],
    phenomenon_times: Sequence[datetime],
    results: Sequence[float | None] | None = None,
) -> None:
    """`announce_spans` for readings given column by column (`results` is not needed: kept for the callers that
    pass it)."""
    hub = session_hub(session, bus)
    if datastream_ids and hub.has_transaction_subscribers(ReadingsChanged):
        await announce_spans(session, bus, spans_of(datastream_ids, phenomenon_times))


async def queue_events(
    session: AsyncSession, bus: SensingEventBus, items: list[SensingEvent], readings_announced: bool = False
) -> None:
    """Publish `items` after `session` commits (forgotten if it rolls back). The created Observations among them
    are also announced as one ReadingsChanged, unless the writer did so itself (`readings_announced`)."""
    if not items:
        return
    hub = session_hub(session, bus)
    events.publish(session, SensingChanges(tuple(items)))
    in_transaction = hub.has_transaction_subscribers(ObservationsStored)
    stored = observations_stored(items)
    for event in stored:
        if in_transaction:
            await events.announce(session, event)
        else:
            events.publish(session, event)
    if not readings_announced and stored:
        readings = [
            (event.datastream_id, datetime.fromisoformat(moment.replace("Z", "+00:00")), result)
            for event in stored
            for moment, result in zip(event.phenomenon_times, event.results, strict=True)
            if moment
        ]
        if readings:
            ids, times, results = zip(*readings, strict=True)
            await announce_readings(session, bus, ids, times, results)


def observations_stored(items: list[SensingEvent]) -> list[ObservationsStored]:
    """The created Observations among `items`, as ObservationsStored events (by Datastream, in chunks)."""
    readings: dict[int, list[tuple[int, str, float | None]]] = {}
    for item in items:
        if item.entity_set != "Observations" or item.kind != "create" or item.datastream_id is None:
            continue
        result = item.payload.get("result")
        number = None if isinstance(result, bool) or not isinstance(result, int | float) else result
        time = str(item.payload.get("phenomenonTime", "")).split("/")[0]
        readings.setdefault(item.datastream_id, []).append((item.entity_id, time, number))
    return _in_chunks(readings)


async def queue_stored_readings(
    session: AsyncSession, bus: SensingEventBus, readings: dict[int, list[tuple[int, str, float | None]]]
) -> None:
    """Created Observations as ObservationsStored only ({Datastream: [(id, ISO time, number or None)]}), for the
    live pages of other workers when nobody in this process hears the changes' JSON: bulk ingest then builds no
    JSON at all."""
    hub = session_hub(session, bus)
    in_transaction = hub.has_transaction_subscribers(ObservationsStored)
    for event in _in_chunks(readings):
        if in_transaction:
            await events.announce(session, event)
        else:
            events.publish(session, event)


def _in_chunks(readings: dict[int, list[tuple[int, str, float | None]]]) -> list[ObservationsStored]:
    stored = []
    for datastream_id, rows in readings.items():
        for start in range(0, len(rows), READINGS_PER_EVENT):
            ids, times, results = zip(*rows[start : start + READINGS_PER_EVENT], strict=True)
            stored.append(ObservationsStored(datastream_id, ids, times, results))
    return stored


def get_bus(state: Any) -> SensingEventBus:
    """The app's bus (`app.state.sensing_events`), created on first use."""
    bus: SensingEventBus | None = getattr(state, "sensing_events", None)
    if bus is None:
        bus = SensingEventBus(getattr(state, "events", None))
        state.sensing_events = bus
    return bus
