"""Recomputing the maps in the background: every few seconds, the maps whose conversations had new votes (one
after the other, each in its own transaction). A vote never waits for it; several workers may each run it (on
PostgreSQL an advisory lock lets one at a time recompute)."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from citoyen.db import sqlite_write_turn
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


async def recompute_one(
    sessionmaker: async_sessionmaker[AsyncSession], conversation_id: int, state: Any = None
) -> maps.Recomputed | None:
    """Read the votes in one short transaction, compute outside any (votes keep coming in, on SQLite too), store
    in another (on SQLite in its turn among the app's writers, `state` being the app's); None when another worker
    is storing at the same moment."""
    async with sessionmaker() as session:
        data = await maps.read_input(session, conversation_id)
    result = await asyncio.to_thread(maps.compute, data)
    async with sessionmaker() as session, sqlite_write_turn(state if state is not None else SimpleNamespace(), session):
        if not await _take_turn(session):
            return None
        done = await maps.store(session, conversation_id, data, result)
        await session.commit()
    return done


async def recompute_stale(sessionmaker: async_sessionmaker[AsyncSession], state: Any = None) -> list[maps.Recomputed]:
    """One round: recompute every map behind its votes."""
    async with sessionmaker() as session:
        stale = await maps.stale_conversations(session)
    done: list[maps.Recomputed] = []
    for conversation_id in stale:
        recomputed = await recompute_one(sessionmaker, conversation_id, state)
        if recomputed is not None:
            done.append(recomputed)
    return done


async def recompute_loop(state: Any, interval: float = INTERVAL_SECONDS) -> None:
    """The app's timer (`state` is the app's: its sessionmaker, its SQLite write lock): a round every `interval`
    seconds; errors are logged, never fatal."""
    while True:
        try:
            for done in await recompute_stale(state.sessionmaker, state):
                log.info("opinion map %s: %s votes, %s groups", done.conversation_id, done.vote_count, done.group_count)
        except Exception:  # the next round tries again
            log.exception("opinion map recomputation failed")
        await asyncio.sleep(interval)
