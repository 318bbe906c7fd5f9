"""Sensing's periodic upkeep: Idempotency-Key answers past their lifetime go, and on PostgreSQL the monthly
partitions of the observations are made ahead of time (a month without its partition fills the default
partition, which must then be emptied by hand before the month's partition can be attached)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import affected_rows
from citoyen.housekeeping import Housekeeping
from citoyen.sensing.models import IdempotentAnswer
from citoyen.sensing.partitions import ensure_observation_partitions

# Partitions exist this far ahead of the present: sensors' clocks run a little ahead, imports of forecasts
# further, and a few missed housekeeping rounds must not matter.
PARTITIONS_AHEAD = timedelta(days=92)


async def prune_idempotent_answers(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(
        delete(IdempotentAnswer).where(IdempotentAnswer.expires_at < now).execution_options(synchronize_session=False)
    )
    return affected_rows(result)


async def partitions_ahead(session: AsyncSession, now: datetime) -> int:
    """Make the monthly observation partitions up to PARTITIONS_AHEAD from `now` (PostgreSQL); how many."""
    return len(await ensure_observation_partitions(await session.connection(), now + PARTITIONS_AHEAD))


def register_housekeeping(housekeeping: Housekeeping) -> None:
    housekeeping.add("sensing: expired idempotency answers", prune_idempotent_answers)
    housekeeping.add("sensing: observation partitions ahead", partitions_ahead)
