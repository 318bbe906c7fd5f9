"""Domain events: how one domain hears what happened in another without importing it.

A service publishes a typed event inside its transaction (`publish(session, ReportFiled(report_id=...))`): the
event waits on the session, is dropped if the transaction rolls back, and is delivered once it commits, to
the subscribers registered when the app is built (`EventHub.subscribe`) and to the live listeners of the
moment (`EventHub.listen`, e.g. a page's server-sent events). Whoever commits delivers: a hook on the
session's commit hands the events to the session's hub (`attach`; the request's session dependency attaches
the app's), so requests, the MQTT ingest, the demo feed and background tasks all deliver without each having
to remember to. A subscriber that fails is logged; the change it heard of stays committed.

Across workers: on PostgreSQL each served process keeps one connection that LISTENs on a channel, and
sends every committed event there (`pg_notify`) after delivering it at home; the other processes deliver it
to their own subscribers. On SQLite (one process) delivery stays in-process. An event that crosses workers is
only built when some process hears its type: each process says on the channel which crossing types it hears
(at once when it starts hearing one, then every few seconds while it does, and when a starting process asks),
and the others trust that for `INTEREST_SECONDS`; so a bulk ingest with no live page open anywhere sends no
readings at all. A reader that has just started hearing may miss what another process committed in the few
milliseconds its word takes to arrive.

What a crash can lose: the events of a transaction that committed just before its process died, and events
sent while a process's listening connection was down. Live charts only show what is new, so a lost event is a
chart that misses a point until reloaded. Work that must never be lost (a follower's notification, the mail
that goes with it) subscribes *in the transaction* instead (`EventHub.subscribe_in_transaction`): the
publisher then calls `await announce(session, event)`, which runs those subscribers at once, in its own
transaction, so that what they write commits or rolls back with the change, and then publishes the event for
after-commit delivery as usual. A failing in-transaction subscriber fails the change: it is part of it.

Every session that may announce carries a hub: the app's sessionmaker, the CLI's and the tests' are made with
`db.make_sessionmaker(engine, hub)`; `announce` refuses a session without one rather than skip a rule.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

import asyncpg
from sqlalchemy import event as sa_event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """Something that happened and was committed: ids and plain values only (it crosses processes as JSON)."""

    # True for events that readers of the moment in other processes await (a live page's stream, served by any
    # worker): they are sent to every worker. Others are delivered in the process that committed them, where the
    # subscribers registered at app build (the same in every worker) hear them once.
    crosses_workers: ClassVar[bool] = False


E = TypeVar("E", bound=DomainEvent)

EVENT_TYPES: dict[str, type[DomainEvent]] = {}
"""Every event type by class name, so that an event read from another process finds its class."""


def event_type(cls: type[E]) -> type[E]:
    """Registers an event class (decorator): its name must be unique."""
    if cls.__name__ in EVENT_TYPES and EVENT_TYPES[cls.__name__] is not cls:
        raise ValueError(f"two domain events named {cls.__name__}")
    EVENT_TYPES[cls.__name__] = cls
    return cls


@event_type
@dataclass(frozen=True, slots=True)
class ReportFiled(DomainEvent):
    report_id: int


@event_type
@dataclass(frozen=True, slots=True)
class ReportUpdated(DomainEvent):
    report_id: int
    status: str


@event_type
@dataclass(frozen=True, slots=True)
class ProposalPublished(DomainEvent):
    proposal_id: int
    process_id: int


@event_type
@dataclass(frozen=True, slots=True)
class ProposalAnswered(DomainEvent):
    proposal_id: int
    answer: str


@event_type
@dataclass(frozen=True, slots=True)
class MilestoneRecorded(DomainEvent):
    proposal_id: int
    milestone_id: int


@event_type
@dataclass(frozen=True, slots=True)
class ProposalHidden(DomainEvent):
    """Moderators hid a proposal behind a public reason: what repeats it elsewhere (the neighbourhood feed) drops it."""

    proposal_id: int


@event_type
@dataclass(frozen=True, slots=True)
class CommentPosted(DomainEvent):
    """A comment or a reply, on a proposal (`proposal_id`) or on the process itself (None)."""

    comment_id: int
    process_id: int
    proposal_id: int | None


@event_type
@dataclass(frozen=True, slots=True)
class ProjectUpdatePosted(DomainEvent):
    """Staff posted an update on an urban project; `neighbourhood_ids` are the project's (from its geometry)."""

    project_id: int
    update_id: int
    neighbourhood_ids: tuple[int, ...]


@event_type
@dataclass(frozen=True, slots=True)
class FollowedNewsTold(DomainEvent):
    """A domain told these people in the app of news of something they follow (an urban project's update or
    answer), `title_fr` and `title_en` its notice in each language; following puts it in the daily e-mail of
    those who consented, as the news of what is followed in participation."""

    person_ids: tuple[int, ...]
    title_fr: str
    title_en: str
    link: str


@event_type
@dataclass(frozen=True, slots=True)
class ProjectQuestionAnswered(DomainEvent):
    """A department answered, publicly, a citizen's question on an urban project."""

    project_id: int
    question_id: int
    neighbourhood_ids: tuple[int, ...]


@event_type
@dataclass(frozen=True, slots=True)
class AlertRaised(DomainEvent):
    """The early-warning run raised a new alert (citoyen.alerts): something unusual in a sensor series, in report
    counts or a cluster of reports; `neighbourhood_id` is where (None: no single quartier). Announced: a
    neighbourhood's feed may record it in the transaction."""

    alert_id: int
    neighbourhood_id: int | None


@event_type
@dataclass(frozen=True, slots=True)
class IndicatorChanged(DomainEvent):
    """A quartier's weekly figure for an indicator left its usual range (citoyen.indicators.changes, judged on the
    housekeeping round once a week is over). Announced: the quartier's feed records it in the transaction."""

    change_id: int
    neighbourhood_id: int


@event_type
@dataclass(frozen=True, slots=True)
class ObservationsStored(DomainEvent):
    """New Observations of one Datastream, column by column (the same index in each tuple is one reading).
    Live charts in every worker await them.

    `results` holds the numeric results (None for others: text, objects), which is what charts draw;
    `phenomenon_times` are ISO 8601 strings (the start of an interval)."""

    crosses_workers: ClassVar[bool] = True
    datastream_id: int
    observation_ids: tuple[int, ...]
    phenomenon_times: tuple[str, ...]
    results: tuple[float | None, ...]


@dataclass(frozen=True, slots=True)
class ReadingsChanged(DomainEvent):
    """Readings of these Datastreams were stored, changed or deleted between these phenomenon times (the same
    index in each tuple is one Datastream's span, ends included): announced in the transaction of the change, so
    that a subscriber (the indicators' rollups) notes what to recompute with the change itself, or not at all.
    One per write, whatever its size: a span per Datastream, never a row per reading. For this process only."""

    crosses_workers: ClassVar[bool] = False
    datastream_ids: tuple[int, ...]
    starts: tuple[datetime, ...]
    ends: tuple[datetime, ...]


def encode(event: DomainEvent) -> dict[str, Any]:
    return {"type": type(event).__name__, "fields": {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}}


def decode(message: dict[str, Any]) -> DomainEvent:
    """The event `encode` wrote (lists come back as the tuples they were); KeyError or TypeError if unknown."""
    cls = EVENT_TYPES[message["type"]]
    fields = {name: tuple(value) if isinstance(value, list) else value for name, value in message["fields"].items()}
    return cls(**fields)


# --- Publishing: events wait on the session until it commits ---

_PENDING = "citoyen_domain_events"
HUB_KEY = "citoyen_event_hub"
_HOOKED = "citoyen_domain_events_hooked"
_SAVEPOINTS = "citoyen_domain_events_savepoints"


def attach(session: AsyncSession, hub: EventHub) -> None:
    """Events this session publishes are delivered through `hub` once it commits."""
    session.sync_session.info[HUB_KEY] = hub


def attached_hub(session: AsyncSession) -> EventHub | None:
    hub: EventHub | None = session.sync_session.info.get(HUB_KEY)
    return hub


def publish(session: AsyncSession, event: DomainEvent) -> None:
    """Delivers `event` after `session` commits; forgets it if the transaction (or its savepoint) rolls back.

    For an event with in-transaction subscribers use `announce`: publishing it here would skip them, so it is
    refused."""
    hub = attached_hub(session)
    if hub is not None and hub.has_transaction_subscribers(type(event)):
        raise RuntimeError(f"{type(event).__name__} has in-transaction subscribers: use `await announce(...)`")
    if hub is not None and not hub.wants(type(event)):
        return  # nobody would hear it: no hooks on the session, nothing sent (about 10 % of a report's POST)
    _queue(session, event)


async def announce(session: AsyncSession, event: DomainEvent) -> None:
    """Runs the in-transaction subscribers of `event` now, in `session`'s transaction (what they write commits
    or rolls back with the change; their failure is the change's), then publishes it for after-commit delivery."""
    hub = attached_hub(session)
    if hub is None:
        raise RuntimeError(
            f"{type(event).__name__} announced on a session without an event hub: make the sessionmaker with "
            "citoyen.db.make_sessionmaker(engine, hub)"
        )
    await hub.run_in_transaction(session, event)
    if hub.wants(type(event)):
        _queue(session, event)


def _queue(session: AsyncSession, event: DomainEvent) -> None:
    sync_session = session.sync_session
    pending: list[DomainEvent] = sync_session.info.setdefault(_PENDING, [])
    if not sync_session.info.get(_HOOKED):
        sync_session.info[_HOOKED] = True
        _hook(sync_session, asyncio.get_running_loop())
        _mark_open_savepoints(sync_session)
    if not sync_session.in_transaction():
        # An event belongs to a transaction even before anything is written (beginning one does no I/O), so
        # that a rollback forgets it.
        sync_session.begin()
    pending.append(event)


def _mark_open_savepoints(sync_session: Session) -> None:
    """Savepoints begun before the session's first event (a SensorThings batch runs each part in one) mark where
    their events start too, so that rolling one back forgets what was published inside it."""
    marks: dict[int, int] = sync_session.info.setdefault(_SAVEPOINTS, {})
    pending = len(sync_session.info.get(_PENDING, []))
    transaction = sync_session.get_nested_transaction()
    while transaction is not None and transaction.nested:
        marks.setdefault(id(transaction), pending)
        transaction = transaction.parent


def _hook(sync_session: Session, loop: asyncio.AbstractEventLoop) -> None:
    # Hooked once per session; after use the hooks find nothing to do. A savepoint remembers how many events
    # were pending when it began, so rolling it back forgets only what was published inside it.
    def _begun(session: Session, transaction: SessionTransaction) -> None:
        if transaction.nested:
            session.info.setdefault(_SAVEPOINTS, {})[id(transaction)] = len(session.info.get(_PENDING, []))

    def _committed(session: Session) -> None:
        ready: list[DomainEvent] = session.info.pop(_PENDING, [])
        session.info.pop(_SAVEPOINTS, None)
        hub: EventHub | None = session.info.get(HUB_KEY)
        if ready and hub is not None:
            loop.call_soon(hub.deliver, ready)
        elif ready:
            log.debug("%d domain events committed by a session without a hub: nobody listens", len(ready))

    def _rolled_back(session: Session, previous: SessionTransaction) -> None:
        marks: dict[int, int] = session.info.get(_SAVEPOINTS, {})
        if previous.nested:
            mark = marks.pop(id(previous), None)
            if mark is not None:
                del session.info.get(_PENDING, [])[mark:]
        else:
            session.info.pop(_PENDING, None)
            session.info.pop(_SAVEPOINTS, None)

    sa_event.listen(sync_session, "after_transaction_create", _begun)
    sa_event.listen(sync_session, "after_commit", _committed)
    sa_event.listen(sync_session, "after_soft_rollback", _rolled_back)


# --- Delivering: subscribers registered at app build, listeners of the moment, other workers ---

Handler = Callable[[Any], Awaitable[None] | None]
TransactionHandler = Callable[[AsyncSession, Any], Awaitable[None]]


class Listening(Generic[E]):
    """A bounded queue of one event type, for a reader of the moment: a slow reader loses its oldest events
    rather than slowing anyone. Iterate it or `get()`; `close()` when done."""

    def __init__(self, hub: EventHub, event_class: type[E], maxsize: int) -> None:
        self.hub = hub
        self.event_class = event_class
        self.queue: asyncio.Queue[E] = asyncio.Queue(maxsize=maxsize)
        self.dropped = 0

    def offer(self, event: E) -> None:
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(event)

    async def get(self) -> E:
        return await self.queue.get()

    def close(self) -> None:
        self.hub._unlisten(self)

    def __aiter__(self) -> AsyncIterator[E]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[E]:
        while True:
            yield await self.queue.get()


class EventHub:
    """One app's delivery of committed events: to its subscribers, its listeners and, when a transport is
    started, to the other processes of the same database."""

    def __init__(self) -> None:
        self._handlers: dict[type[DomainEvent], list[Handler]] = {}
        self._in_transaction: dict[type[DomainEvent], list[TransactionHandler]] = {}
        self._listening: dict[type[DomainEvent], list[Listening[Any]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.transport: PostgresTransport | None = None

    def subscribe(self, event_class: type[E], handler: Callable[[E], Awaitable[None] | None]) -> None:
        """Calls `handler(event)` for each committed `event_class` event (a coroutine runs in a task)."""
        first = not self._heard_here(event_class)
        self._handlers.setdefault(event_class, []).append(handler)
        if first:
            self._declare_soon(event_class)

    def subscribe_in_transaction(
        self, event_class: type[E], handler: Callable[[AsyncSession, E], Awaitable[None]]
    ) -> None:
        """Calls `await handler(session, event)` when `event_class` is announced, inside the publisher's
        transaction: for work that must happen with the change or not at all (see the module's docstring)."""
        self._in_transaction.setdefault(event_class, []).append(handler)

    def has_transaction_subscribers(self, event_class: type[DomainEvent]) -> bool:
        return bool(self._in_transaction.get(event_class))

    async def run_in_transaction(self, session: AsyncSession, event: DomainEvent) -> None:
        for handler in self._in_transaction.get(type(event), []):
            await handler(session, event)

    def unsubscribe(self, event_class: type[E], handler: Callable[[E], Awaitable[None] | None]) -> None:
        with contextlib.suppress(ValueError):
            self._handlers.get(event_class, []).remove(handler)

    def listen(self, event_class: type[E], maxsize: int = 1000) -> Listening[E]:
        first = not self._heard_here(event_class)
        listening = Listening(self, event_class, maxsize)
        self._listening.setdefault(event_class, []).append(listening)
        if first:
            self._declare_soon(event_class)
        return listening

    def _heard_here(self, event_class: type[DomainEvent]) -> bool:
        """Whether a subscriber or a listener of this process hears `event_class` now."""
        return bool(self._handlers.get(event_class) or self._listening.get(event_class))

    def _declare_soon(self, event_class: type[DomainEvent]) -> None:
        """This process has just started hearing `event_class`: if it crosses workers, the other processes are told
        to start sending it."""
        if self.transport is not None and event_class.crosses_workers:
            self._in_task(self.transport.declare())

    async def listen_everywhere(self, event_class: type[E], maxsize: int = 1000) -> Listening[E]:
        """`listen`, returning once the other processes have been told that this one hears `event_class` (its
        NOTIFY committed): a live stream says it is connected only then, so that a reading stored through another
        worker after that is sent here."""
        listening = self.listen(event_class, maxsize)
        if self.transport is not None and event_class.crosses_workers:
            await self.transport.declare()
        return listening

    def hears(self) -> list[str]:
        """The names of the event types that cross workers and that this process hears (its subscribers and its
        listeners of the moment): what it asks the other processes to send."""
        return sorted(
            cls.__name__ for cls in {*self._handlers, *self._listening} if cls.crosses_workers and self._heard_here(cls)
        )

    def _unlisten(self, listening: Listening[Any]) -> None:
        with contextlib.suppress(ValueError):
            self._listening.get(listening.event_class, []).remove(listening)

    def listeners(self, event_class: type[DomainEvent]) -> int:
        return len(self._listening.get(event_class, []))

    def wants(self, event_class: type[DomainEvent]) -> bool:
        """Whether an event of this class would reach anyone (here, or another process): False lets a
        publisher skip building events nobody reads."""
        if self._heard_here(event_class):
            return True
        return (
            self.transport is not None and event_class.crosses_workers and self.transport.heard_elsewhere(event_class)
        )

    def deliver(self, events: list[DomainEvent]) -> None:
        """Hands committed events to this process's subscribers, then to the other processes."""
        self._deliver_here(events)
        if self.transport is not None:
            crossing = [item for item in events if item.crosses_workers]
            if crossing:
                self._in_task(self.transport.send(crossing))

    def received(self, events: list[DomainEvent]) -> None:
        """Events another process committed."""
        self._deliver_here(events)

    def _deliver_here(self, events: list[DomainEvent]) -> None:
        waiting: list[Awaitable[None]] = []
        for item in events:
            for listening in self._listening.get(type(item), []):
                listening.offer(item)
            for handler in list(self._handlers.get(type(item), [])):
                try:
                    result = handler(item)
                except Exception:
                    log.exception("domain event subscriber %r failed on %r", handler, item)
                    continue
                if inspect.isawaitable(result):
                    waiting.append(_logged(result, handler, item))
        if waiting:
            self._in_task(_in_order(waiting))

    def _in_task(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Waits until what was delivered so far has been handled and sent (tests, shutdown)."""
        await asyncio.sleep(0)  # a commit hands its events over at the loop's next turn
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def start_transport(self, database_url: str) -> None:
        """Crosses workers through PostgreSQL LISTEN/NOTIFY (a no-op on other databases)."""
        if not database_url.startswith("postgresql") or self.transport is not None:
            return
        transport = PostgresTransport(self, database_url)
        await transport.start()
        self.transport = transport

    async def stop_transport(self) -> None:
        await self.drain()
        if self.transport is not None:
            await self.transport.stop()
            self.transport = None


async def _logged(work: Awaitable[None], handler: Handler, item: DomainEvent) -> None:
    try:
        await work
    except Exception:
        log.exception("domain event subscriber %r failed on %r", handler, item)


async def _in_order(works: list[Awaitable[None]]) -> None:
    for work in works:
        await work


# --- Across workers: PostgreSQL LISTEN/NOTIFY ---

CHANNEL = "citoyen_events"
# PostgreSQL refuses a NOTIFY payload of 8000 bytes or more.
MAX_PAYLOAD = 7900
_RECONNECT_SECONDS = 2.0
# A process that hears a crossing event type says so every DECLARE_SECONDS; the others send it that type for
# INTEREST_SECONDS after each word (a process that stopped or died stops receiving within that time).
DECLARE_SECONDS = 10.0
INTEREST_SECONDS = 30.0


class PostgresTransport:
    """One asyncpg connection per process that listens on `CHANNEL` and sends this process's events there;
    each message names its process, which ignores its own (delivered at home already). Besides events, two
    words travel on the channel: `{"hears": [type names]}` (this process hears these crossing types) and
    `{"asks": true}` (a process that starts asks the others what they hear)."""

    def __init__(self, hub: EventHub, database_url: str) -> None:
        self.hub = hub
        self.dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.origin = uuid.uuid4().hex
        self._connection: Any = None
        self._lock = asyncio.Lock()
        self._watch: asyncio.Task[None] | None = None
        # Event type name -> the loop's time until which another process is known to hear it.
        self._heard: dict[str, float] = {}

    def heard_elsewhere(self, event_class: type[DomainEvent]) -> bool:
        """Whether another process said lately that it hears this event type."""
        return self._heard.get(event_class.__name__, 0.0) > asyncio.get_running_loop().time()

    async def start(self) -> None:
        await self._connect()
        self._watch = asyncio.create_task(self._keep_connected())

    async def _connect(self) -> None:
        connection = await asyncpg.connect(self.dsn)
        await connection.add_listener(CHANNEL, self._on_message)
        self._connection = connection
        # What the others hear (they answer at once), and what this one does.
        await self._say({"asks": True, "hears": self.hub.hears()})

    async def _say(self, word: dict[str, Any]) -> None:
        payload = json.dumps({"origin": self.origin, **word}, separators=(",", ":"))
        await self._connection.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)

    async def declare(self) -> None:
        """Says which crossing event types this process hears (nothing when it hears none)."""
        hears = self.hub.hears()
        if not hears or self._connection is None or self._connection.is_closed():
            return
        try:
            async with self._lock:
                await self._say({"hears": hears})
        except Exception:
            log.exception("domain events: could not say on %s which events this process hears", CHANNEL)

    async def _keep_connected(self) -> None:
        # A dropped connection (database restart, network) stops hearing other workers: reconnect. While this
        # process hears crossing events, it says so every DECLARE_SECONDS.
        loop = asyncio.get_running_loop()
        declared = loop.time()
        while True:
            await asyncio.sleep(_RECONNECT_SECONDS)
            if self._connection is None or self._connection.is_closed():
                try:
                    async with self._lock:
                        await self._connect()
                    log.info("domain events: listening again on %s", CHANNEL)
                except Exception as error:  # the database is still away: try again later
                    log.warning("domain events: cannot listen on %s yet: %s", CHANNEL, error)
            elif loop.time() - declared >= DECLARE_SECONDS:
                declared = loop.time()
                await self.declare()

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        if self._connection is not None and not self._connection.is_closed():
            await self._connection.close()

    async def send(self, events: list[DomainEvent]) -> None:
        payloads = []
        for item in events:
            payload = json.dumps({"origin": self.origin, **encode(item)}, separators=(",", ":"))
            if len(payload.encode()) > MAX_PAYLOAD:
                log.error("domain event too large to cross workers (%d bytes): %r", len(payload), type(item))
                continue
            payloads.append(payload)
        if not payloads:
            return
        try:
            async with self._lock:  # one asyncpg connection runs one statement at a time
                # One statement (one round trip, one commit) for a transaction's events, in their order: a bulk
                # ingest's hundreds of ObservationsStored one by one cost it a third of its time.
                await self._connection.execute(
                    "SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload", CHANNEL, payloads
                )
        except Exception:
            log.exception("domain events: %d events not sent to the other workers", len(payloads))

    def _on_message(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            message = json.loads(payload)
            if message.get("origin") == self.origin:
                return
            if "type" not in message:
                self._heard_word(message)
                return
            item = decode(message)
        except (ValueError, KeyError, TypeError):
            log.exception("domain events: unreadable message %.200s", payload)
            return
        self.hub.received([item])

    def _heard_word(self, message: dict[str, Any]) -> None:
        until = asyncio.get_running_loop().time() + INTEREST_SECONDS
        for name in message.get("hears", []):
            self._heard[str(name)] = until
        if message.get("asks"):
            self.hub._in_task(self.declare())
