"""Recomputing the maps in the background: every few seconds, the maps whose conversations had new votes (one
after the other), each read in one short transaction, computed in a worker process (the served app's: the
computation holds its own interpreter's lock, never the web process's, so votes and pages stay fast) and stored
in another transaction. A conversation is recomputed again at the earliest after as long as its last
recomputation took (at least INTERVAL_SECONDS): under a stream of votes, the map follows without the worker
computing all the time. Several web workers each run it: on PostgreSQL a worker takes the conversation's lease (a
session advisory lock) before reading its votes and keeps it until the map is stored, and the others skip that
conversation meanwhile, so that a map is computed once, not once per worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from citoyen.db import sqlite_write_turn
from citoyen.opinions import maps

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 3.0
LEASE_KEY = 0x4F_50_49_4E  # "OPIN": with the conversation's id, the two keys of its lease (PostgreSQL's int4 pair)
WORKER_NICENESS = 10


PARENT_CHECK_SECONDS = 0.5


def exit_with_parent(parent: int | None = None) -> None:
    """End this worker process as soon as the process that started it (`parent`, the pid the web process gave: by
    then this one may already be an orphan) is gone. A web process killed outright (a process manager's SIGKILL, a
    crash) never runs its shutdown, and a worker in the middle of a long computation does not read the pipe that
    would tell it: without this it would go on computing for nobody, holding a core and its memory, once per
    restart. Its parent is the pid given, not the one found when the watchdog starts: on a loaded machine a worker's
    start (the imports before its initializer) took long enough for its web process to be killed meanwhile, and the
    orphan then watched init, waiting on its call queue for ever (two found after session 14's benches)."""
    parent = parent or os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def warm_up(parent: int | None = None) -> None:
    """The worker ends with its web process, lowers its priority (the map can wait a moment, a vote or a page
    should not: on a busy machine the web processes and the database get the cores first) and imports the
    mathematics (numpy, scikit-learn, red-dwarf) once, when it starts."""
    from citoyen.opinions import groups

    exit_with_parent(parent)

    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)

    groups.compute_map([(0, 0, 1), (1, 0, -1)])


@asynccontextmanager
async def worker_process() -> AsyncIterator[Executor]:
    """One worker process for the computations, started fresh (spawn: nothing of the web process's threads and
    connections is inherited), stopped with the app."""
    spawn = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=1, mp_context=spawn, initializer=warm_up, initargs=(os.getpid(),))
    try:
        yield pool
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


@asynccontextmanager
async def lease(sessionmaker: async_sessionmaker[AsyncSession], conversation_id: int) -> AsyncIterator[bool]:
    """Whether this process may recompute the conversation's map now: on PostgreSQL, whether it took the
    conversation's lease (a session advisory lock, on a connection of its own in autocommit, so that no transaction
    stays open through the computation), held until the block ends; False when another worker holds it. A process
    that dies lets it go with its connection. SQLite has one web process: always True there."""
    async with sessionmaker() as holder:
        bind = holder.bind
        if bind is None or bind.dialect.name != "postgresql":
            yield True
            return
        if isinstance(bind, AsyncEngine):  # not joined to a caller's transaction (the tests')
            await holder.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        keys = {"key": LEASE_KEY, "conversation": conversation_id}
        if not await holder.scalar(text("SELECT pg_try_advisory_lock(:key, :conversation)"), keys):
            yield False
            return
        try:
            yield True
        finally:
            try:
                await holder.execute(text("SELECT pg_advisory_unlock(:key, :conversation)"), keys)
                # Nothing in autocommit; joined to a caller's transaction, keeps what was stored within the lease.
                await holder.commit()
            except BaseException:
                # The lock must not stay with a pooled connection: this one is closed, which lets it go.
                await holder.invalidate()
                raise


async def recompute_one(
    sessionmaker: async_sessionmaker[AsyncSession],
    conversation_id: int,
    state: Any = None,
    executor: Executor | None = None,
    only_if_stale: bool = False,
) -> maps.Recomputed | None:
    """Under the conversation's lease (`lease`), read the votes in one short transaction, compute outside any (in
    `executor`, the worker process, or else a thread), store in another (on SQLite in its turn among the app's
    writers, `state` being the app's); None when another worker holds the lease, or (`only_if_stale`) when the map
    is no longer behind its votes (another worker just stored it)."""
    async with lease(sessionmaker, conversation_id) as leased:
        if not leased:
            return None
        async with sessionmaker() as session:
            if only_if_stale and not await maps.is_stale(session, conversation_id):
                return None
            data = await maps.read_input(session, conversation_id)
        computed = await asyncio.get_running_loop().run_in_executor(executor, maps.compute, data)
        async with (
            sessionmaker() as session,
            sqlite_write_turn(state if state is not None else SimpleNamespace(), session),
        ):
            done = await maps.store(session, conversation_id, data, computed)
            await session.commit()
    return done


async def recompute_stale(
    sessionmaker: async_sessionmaker[AsyncSession],
    state: Any = None,
    executor: Executor | None = None,
    not_before: dict[int, float] | None = None,
) -> list[maps.Recomputed]:
    """One round: recompute every map behind its votes (those in `not_before`, conversation → monotonic time,
    wait until then; the round writes there when each may be recomputed again)."""
    async with sessionmaker() as session:
        stale = await maps.stale_conversations(session)
    done: list[maps.Recomputed] = []
    for conversation_id in stale:
        began = time.monotonic()
        if not_before is not None and began < not_before.get(conversation_id, 0.0):
            continue
        recomputed = await recompute_one(sessionmaker, conversation_id, state, executor, only_if_stale=True)
        if not_before is not None:
            finished = time.monotonic()
            not_before[conversation_id] = finished + max(INTERVAL_SECONDS, finished - began)
        if recomputed is not None:
            done.append(recomputed)
    return done


async def recompute_loop(state: Any, interval: float = INTERVAL_SECONDS) -> None:
    """The app's timer (`state` is the app's: its sessionmaker, its SQLite write lock): a round every `interval`
    seconds, computing in the loop's own worker process (it lives as long as the loop: the app's lifespan);
    errors are logged, never fatal."""
    not_before: dict[int, float] = {}
    async with worker_process() as executor:
        while True:
            try:
                for done in await recompute_stale(state.sessionmaker, state, executor, not_before):
                    log.info(
                        "opinion map %s: %s votes, %s groups, %.1f s of computation",
                        done.conversation_id,
                        done.vote_count,
                        done.group_count,
                        done.cpu_seconds,
                    )
            except Exception:  # the next round tries again
                log.exception("opinion map recomputation failed")
            await asyncio.sleep(interval)
