"""Rollups maintained as data arrives, and rebuilt from the raw data on demand.

As readings arrive: `Rollups.on_observations_stored` hears `ObservationsStored` *in the transaction* that stores
the readings (citoyen.app.build_event_hub), so the rollups commit or roll back with them and are added to once,
whichever worker stored them. It sums the event's readings by UTC hour and day in Python, then adds them to the
buckets with one upsert per table (INSERT ... ON CONFLICT DO UPDATE, on SQLite and PostgreSQL alike). Where a
Datastream is (its Thing's Location's neighbourhood, which sensing assigned through territory) and what it
observes is asked of sensing once and kept a few minutes per hub.

On demand: `rebuild` recomputes everything from the raw Observations with set-based statements (GROUP BY bucket,
INSERT ... SELECT) a few Datastreams at a time, then the neighbourhoods' rollups from the Datastreams' ones, then
the civic counts (`refresh_civic`). What changes readings after they are stored (a PATCH of a result, a
deletion) is caught up by a rebuild.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.events import ObservationsStored
from citoyen.indicators.definitions import PROPOSALS, REPORTS, SUPPORTS, quantity_of
from citoyen.indicators.models import AreaRollup, DatastreamRollup
from citoyen.participation import service as participation
from citoyen.reports import service as reports
from citoyen.sensing import service as sensing

STREAMS = cast(Table, DatastreamRollup.__table__)
AREAS = cast(Table, AreaRollup.__table__)
STEPS: tuple[sensing.Step, ...] = ("hour", "day")
PLACE_SECONDS = 300.0
REBUILD_CHUNK = 25
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a Datastream's readings are summed: its neighbourhood (None: none) and quantity."""

    neighbourhood_id: int | None
    quantity: str


Cell = list[float]  # count, total, minimum, maximum


def bucket_start(moment: datetime, step: str) -> datetime:
    """The UTC start of the hour or day `moment` falls in."""
    moment = moment.astimezone(UTC)
    if step == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def summed_cells(times: Iterable[str], results: Iterable[float | None]) -> dict[tuple[str, datetime], Cell]:
    """The readings' count, sum, minimum and maximum per (step, bucket); non-numeric results are left out."""
    cells: dict[tuple[str, datetime], Cell] = {}
    for text, value in zip(times, results, strict=True):
        if value is None or not text:
            continue
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        for step in STEPS:
            key = (step, bucket_start(moment, step))
            cell = cells.get(key)
            if cell is None:
                cells[key] = [1, value, value, value]
            else:
                cell[0] += 1
                cell[1] += value
                cell[2] = min(cell[2], value)
                cell[3] = max(cell[3], value)
    return cells


def _upsert(dialect: str, table: Table, keys: Sequence[str]) -> Any:
    """A statement that adds each row's measures to its bucket (or makes the bucket), run with a list of rows
    (executemany): built once per table and dialect, so it is compiled once."""
    postgres = dialect == "postgresql"
    statement = (pg_insert if postgres else sqlite_insert)(table)
    smaller, larger = (func.least, func.greatest) if postgres else (func.min, func.max)
    new = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={
            "count": table.c["count"] + new["count"],
            "total": table.c.total + new.total,
            "minimum": smaller(table.c.minimum, new.minimum),
            "maximum": larger(table.c.maximum, new.maximum),
        },
    )


STREAM_KEYS = ("datastream_id", "step", "bucket")
AREA_KEYS = ("neighbourhood_id", "quantity", "step", "bucket")
UPSERTS = {
    (dialect, name): _upsert(dialect, table, keys)
    for dialect in ("sqlite", "postgresql")
    for name, table, keys in (("streams", STREAMS, STREAM_KEYS), ("areas", AREAS, AREA_KEYS))
}


def _measures(cell: Cell) -> dict[str, Any]:
    return {"count": int(cell[0]), "total": cell[1], "minimum": cell[2], "maximum": cell[3]}


async def add_readings(
    session: AsyncSession, datastream_id: int, placement: Placement, cells: dict[tuple[str, datetime], Cell]
) -> None:
    """Adds summed readings to a Datastream's buckets and to its neighbourhood's (in key order, so that two
    transactions adding to the same buckets wait for each other rather than deadlock)."""
    ordered = sorted(cells.items())
    stream_rows = [
        {"datastream_id": datastream_id, "step": step, "bucket": bucket, **_measures(cell)}
        for (step, bucket), cell in ordered
    ]
    dialect = session.get_bind().dialect.name
    await session.execute(UPSERTS[(dialect, "streams")], stream_rows)
    if placement.neighbourhood_id is None:
        return
    area_rows = [
        {
            "neighbourhood_id": placement.neighbourhood_id,
            "quantity": placement.quantity,
            "step": step,
            "bucket": bucket,
            **_measures(cell),
        }
        for (step, bucket), cell in ordered
    ]
    await session.execute(UPSERTS[(dialect, "areas")], area_rows)


def placement_of(stream: sensing.SummedStream) -> Placement:
    return Placement(stream.neighbourhood_id, quantity_of(stream.observed_property))


class Rollups:
    """The subscriber of one event hub: it keeps where each Datastream is for a few minutes (a Thing moved to
    another quartier is summed there from then on; `rebuild` moves its past)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._places: dict[int, tuple[float, Placement | None]] = {}
        self._clock = clock

    async def placement(self, session: AsyncSession, datastream_id: int) -> Placement | None:
        """Where the Datastream's readings go; None for those never summed (a personal Thing's)."""
        now = self._clock()
        known = self._places.get(datastream_id)
        if known is not None and now - known[0] < PLACE_SECONDS:
            return known[1]
        streams = await sensing.summed_streams(session, [datastream_id])
        placement = placement_of(streams[0]) if streams else None
        self._places[datastream_id] = (now, placement)
        return placement

    async def on_observations_stored(self, session: AsyncSession, event: ObservationsStored) -> None:
        cells = summed_cells(event.phenomenon_times, event.results)
        if not cells:
            return
        placement = await self.placement(session, event.datastream_id)
        if placement is not None:
            await add_readings(session, event.datastream_id, placement, cells)


# --- Rebuilding -------------------------------------------------------------------------------------------------


@dataclass
class Rebuilt:
    datastreams: int = 0
    datastream_buckets: int = 0
    area_buckets: int = 0
    civic_buckets: int = 0


async def _count(session: AsyncSession, table: Table) -> int:
    return int((await session.execute(select(func.count()).select_from(table))).scalar_one())


async def rebuild(session: AsyncSession, progress: Progress | None = None) -> Rebuilt:
    """Recomputes every rollup from the raw data (in the session's transaction): the Datastreams' by GROUP BY in
    the database, `REBUILD_CHUNK` Datastreams a statement, then the neighbourhoods' from them, then the civic
    counts. `progress(done, total)` is called after each chunk of Datastreams."""
    dialect = session.get_bind().dialect.name
    await session.execute(delete(STREAMS))
    await session.execute(delete(AREAS))
    streams = await sensing.summed_streams(session)
    ids = [stream.datastream_id for stream in streams]
    columns = ["datastream_id", "step", "bucket", "count", "total", "minimum", "maximum"]
    for start in range(0, len(ids), REBUILD_CHUNK):
        chunk = ids[start : start + REBUILD_CHUNK]
        for step in STEPS:
            await session.execute(insert(STREAMS).from_select(columns, sensing.bucket_statistics(dialect, step, chunk)))
        if progress is not None:
            progress(min(start + REBUILD_CHUNK, len(ids)), len(ids))
    groups: dict[tuple[int, str], list[int]] = {}
    for stream in streams:
        placement = placement_of(stream)
        if placement.neighbourhood_id is not None:
            groups.setdefault((placement.neighbourhood_id, placement.quantity), []).append(stream.datastream_id)
    area_columns = ["neighbourhood_id", "quantity", "step", "bucket", "count", "total", "minimum", "maximum"]
    for (neighbourhood_id, quantity), members in sorted(groups.items()):
        summed = (
            select(
                literal(neighbourhood_id),
                literal(quantity),
                STREAMS.c.step,
                STREAMS.c.bucket,
                func.sum(STREAMS.c["count"]),
                func.sum(STREAMS.c.total),
                func.min(STREAMS.c.minimum),
                func.max(STREAMS.c.maximum),
            )
            .where(STREAMS.c.datastream_id.in_(members))
            .group_by(STREAMS.c.step, STREAMS.c.bucket)
        )
        await session.execute(insert(AREAS).from_select(area_columns, summed))
    civic = await refresh_civic(session)
    return Rebuilt(
        datastreams=len(ids),
        datastream_buckets=await _count(session, STREAMS),
        area_buckets=await _count(session, AREAS) - civic,
        civic_buckets=civic,
    )


# --- Civic counts: reports and proposals per neighbourhood and day ----------------------------------------------


def _day(moment: datetime) -> datetime:
    return bucket_start(moment, "day")


async def refresh_civic(session: AsyncSession, now: datetime | None = None) -> int:
    """Recomputes the daily counts of reports filed (in all, and per category as "reports:<code>"), proposals
    published and their supports, per neighbourhood, from what reports and participation publish; returns the
    buckets written. Run by `rebuild` and by housekeeping every few minutes."""
    counts: dict[tuple[int, str, datetime], float] = {}

    def add(neighbourhood_id: int | None, quantity: str, moment: datetime, amount: float = 1) -> None:
        if neighbourhood_id is not None:
            key = (neighbourhood_id, quantity, _day(moment))
            counts[key] = counts.get(key, 0) + amount

    async for batch in reports.public_reports(session):
        for row in batch:
            add(row["neighbourhood_id"], REPORTS, row["requested_at"])
            add(row["neighbourhood_id"], f"{REPORTS}:{row['category']}"[:120], row["requested_at"])
    async for batch in participation.public_proposals(session):
        for row in batch:
            add(row["neighbourhood_id"], PROPOSALS, row["created_at"])
            add(row["neighbourhood_id"], SUPPORTS, row["created_at"], row["supports"])
    await session.execute(
        delete(AREAS).where(
            (AREAS.c.quantity.in_([PROPOSALS, SUPPORTS, REPORTS])) | AREAS.c.quantity.startswith(f"{REPORTS}:")
        )
    )
    rows = [
        {
            "neighbourhood_id": neighbourhood_id,
            "quantity": quantity,
            "step": "day",
            "bucket": bucket,
            "count": 1,
            "total": amount,
            "minimum": amount,
            "maximum": amount,
        }
        for (neighbourhood_id, quantity, bucket), amount in sorted(counts.items())
    ]
    for start in range(0, len(rows), 2000):
        await session.execute(insert(AREAS), rows[start : start + 2000])
    return len(rows)
