"""Domain events (citoyen.events): delivered once their transaction commits, never for a rolled-back one, to
subscribers of this process and, on PostgreSQL, of the other processes of the same database."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from citoyen import events
from citoyen.app import create_app
from citoyen.config import Settings
from citoyen.db import make_sessionmaker
from citoyen.events import CommentPosted, EventHub, ObservationsStored, ReportFiled, ReportUpdated
from citoyen.migrations import upgrade_database_async


async def test_an_event_is_delivered_once_its_transaction_commits(session: AsyncSession) -> None:
    hub = EventHub()
    heard: list[events.DomainEvent] = []
    hub.subscribe(ReportFiled, heard.append)
    events.attach(session, hub)
    events.publish(session, ReportFiled(report_id=7))
    await asyncio.sleep(0.01)
    assert heard == []  # not before the commit
    await session.commit()
    await asyncio.sleep(0)
    assert heard == [ReportFiled(report_id=7)]


async def test_a_rolled_back_transaction_delivers_nothing(session: AsyncSession) -> None:
    hub = EventHub()
    heard: list[events.DomainEvent] = []
    hub.subscribe(ReportFiled, heard.append)
    events.attach(session, hub)
    events.publish(session, ReportFiled(report_id=1))
    await session.rollback()
    events.publish(session, ReportFiled(report_id=2))
    await session.commit()
    await hub.drain()
    assert heard == [ReportFiled(report_id=2)]


async def test_a_rolled_back_savepoint_forgets_only_what_it_published(session: AsyncSession) -> None:
    hub = EventHub()
    heard: list[events.DomainEvent] = []
    hub.subscribe(ReportFiled, heard.append)
    events.attach(session, hub)
    events.publish(session, ReportFiled(report_id=1))
    savepoint = await session.begin_nested()
    events.publish(session, ReportFiled(report_id=2))
    await savepoint.rollback()
    events.publish(session, ReportFiled(report_id=3))
    await session.commit()
    await hub.drain()
    assert heard == [ReportFiled(report_id=1), ReportFiled(report_id=3)]


async def test_a_failing_subscriber_is_logged_and_the_others_still_hear(
    session: AsyncSession, caplog: pytest.LogCaptureFixture
) -> None:
    hub = EventHub()
    heard: list[events.DomainEvent] = []

    async def broken(_event: ReportUpdated) -> None:
        raise RuntimeError("subscriber down")

    def also_broken(_event: ReportUpdated) -> None:
        raise RuntimeError("subscriber down too")

    async def working(event: ReportUpdated) -> None:
        heard.append(event)

    for handler in (broken, also_broken, working):
        hub.subscribe(ReportUpdated, handler)
    events.attach(session, hub)
    events.publish(session, ReportUpdated(report_id=3, status="closed"))
    with caplog.at_level(logging.ERROR, logger="citoyen.events"):
        await session.commit()  # the commit itself never fails for a subscriber
        await asyncio.sleep(0)
        await hub.drain()
    assert heard == [ReportUpdated(report_id=3, status="closed")]
    failures = [record for record in caplog.records if "failed" in record.getMessage()]
    assert len(failures) == 2


async def test_an_in_transaction_subscriber_writes_with_the_change_and_is_undone_with_it(
    session: AsyncSession,
) -> None:
    hub = EventHub()
    written: list[int] = []

    async def rule(session_heard: AsyncSession, event: ReportFiled) -> None:
        assert session_heard is session  # the publisher's own transaction
        written.append(event.report_id)

    hub.subscribe_in_transaction(ReportFiled, rule)
    after_commit: list[events.DomainEvent] = []
    hub.subscribe(ReportFiled, after_commit.append)
    events.attach(session, hub)
    await events.announce(session, ReportFiled(report_id=4))
    assert written == [4]  # at once, before any commit
    await session.rollback()
    await hub.drain()
    assert after_commit == []  # a rolled-back change is delivered to nobody after commit
    await events.announce(session, ReportFiled(report_id=5))
    await session.commit()
    await hub.drain()
    assert after_commit == [ReportFiled(report_id=5)]


async def test_a_failing_in_transaction_subscriber_fails_the_change(session: AsyncSession) -> None:
    hub = EventHub()

    async def broken(_session: AsyncSession, _event: ReportFiled) -> None:
        raise LookupError("the rule could not be applied")

    hub.subscribe_in_transaction(ReportFiled, broken)
    events.attach(session, hub)
    with pytest.raises(LookupError):
        await events.announce(session, ReportFiled(report_id=1))


async def test_an_event_with_in_transaction_subscribers_cannot_skip_them(session: AsyncSession) -> None:
    hub = EventHub()

    async def rule(_session: AsyncSession, _event: ReportFiled) -> None:
        return None

    hub.subscribe_in_transaction(ReportFiled, rule)
    events.attach(session, hub)
    with pytest.raises(RuntimeError, match="announce"):
        events.publish(session, ReportFiled(report_id=1))


async def test_announcing_needs_a_session_made_with_a_hub(engine: AsyncEngine) -> None:
    async with make_sessionmaker(engine)() as bare:
        with pytest.raises(RuntimeError, match="without an event hub"):
            await events.announce(bare, ReportFiled(report_id=1))


async def test_an_event_nobody_would_hear_is_not_kept(session: AsyncSession) -> None:
    hub = EventHub()  # no subscriber, no listener, no other process
    events.attach(session, hub)
    events.publish(session, ReportFiled(report_id=1))
    assert not session.sync_session.info.get("citoyen_domain_events")
    heard: list[events.DomainEvent] = []
    hub.subscribe(ReportFiled, heard.append)
    events.publish(session, ReportFiled(report_id=2))
    await session.commit()
    await hub.drain()
    assert heard == [ReportFiled(report_id=2)]


def test_events_read_back_from_json_are_the_events_written() -> None:
    stored = ObservationsStored(4, (1, 2), ("2026-11-26T01:02:03Z", "2026-11-26T01:03:03Z"), (1.5, None))
    for item in (stored, CommentPosted(comment_id=5, process_id=3, proposal_id=None)):
        assert events.decode(events.encode(item)) == item


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[FastAPI]:
    """An app with its own engine and its lifespan running, as one served process is."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@events.event_type
@dataclass(frozen=True, slots=True)
class NoticedAtHome(events.DomainEvent):
    """An event of the tests' own that stays in its process and that no domain hears in its transaction (the
    platform's own events gain such subscribers as domains are added)."""

    thing_id: int


def _worker(tmp_path: Path, database_url: str, name: str) -> Settings:
    """The settings of one app process among several on one PostgreSQL database, without background rounds."""
    return Settings(
        data_dir=tmp_path / name,
        database_url=database_url,
        secret_key="test-secret-key-" + "x" * 32,
        housekeeping_interval_seconds=0,
        digest_task_enabled=False,
    )


async def test_an_event_committed_in_one_process_reaches_a_subscriber_of_another(
    own_database_url: str, tmp_path: Path
) -> None:
    if not own_database_url.startswith("postgresql"):
        pytest.skip("several processes share a PostgreSQL database; SQLite serves one process")

    # The schema: readings are heard in their transaction by the indicators' rollups, which read the Datastreams.
    await upgrade_database_async(own_database_url)
    async with (
        served(_worker(tmp_path, own_database_url, "one")) as one,
        served(_worker(tmp_path, own_database_url, "two")) as two,
    ):
        hearing = two.state.events.listen(ObservationsStored)
        not_crossing = two.state.events.listen(NoticedAtHome)
        heard_at_home: list[events.DomainEvent] = []
        one.state.events.subscribe(ObservationsStored, heard_at_home.append)
        one.state.events.subscribe(NoticedAtHome, heard_at_home.append)
        first = ObservationsStored(4, (1,), ("2026-11-26T01:02:03Z",), (1.5,))
        second = ObservationsStored(4, (2,), ("2026-11-26T01:03:03Z",), (2.5,))
        async with one.state.sessionmaker() as session:
            events.attach(session, one.state.events)
            # Readings are announced: the indicators' rollups hear them in the transaction that stores them.
            await events.announce(session, first)
            await session.rollback()  # never delivered, here or there
            await events.announce(session, second)
            events.publish(session, NoticedAtHome(thing_id=2))  # heard where it was committed only
            await session.commit()
        assert await asyncio.wait_for(hearing.get(), timeout=10) == second
        await one.state.events.drain()
        assert heard_at_home == [second, NoticedAtHome(thing_id=2)]  # once: its own message is not delivered again
        await asyncio.sleep(0.2)
        assert hearing.queue.empty() and not_crossing.queue.empty()


async def test_readings_cross_workers_only_while_another_process_hears_them(
    own_database_url: str, tmp_path: Path
) -> None:
    """A bulk ingest builds no live readings while no process hears them; once a live page listens in another
    process, that process says so and the readings reach it."""
    if not own_database_url.startswith("postgresql"):
        pytest.skip("several processes share a PostgreSQL database; SQLite serves one process")

    await upgrade_database_async(own_database_url)
    async with (
        served(_worker(tmp_path, own_database_url, "one")) as one,
        served(_worker(tmp_path, own_database_url, "two")) as two,
    ):
        await asyncio.sleep(0.2)  # each has heard the other's start
        assert not one.state.events.wants(ObservationsStored)  # nobody anywhere: nothing built, nothing sent
        hearing = two.state.events.listen(ObservationsStored)
        for _ in range(100):  # two's word crosses the database
            if one.state.events.wants(ObservationsStored):
                break
            await asyncio.sleep(0.05)
        assert one.state.events.wants(ObservationsStored)
        stored = ObservationsStored(4, (1,), ("2026-11-26T01:02:03Z",), (1.5,))
        async with one.state.sessionmaker() as session:
            events.attach(session, one.state.events)
            events.publish(session, stored)
            await session.commit()
        assert await asyncio.wait_for(hearing.get(), timeout=10) == stored

        # A process that starts later asks what the others hear, and is told at once.
        async with served(_worker(tmp_path, own_database_url, "three")) as three:
            for _ in range(100):
                if three.state.events.wants(ObservationsStored):
                    break
                await asyncio.sleep(0.05)
            assert three.state.events.wants(ObservationsStored)
        hearing.close()
