"""The indicators' background work: the fold that brings the rollups up to date with the readings noted since
the last one (citoyen.indicators.rollups.fold), every `indicators_fold_interval_seconds` in each served process.
Processes take turns (a PostgreSQL advisory lock: a process that finds another folding skips its round)."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from citoyen.db import utcnow
from citoyen.indicators.rollups import fold

log = logging.getLogger(__name__)


async def fold_once(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """One fold in its own transaction; the spans it folded (0 when another process was folding)."""
    async with sessionmaker() as session:
        folded = await fold(session, wait=False)
        await session.commit()
    if folded is None or not folded.spans:
        return 0
    lag = (utcnow() - folded.oldest).total_seconds() if folded.oldest is not None else 0.0
    log.debug("indicators: folded %d spans of %d Datastreams, lag %.1f s", folded.spans, folded.datastreams, lag)
    return folded.spans


async def fold_loop(sessionmaker: async_sessionmaker[AsyncSession], interval_seconds: float) -> None:
    """The app's timer: a fold every `interval_seconds` until cancelled; a failed fold is logged and tried again
    (what it had taken stays noted: its transaction rolled back)."""
    while True:
        try:
            await fold_once(sessionmaker)
        except Exception:
            log.exception("indicators: fold failed")
        await asyncio.sleep(interval_seconds)
