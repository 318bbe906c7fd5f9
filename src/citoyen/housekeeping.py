"""Housekeeping: each domain's periodic upkeep (expired sessions and links, spent rate counters, expired
idempotency answers, observation partitions ahead of time), run by every app process on a timer, by
`citoyen housekeeping` from a scheduler, and in part by `citoyen migrate`.

Jobs register when the app is built, as personal-data providers do; each runs in its own transaction, so one
failing job does not hold back the others. On PostgreSQL a transaction-scoped advisory lock lets one process
at a time do a job; the others skip it. On SQLite, in the served app, a job takes its turn among the app's
writers (citoyen.db.sqlite_write_turn): it would otherwise meet "database is locked" as soon as a request wrote
between its first read and its first write, and a long job would make the requests' writes time out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from citoyen.db import sqlite_write_turn, utcnow

log = logging.getLogger(__name__)

# A job gets the session of its transaction and the time to act as of (tests move it); it returns how many
# rows or objects it removed or made, for the log.
Job = Callable[[AsyncSession, datetime], Awaitable[int]]

# Any constant of our own: PostgreSQL's advisory locks are keyed by a 64-bit integer.
ADVISORY_LOCK_KEY = 0x43_49_54_4F_59_45_4E  # "CITOYEN"


@dataclass
class Housekeeping:
    jobs: dict[str, Job] = field(default_factory=dict)
    # Jobs that end their reading transaction before a long computation and write after it: holding the app's
    # write turn through the computation would hold up every request that writes.
    own_write_turn: set[str] = field(default_factory=set)

    def add(self, name: str, job: Job, *, own_write_turn: bool = False) -> None:
        self.jobs[name] = job
        if own_write_turn:
            self.own_write_turn.add(name)

    async def run(
        self, sessionmaker: async_sessionmaker[AsyncSession], now: datetime | None = None, state: Any = None
    ) -> dict[str, int]:
        """One round of every job; what each did (a job that failed is logged and left out). `state`: the app's,
        whose SQLite write turn each job takes (none from the command line, which runs alone)."""
        now = now or utcnow()
        done: dict[str, int] = {}
        for name, job in self.jobs.items():
            async with sessionmaker() as session:
                try:
                    if not await _take_turn(session):
                        continue  # another process is doing this job right now
                    takes_turn = state is not None and name not in self.own_write_turn
                    async with sqlite_write_turn(state, session) if takes_turn else contextlib.nullcontext():
                        done[name] = await job(session, now)
                        await session.commit()
                except Exception:  # one job's failure (a busy database…) must not stop the others
                    await session.rollback()
                    log.exception("housekeeping job %s failed", name)
        return done


async def _take_turn(session: AsyncSession) -> bool:
    bind = session.bind
    if bind is None or bind.dialect.name != "postgresql":
        return True
    taken = await session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    return bool(taken.scalar_one())


async def run_periodically(
    housekeeping: Housekeeping, sessionmaker: async_sessionmaker[AsyncSession], interval_seconds: float, state: Any
) -> None:
    """The app's timer (`state`: the app's): a round at start, then one every `interval_seconds`, until
    cancelled."""
    while True:
        try:
            done = await housekeeping.run(sessionmaker, state=state)
            if any(done.values()):
                log.info("housekeeping: %s", ", ".join(f"{name} {count}" for name, count in done.items() if count))
        except Exception:  # the timer keeps going whatever one round met
            log.exception("housekeeping round failed")
        await asyncio.sleep(interval_seconds)
