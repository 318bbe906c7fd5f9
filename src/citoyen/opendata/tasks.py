"""Open data's scheduled publication: the running app republishes the platform's own datasets into the
catalogue every `opendata_refresh_seconds` (a housekeeping job, so every served process offers to do it and one
does), making new file versions only where the content changed, each dataset in short transactions of its own
(`publication.refresh_platform`) so that the app keeps answering writes meanwhile. (The stored files' upkeep is
in `upkeep`.)"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.housekeeping import Housekeeping
from citoyen.opendata.publication import refresh_platform, sessions_like

log = logging.getLogger(__name__)


async def refresh_if_due(session: AsyncSession, settings: Settings, now: datetime) -> int:
    """Publish the platform's datasets when the last refresh is `opendata_refresh_seconds` old (or never
    happened); how many new file versions it made. The refresh runs in transactions of its own on `session`'s
    engine (the job's own transaction stays idle), and is asked in the refreshes' turn, so that two processes
    due at once publish once: the second finds the first's refresh and does nothing."""
    await session.flush()  # what the caller wrote is visible to the refresh's sessions when they share a connection
    due_every = timedelta(seconds=settings.opendata_refresh_seconds)
    report = await refresh_platform(sessions_like(session), settings, now, unless_refreshed_within=due_every)
    for outcome in report.failed:
        log.warning("open data: the dataset %s was not refreshed: %s", outcome.name, outcome.error)
    return report.versions


def register_housekeeping(housekeeping: Housekeeping, settings: Settings) -> None:
    if settings.opendata_refresh_seconds <= 0:
        return

    async def job(session: AsyncSession, now: datetime) -> int:
        return await refresh_if_due(session, settings, now)

    housekeeping.add("opendata: the platform's datasets republished", job)
