"""One Datastream's (or a few's) rollups as they are kept: hourly or daily buckets with their sum and count, for the
pages that draw a sensor's own profile (the mobility domain's counters) without reading the rollup tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.indicators.models import DatastreamRollup

STREAMS = cast(Table, DatastreamRollup.__table__)


@dataclass(frozen=True, slots=True)
class Bucket:
    datastream_id: int
    start: datetime  # UTC start of the hour or day
    total: float  # the sum of the readings in it
    count: int  # how many readings


async def stream_buckets(
    session: AsyncSession, datastream_ids: Sequence[int], step: str, start: datetime, end: datetime
) -> list[Bucket]:
    """The `step` ("hour" or "day") buckets of these Datastreams from `start` (included) to `end` (excluded), in
    order: one range of the rollups' primary key per Datastream."""
    if not datastream_ids:
        return []
    query = (
        select(STREAMS.c.datastream_id, STREAMS.c.bucket, STREAMS.c.total, STREAMS.c.count)
        .where(
            STREAMS.c.datastream_id.in_(list(datastream_ids)),
            STREAMS.c.step == step,
            STREAMS.c.bucket >= start,
            STREAMS.c.bucket < end,
        )
        .order_by(STREAMS.c.datastream_id, STREAMS.c.bucket)
    )
    return [Bucket(int(row[0]), row[1], float(row[2]), int(row[3])) for row in (await session.execute(query)).all()]
