"""The indicators' background work: the fold that brings the rollups up to date with the readings noted since
the last one (citoyen.indicators.rollups.fold), every `indicators_fold_interval_seconds` in each served process,
followed by a refresh of the pages' figures (citoyen.indicators.snapshots) at most every
`snapshots.REFRESH_SECONDS`. Processes take turns (a PostgreSQL advisory lock: a process that finds another folding
skips its round); on SQLite the fold takes its turn among the app's writers (citoyen.db.sqlite_write_turn), as
housekeeping's jobs do: a request writing between the fold's first read and its first write made the fold fail
with "database is locked"."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from sqlalchemy import literal, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from citoyen.db import sqlite_write_turn, utcnow
from citoyen.indicators import snapshots
from citoyen.indicators.models import PENDING_SPANS
from citoyen.indicators.rollups import fold

log = logging.getLogger(__name__)


def _turn(state: Any, session: AsyncSession) -> contextlib.AbstractAsyncContextManager[None]:
    return sqlite_write_turn(state, session) if state is not None else contextlib.nullcontext()


async def _anything_noted(sessionmaker: async_sessionmaker[AsyncSession]) -> bool:
    async with sessionmaker() as session:
        return (await session.execute(select(literal(1)).select_from(PENDING_SPANS).limit(1))).first() is not None


async def fold_once(sessionmaker: async_sessionmaker[AsyncSession], state: Any = None) -> int:
    """One fold in its own transaction, in the app's write turn on SQLite (`state`: the app's; None from the command
    line, which runs alone); the spans it folded (0 when another process was folding or nothing was noted: an idle
    round only reads)."""
    if not await _anything_noted(sessionmaker):
        return 0
    async with sessionmaker() as session, _turn(state, session):
        folded = await fold(session, wait=False)
        await session.commit()
    if folded is None or not folded.spans:
        return 0
    lag = (utcnow() - folded.oldest).total_seconds() if folded.oldest is not None else 0.0
    log.debug("indicators: folded %d spans of %d Datastreams, lag %.1f s", folded.spans, folded.datastreams, lag)
    return folded.spans


async def refresh_pages(sessionmaker: async_sessionmaker[AsyncSession], state: Any = None) -> int:
    """The pages' figures computed (reading, outside the write turn) and stored (in it); the rows written."""
    async with sessionmaker() as session:
        computed = await snapshots.compute(session)
    async with sessionmaker() as session, _turn(state, session):
        written = await snapshots.store(session, computed)
        await session.commit()
    return written


async def fold_loop(sessionmaker: async_sessionmaker[AsyncSession], interval_seconds: float, state: Any = None) -> None:
    """The app's timer: a fold every `interval_seconds` until cancelled, and the pages' figures refreshed after a
    fold that folded something (at most every `snapshots.REFRESH_SECONDS`); a failure is logged and the work tried
    again (what a fold had taken stays noted: its transaction rolled back)."""
    refreshed = float("-inf")
    pending = False
    while True:
        try:
            pending = await fold_once(sessionmaker, state) > 0 or pending
            if pending and time.monotonic() - refreshed >= snapshots.REFRESH_SECONDS:
                await refresh_pages(sessionmaker, state)
                refreshed, pending = time.monotonic(), False
        except Exception:
            log.exception("indicators: fold failed")
        await asyncio.sleep(interval_seconds)
