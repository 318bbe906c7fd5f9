"""Rollups maintained as data arrives, and rebuilt from the raw data on demand.

As readings arrive: `Rollups.on_readings_stored` hears `ReadingsStored` *in the transaction* that stores the
readings (citoyen.app.build_event_hub), so the rollups commit or roll back with them and are added to once,
whichever worker stored them. One event carries a whole write (a CreateObservations request's transaction, an
MQTT batch): its readings are summed by Datastream and UTC hour in one pass in Python (integer arithmetic on the
timestamps), days from the hours, then added to the buckets with ONE statement per table (PostgreSQL: INSERT ...
SELECT FROM unnest(one array per column) ... ON CONFLICT DO UPDATE; SQLite, in process: one executemany of the
same upsert). Where a Datastream is (its Thing's Location's neighbourhood, which sensing assigned through
territory) and what it observes is asked of sensing once per batch for the Datastreams not known yet, and kept a
few minutes per hub.

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

from sqlalchemy import Table, delete, func, insert, literal, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.events import ReadingsStored
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
HOUR_SECONDS = 3600


def bucket_start(moment: datetime, step: str) -> datetime:
    """The UTC start of the hour or day `moment` falls in."""
    moment = moment.astimezone(UTC)
    if step == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _add(cells: dict[Any, Cell], key: Any, cell: Cell) -> None:
    known = cells.get(key)
    if known is None:
        cells[key] = list(cell)
    else:
        known[0] += cell[0]
        known[1] += cell[1]
        if cell[2] < known[2]:
            known[2] = cell[2]
        if cell[3] > known[3]:
            known[3] = cell[3]


def batch_cells(
    datastream_ids: Iterable[int], times: Iterable[datetime], results: Iterable[float | None]
) -> dict[tuple[int, str, datetime], Cell]:
    """A batch's readings summed per (Datastream, step, bucket): count, sum, minimum, maximum. Readings go to
    their UTC hour by integer arithmetic on the timestamp (the hot loop: one pass, no datetime built per reading),
    days are summed from the hours; readings that are not numbers (None) are left out."""
    hours: dict[tuple[int, int], Cell] = {}
    for datastream_id, moment, value in zip(datastream_ids, times, results, strict=True):
        if value is None:
            continue
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        key = (datastream_id, int(moment.timestamp() // HOUR_SECONDS))
        cell = hours.get(key)
        if cell is None:
            hours[key] = [1, value, value, value]
        else:
            cell[0] += 1
            cell[1] += value
            if value < cell[2]:
                cell[2] = value
            if value > cell[3]:
                cell[3] = value
    cells: dict[tuple[int, str, datetime], Cell] = {}
    days: dict[tuple[int, int], Cell] = {}
    for (datastream_id, hour), cell in hours.items():
        cells[(datastream_id, "hour", datetime.fromtimestamp(hour * HOUR_SECONDS, UTC))] = cell
        _add(days, (datastream_id, hour // 24), cell)
    for (datastream_id, day), cell in days.items():
        cells[(datastream_id, "day", datetime.fromtimestamp(day * 24 * HOUR_SECONDS, UTC))] = cell
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
MEASURES = ("count", "total", "minimum", "maximum")
# PostgreSQL: the whole batch in one statement, its rows passed as one array per column.
_ADD = (
    "INSERT INTO {table} ({keys}, count, total, minimum, maximum) "
    "SELECT * FROM unnest({arrays}, CAST(:count AS bigint[]), CAST(:total AS float8[]), "
    "CAST(:minimum AS float8[]), CAST(:maximum AS float8[])) "
    "ON CONFLICT ({keys}) DO UPDATE SET count = {table}.count + excluded.count, "
    "total = {table}.total + excluded.total, minimum = least({table}.minimum, excluded.minimum), "
    "maximum = greatest({table}.maximum, excluded.maximum)"
)
PG_ADD = {
    "streams": text(
        _ADD.format(
            table=STREAMS.name,
            keys=", ".join(STREAM_KEYS),
            arrays="CAST(:datastream_id AS bigint[]), CAST(:step AS varchar[]), CAST(:bucket AS timestamptz[])",
        )
    ),
    "areas": text(
        _ADD.format(
            table=AREAS.name,
            keys=", ".join(AREA_KEYS),
            arrays="CAST(:neighbourhood_id AS integer[]), CAST(:quantity AS varchar[]), CAST(:step AS varchar[]), "
            "CAST(:bucket AS timestamptz[])",
        )
    ),
}


async def _add_rows(session: AsyncSession, name: str, keys: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """Adds rows (keys..., count, total, minimum, maximum) to their buckets with one statement: on PostgreSQL an
    INSERT ... SELECT FROM unnest(arrays) ... ON CONFLICT DO UPDATE, on SQLite (in process) one executemany."""
    if not rows:
        return
    columns = (*keys, *MEASURES)
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            PG_ADD[name],
            {column: list(values) for column, values in zip(columns, zip(*rows, strict=True), strict=True)},
        )
    else:
        await session.execute(UPSERTS[("sqlite", name)], [dict(zip(columns, row, strict=True)) for row in rows])


async def add_cells(
    session: AsyncSession, cells: dict[tuple[int, str, datetime], Cell], placements: dict[int, Placement | None]
) -> None:
    """Adds summed readings to their Datastreams' buckets and to their neighbourhoods' (each table in key order,
    so that two transactions adding to the same buckets wait for each other rather than deadlock). Datastreams
    without a placement (a personal Thing's) are left out."""
    stream_rows = []
    areas: dict[tuple[int, str, str, datetime], Cell] = {}
    for key, cell in sorted(cells.items()):
        placement = placements.get(key[0])
        if placement is None:
            continue
        stream_rows.append((*key, int(cell[0]), cell[1], cell[2], cell[3]))
        if placement.neighbourhood_id is not None:
            _add(areas, (placement.neighbourhood_id, placement.quantity, key[1], key[2]), cell)
    await _add_rows(session, "streams", STREAM_KEYS, stream_rows)
    area_rows = [(*key, int(cell[0]), cell[1], cell[2], cell[3]) for key, cell in sorted(areas.items())]
    await _add_rows(session, "areas", AREA_KEYS, area_rows)


def placement_of(stream: sensing.SummedStream) -> Placement:
    return Placement(stream.neighbourhood_id, quantity_of(stream.observed_property))


class Rollups:
    """The subscriber of one event hub: it keeps where each Datastream is for a few minutes (a Thing moved to
    another quartier is summed there from then on; `rebuild` moves its past)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._places: dict[int, tuple[float, Placement | None]] = {}
        self._clock = clock

    async def placements(self, session: AsyncSession, datastream_ids: Iterable[int]) -> dict[int, Placement | None]:
        """Where each Datastream's readings go (None for those never summed: a personal Thing's), asking sensing
        once for all those not known or known for too long."""
        now = self._clock()
        found: dict[int, Placement | None] = {}
        missing = []
        for datastream_id in datastream_ids:
            known = self._places.get(datastream_id)
            if known is not None and now - known[0] < PLACE_SECONDS:
                found[datastream_id] = known[1]
            else:
                missing.append(datastream_id)
        if missing:
            streams = {stream.datastream_id: stream for stream in await sensing.summed_streams(session, missing)}
            for datastream_id in missing:
                stream = streams.get(datastream_id)
                placement = placement_of(stream) if stream is not None else None
                self._places[datastream_id] = (now, placement)
                found[datastream_id] = placement
        return found

    async def on_readings_stored(self, session: AsyncSession, event: ReadingsStored) -> None:
        """Sums the write's readings in one pass and adds them with one statement per table."""
        cells = batch_cells(event.datastream_ids, event.phenomenon_times, event.results)
        if not cells:
            return
        placements = await self.placements(session, sorted({key[0] for key in cells}))
        await add_cells(session, cells, placements)


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
