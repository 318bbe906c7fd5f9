"""In-process bus of SensorThings changes: every create and update, published once its transaction commits.

The API queues events on the request's session (`queue_event`); they reach subscribers only after the
commit succeeds, and are dropped on rollback, so nobody is told about data that was never stored.
MQTT publishing and the live pages (server-sent events) subscribe on `app.state.sensing_events`.

Subscribers are either queues (`subscribe()`, an async iterator: a slow reader loses its oldest events
rather than slowing ingest) or listeners (`add_listener(callback)`, awaited in order in a task).
Across several workers each process has its own bus; the scale-out path (PostgreSQL NOTIFY or Redis)
plugs in as a listener that forwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger(__name__)

EventKind = Literal["create", "update", "delete"]
PENDING_KEY = "citoyen_sensing_events"


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
    """Fan-out of committed changes to the subscribers of one process."""

    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []
        self._listeners: list[Listener] = []
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def has_subscribers(self) -> bool:
        """False lets bulk ingest skip building payloads nobody will read."""
        return bool(self._subscriptions or self._listeners)

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
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _notify_listeners(self, listeners: list[Listener], events: list[SensingEvent]) -> None:
        for item in events:
            for listener in listeners:
                try:
                    await listener(item)
                except Exception:
                    log.exception("sensing event listener %r failed on %s %s", listener, item.kind, item.path)


def queue_event(session: AsyncSession, bus: SensingEventBus, item: SensingEvent) -> None:
    """Publish `item` on `bus` after `session` commits; forget it if the session rolls back."""
    queue_events(session, bus, [item])


def queue_events(session: AsyncSession, bus: SensingEventBus, items: list[SensingEvent]) -> None:
    sync_session = session.sync_session
    pending: list[SensingEvent] | None = sync_session.info.get(PENDING_KEY)
    if pending is None:
        pending = []
        sync_session.info[PENDING_KEY] = pending
        if not sync_session.info.get(PENDING_KEY + "_hooked"):
            # Hooked once per session (sessions live for one request); the hooks find nothing after use.
            sync_session.info[PENDING_KEY + "_hooked"] = True
            loop = asyncio.get_running_loop()

            def _after_commit(committed: Session) -> None:
                ready = committed.info.pop(PENDING_KEY, None)
                if ready:
                    loop.call_soon(bus.publish_nowait, ready)

            def _after_rollback(rolled_back: Session, previous: SessionTransaction) -> None:
                if not previous.nested:
                    rolled_back.info.pop(PENDING_KEY, None)

            sa_event.listen(sync_session, "after_commit", _after_commit)
            sa_event.listen(sync_session, "after_soft_rollback", _after_rollback)
    pending.extend(items)


def get_bus(state: Any) -> SensingEventBus:
    """The app's bus (`app.state.sensing_events`), created on first use."""
    bus: SensingEventBus | None = getattr(state, "sensing_events", None)
    if bus is None:
        bus = SensingEventBus()
        state.sensing_events = bus
    return bus
