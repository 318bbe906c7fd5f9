"""The daily digest as a background task of the running app: once a day, at the configured hour (UTC).

Several workers may each run it: the per-person, per-day delivery row makes the second run send nothing."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from citoyen.config import Settings
from citoyen.db import utcnow
from citoyen.participation.follows import service as follows

log = logging.getLogger(__name__)


def next_run(now: datetime, hour: int) -> datetime:
    """The next time the clock shows `hour`:00 UTC (today if still ahead, else tomorrow)."""
    today = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    return today if today > now else today + timedelta(days=1)


async def run_once(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> follows.DigestRun:
    async with sessionmaker() as session:
        result = await follows.send_digests(session, settings)
        await session.commit()
    return result


async def digest_loop(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    """Sleep until the digest hour, send the day's digests, repeat; errors are logged, never fatal."""
    while True:
        now = utcnow()
        await asyncio.sleep((next_run(now, settings.digest_hour_utc) - now).total_seconds())
        try:
            result = await run_once(sessionmaker, settings)
            log.info("daily digests: %s sent, %s already sent today", result.sent, result.already_sent)
        except Exception:  # a failing day must not stop the next ones
            log.exception("daily digests failed")
