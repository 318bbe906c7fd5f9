"""Recomputing the maps in the background: every few seconds, the maps whose conversations had new votes (one
after the other, each in its own transaction). A vote never waits for it; several workers may each run it (on
PostgreSQL an advisory lock lets one at a time recompute)."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from citoyen.opinions import maps

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 3.0
LOCK_KEY = 0x4F_50_49_4E_49_4F_4E  # "OPINION"


async def _take_turn(session: AsyncSession) -> bool:
    bind = session.bind
    if bind is None or bind.dialect.name != "postgresql":
        return True
    taken = await session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    return bool(taken.scalar_one())


async def recompute_one(sessionmaker: async_sessionmaker[AsyncSession], conversation_id: int) -> maps.Recomputed | None:
    """Read the votes in one short transaction, compute outside any (votes keep coming in, on SQLite too), store
    in another; None when another worker is storing at the same moment."""
    async with sessionmaker() as session:
        data = await maps.read_input(session, conversation_id)
    result = await asyncio.to_thread(maps.compute, data)
    async with sessionmaker() as session:
        if not await _take_turn(session):
            return None
        done = await maps.store(session, conversation_id, data, result)
        await session.commit()
    return done


async def recompute_stale(sessionmaker: async_sessionmaker[AsyncSession]) -> list[maps.Recomputed]:
    """One round: recompute every map behind its votes."""
    async with sessionmaker() as session:
        stale = await maps.stale_conversations(session)
    done: list[maps.Recomputed] = []
    for conversation_id in stale:
        recomputed = await recompute_one(sessionmaker, conversation_id)
        if recomputed is not None:
            done.append(recomputed)
    return done


async def recompute_loop(sessionmaker: async_sessionmaker[AsyncSession], interval: float = INTERVAL_SECONDS) -> None:
    """The app's timer: a round every `interval` seconds; errors are logged, never fatal."""
    while True:
        try:
            for done in await recompute_stale(sessionmaker):
                log.info("opinion map %s: %s votes, %s groups", done.conversation_id, done.vote_count, done.group_count)
        except Exception:  # the next round tries again
            log.exception("opinion map recomputation failed")
        await asyncio.sleep(interval)
