"""Rollups kept up a few seconds behind the readings, and rebuilt from the raw data on demand.

As readings arrive: ingest announces one `ReadingsChanged` per write (a span of phenomenon times per Datastream,
whatever the number of readings), and `note_changes` hears it *in the write's transaction* and appends those spans
to `indicator_pending_spans`, a table without key or index: the write commits or rolls back with its note, costs
one heap insert of a few rows, and never waits for another writer (adding to the rollups in the transaction made
two writers of the same hour wait on each other's commit, and cost ingest more than half its rate on PostgreSQL).
Updates and deletions of Observations (and of the Datastreams, Things... that take theirs along) announce theirs.

`fold` then brings the rollups up to date: it takes every pending span (DELETE ... RETURNING: what it sees is
what it folds; a note committed meanwhile waits for the next fold), recomputes the hourly buckets those spans
touch from the raw readings (one index range per span), the days from the hours, and the neighbourhoods' buckets
of the quantities concerned from their Datastreams'. It recomputes rather than adds, so a fold is idempotent, a
changed or deleted reading is reflected like a new one, and incremental equals rebuilt. The running app folds
every `indicators_fold_interval_seconds` (citoyen.indicators.tasks; one process at a time, by an advisory lock on
PostgreSQL), `citoyen housekeeping` and `citoyen indicators rebuild` fold too, and tests fold when they read.
The pages are as fresh as the last fold: `pending_since` says from when readings may still be missing.

On demand: `rebuild` recomputes everything from the raw Observations with set-based statements (GROUP BY bucket,
INSERT ... SELECT) a few Datastreams at a time, then the neighbourhoods' rollups from the Datastreams' ones, then
the civic counts (`refresh_civic`). A Thing moved to another quartier is summed there from the next fold of its
readings on; `rebuild` moves its past.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import UTCDateTime
from citoyen.events import ReadingsChanged
from citoyen.indicators.definitions import (
    CITY_APART,
    CLOSING_DAYS,
    LEAST_PARTICIPANTS,
    PARTICIPANTS,
    PROPOSALS,
    REPORTS,
    SUPPORTS,
    quantity_of,
)
from citoyen.indicators.models import PENDING_SPANS, AreaRollup, DatastreamRollup
from citoyen.indicators.versions import bump
from citoyen.participation import service as participation
from citoyen.reports import service as reports
from citoyen.sensing import service as sensing

STREAMS = cast(Table, DatastreamRollup.__table__)
AREAS = cast(Table, AreaRollup.__table__)
STEPS: tuple[sensing.Step, ...] = ("hour", "day")
REBUILD_CHUNK = 25
# PostgreSQL advisory lock of the fold and the rebuild: one at a time, whichever process ("CITROLL").
FOLD_LOCK_KEY = 0x43_49_54_52_4F_4C_4C
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
Progress = Callable[[int, int], None]
Range = tuple[int, datetime, datetime]  # a Datastream (or group) id, from, to (excluded)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a Datastream's readings are summed: its neighbourhood (None: none) and quantity."""

    neighbourhood_id: int | None
    quantity: str


def bucket_start(moment: datetime, step: str) -> datetime:
    """The UTC start of the hour or day `moment` falls in."""
    moment = moment.astimezone(UTC)
    if step == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def placement_of(stream: sensing.SummedStream) -> Placement:
    return Placement(stream.neighbourhood_id, quantity_of(stream.observed_property))


# --- Noting what changed (in the writer's transaction) -----------------------------------------------------------

_PG_NOTE = text(
    "INSERT INTO indicator_pending_spans (datastream_id, first_time, last_time, noted_at) "
    "SELECT ids, firsts, lasts, CAST(:noted_at AS timestamptz) FROM unnest(CAST(:ids AS bigint[]), "
    "CAST(:firsts AS timestamptz[]), CAST(:lasts AS timestamptz[])) AS spans (ids, firsts, lasts)"
)


async def note_changes(session: AsyncSession, event: ReadingsChanged) -> None:
    """Appends a write's spans for the fold: one statement, a row per Datastream (PostgreSQL: arrays unnested)."""
    if not event.datastream_ids:
        return
    noted_at = datetime.now(UTC)
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            _PG_NOTE,
            {
                "ids": list(event.datastream_ids),
                "firsts": list(event.starts),
                "lasts": list(event.ends),
                "noted_at": noted_at,
            },
        )
    else:
        await session.execute(
            insert(PENDING_SPANS),
            [
                {"datastream_id": ident, "first_time": first, "last_time": last, "noted_at": noted_at}
                for ident, first, last in zip(event.datastream_ids, event.starts, event.ends, strict=True)
            ],
        )


async def pending_since(session: AsyncSession) -> datetime | None:
    """When the oldest change not folded in yet was noted (None: the rollups hold every reading stored)."""
    return cast(datetime | None, (await session.execute(select(func.min(PENDING_SPANS.c.noted_at)))).scalar_one())


# --- Folding the noted changes into the rollups -------------------------------------------------------------------


@dataclass
class Folded:
    """What one fold did: the noted spans it took, the Datastreams and neighbourhood groups it recomputed, and
    when the oldest of its changes was noted (its lag is the fold's end minus that)."""

    spans: int = 0
    datastreams: int = 0
    groups: int = 0
    oldest: datetime | None = None


def _merged(ranges: Iterable[Range]) -> list[Range]:
    """Ranges of the same id that overlap or touch, made one (sorted by id and start)."""
    merged: list[Range] = []
    for ident, start, end in sorted(ranges):
        if merged and merged[-1][0] == ident and start <= merged[-1][2]:
            if end > merged[-1][2]:
                merged[-1] = (ident, merged[-1][1], end)
        else:
            merged.append((ident, start, end))
    return merged


def _ranges(dialect: str, ranges: Sequence[Range]) -> tuple[tuple[Any, Any, Any], Any]:
    """The (Datastream, from, to) ranges as the fold's statements take them: on PostgreSQL the columns of one
    derived table of arrays unnested, and the arrays (each statement runs once); on SQLite three bound parameters
    and a row of them per range (each statement runs as an executemany, in process)."""
    if dialect == "postgresql":
        moments = ARRAY(DateTime(timezone=True))
        table = (
            func.unnest(
                bindparam("datastream_ids", type_=ARRAY(BigInteger)),
                bindparam("firsts", type_=moments),
                bindparam("afters", type_=moments),
            )
            .table_valued("datastream_id", "first", "after")
            .render_derived(name="span")
        )
        ident, first, after = (list(column) for column in zip(*ranges, strict=True))
        return (table.c.datastream_id, table.c.first, table.c.after), {
            "datastream_ids": ident,
            "firsts": first,
            "afters": after,
        }
    columns = (
        bindparam("datastream_id", type_=BigInteger),
        bindparam("first", type_=UTCDateTime),
        bindparam("after", type_=UTCDateTime),
    )
    return columns, [{"datastream_id": ident, "first": first, "after": after} for ident, first, after in ranges]


def _periods(column: Any, ranges: Iterable[tuple[datetime, datetime]]) -> ColumnElement[bool]:
    return or_(*(and_(column >= start, column < end) for start, end in ranges))


def _day_of(dialect: str, bucket: Any) -> Any:
    """The UTC day an hourly bucket falls in, in the form the database stores UTC datetimes."""
    if dialect == "sqlite":
        return func.strftime("%Y-%m-%d 00:00:00.000000", bucket)
    return func.timezone("UTC", func.date_trunc("day", func.timezone("UTC", bucket)))


CIVIC = (PROPOSALS, SUPPORTS, REPORTS, CLOSING_DAYS, PARTICIPANTS)


def _is_civic(quantity: Any) -> ColumnElement[bool]:
    return or_(quantity.in_(CIVIC), quantity.startswith(f"{REPORTS}:"))


async def _take_lock(session: AsyncSession, wait: bool) -> bool:
    """The fold's turn on PostgreSQL (held to the end of the transaction); SQLite has one writer anyway."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    if wait:
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FOLD_LOCK_KEY})
        return True
    taken = await session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": FOLD_LOCK_KEY})
    return bool(taken.scalar_one())


async def fold(session: AsyncSession, *, wait: bool = True) -> Folded | None:
    """Brings the rollups up to date with every change noted so far, in the session's transaction (see the
    module's docstring). `wait=False`: None at once if another process is folding (the app's timer)."""
    # Nothing noted: no write lock taken (SQLite) for an idle timer's round.
    if (await session.execute(select(literal(1)).select_from(PENDING_SPANS).limit(1))).first() is None:
        return Folded()
    if not await _take_lock(session, wait):
        return None
    taken = (
        await session.execute(
            delete(PENDING_SPANS).returning(
                PENDING_SPANS.c.datastream_id,
                PENDING_SPANS.c.first_time,
                PENDING_SPANS.c.last_time,
                PENDING_SPANS.c.noted_at,
            )
        )
    ).all()
    if not taken:
        return Folded()
    hours = _merged(
        (ident, bucket_start(first, "hour"), bucket_start(last, "hour") + HOUR) for ident, first, last, _ in taken
    )
    days = _merged(
        (ident, bucket_start(start, "day"), bucket_start(end - HOUR, "day") + DAY) for ident, start, end in hours
    )
    placements = {stream.datastream_id: placement_of(stream) for stream in await sensing.summed_streams(session)}
    dialect = session.get_bind().dialect.name
    columns = ["datastream_id", "step", "bucket", "count", "total", "minimum", "maximum"]
    (ident, first, after), bound = _ranges(dialect, hours)
    in_range = (STREAMS.c.datastream_id == ident, STREAMS.c.bucket >= first, STREAMS.c.bucket < after)
    await session.execute(delete(STREAMS).where(STREAMS.c.step == "hour", *in_range), bound)
    placed = [span for span in hours if span[0] in placements]
    if placed:
        (ident, first, after), bound = _ranges(dialect, placed)
        hourly = sensing.range_statistics(dialect, "hour", ident, first, after)
        await session.execute(insert(STREAMS).from_select(columns, hourly), bound)
    (ident, first, after), bound = _ranges(dialect, days)
    in_range = (STREAMS.c.datastream_id == ident, STREAMS.c.bucket >= first, STREAMS.c.bucket < after)
    await session.execute(delete(STREAMS).where(STREAMS.c.step == "day", *in_range), bound)
    placed = [span for span in days if span[0] in placements]
    if placed:
        (ident, first, after), bound = _ranges(dialect, placed)
        day = _day_of(dialect, STREAMS.c.bucket)
        daily = (
            select(
                STREAMS.c.datastream_id,
                literal("day"),
                day,
                func.sum(STREAMS.c["count"]),
                func.sum(STREAMS.c.total),
                func.min(STREAMS.c.minimum),
                func.max(STREAMS.c.maximum),
            )
            .where(
                STREAMS.c.step == "hour",
                STREAMS.c.datastream_id == ident,
                STREAMS.c.bucket >= first,
                STREAMS.c.bucket < after,
            )
            .group_by(STREAMS.c.datastream_id, day)
        )
        await session.execute(insert(STREAMS).from_select(columns, daily), bound)
    groups = await _fold_areas(session, days, placements)
    await bump(session)
    return Folded(
        spans=len(taken),
        datastreams=len({row[0] for row in taken}),
        groups=groups,
        oldest=min(row[3] for row in taken),
    )


async def _fold_areas(session: AsyncSession, days: Sequence[Range], placements: dict[int, Placement]) -> int:
    """Recomputes the neighbourhoods' buckets of the days folded, for the quantities concerned, from their
    Datastreams' rollups. A Datastream no longer summed (deleted, or its Thing made personal) may have counted in
    any of them: the sensor quantities of its days are recomputed everywhere."""
    members: dict[tuple[int, str], list[int]] = {}
    for datastream_id, placement in placements.items():
        if placement.neighbourhood_id is not None:
            members.setdefault((placement.neighbourhood_id, placement.quantity), []).append(datastream_id)
    touched: dict[tuple[int, str], list[tuple[datetime, datetime]]] = {}
    everywhere: list[tuple[datetime, datetime]] = []
    for datastream_id, start, end in days:
        where = placements.get(datastream_id)
        if where is None:
            everywhere.append((start, end))
        elif where.neighbourhood_id is not None:
            touched.setdefault((where.neighbourhood_id, where.quantity), []).append((start, end))
    if everywhere:
        periods = [(start, end) for _, start, end in _merged((0, start, end) for start, end in everywhere)]
        await session.execute(delete(AREAS).where(~_is_civic(AREAS.c.quantity), _periods(AREAS.c.bucket, periods)))
        for group in members:
            touched.setdefault(group, []).extend(periods)
    by_group = {
        group: [(start, end) for _, start, end in _merged((0, start, end) for start, end in spans)]
        for group, spans in sorted(touched.items())
    }
    if session.get_bind().dialect.name == "postgresql":
        await _pg_fold_areas(session, by_group, members)
    else:
        await _fold_areas_by_group(session, by_group, members)
    return len(touched)


# PostgreSQL: every group's periods and members as arrays, one DELETE and one INSERT ... SELECT for them all (a
# statement per group cost a fold of a few hundred Datastreams more than the rest of it).
_PG_AREAS_DELETE = text(
    "DELETE FROM indicator_area_rollups AS area USING "
    "unnest(CAST(:neighbourhood_ids AS integer[]), CAST(:quantities AS varchar[]), CAST(:starts AS timestamptz[]), "
    "CAST(:ends AS timestamptz[])) AS period (neighbourhood_id, quantity, first, after) "
    "WHERE area.neighbourhood_id = period.neighbourhood_id AND area.quantity = period.quantity "
    "AND area.bucket >= period.first AND area.bucket < period.after"
)
_PG_AREAS_INSERT = text(
    "INSERT INTO indicator_area_rollups (neighbourhood_id, quantity, step, bucket, count, total, minimum, maximum) "
    "SELECT period.neighbourhood_id, period.quantity, stream.step, stream.bucket, sum(stream.count), "
    "sum(stream.total), min(stream.minimum), max(stream.maximum) "
    "FROM "
    "unnest(CAST(:neighbourhood_ids AS integer[]), CAST(:quantities AS varchar[]), CAST(:starts AS timestamptz[]), "
    "CAST(:ends AS timestamptz[])) AS period (neighbourhood_id, quantity, first, after) "
    "JOIN unnest(CAST(:member_ids AS bigint[]), CAST(:member_neighbourhoods AS integer[]), "
    "CAST(:member_quantities AS varchar[])) AS member (datastream_id, neighbourhood_id, quantity) "
    "ON member.neighbourhood_id = period.neighbourhood_id AND member.quantity = period.quantity "
    "JOIN indicator_datastream_rollups AS stream ON stream.datastream_id = member.datastream_id "
    "AND stream.bucket >= period.first AND stream.bucket < period.after "
    "GROUP BY period.neighbourhood_id, period.quantity, stream.step, stream.bucket"
)


async def _pg_fold_areas(
    session: AsyncSession,
    periods: dict[tuple[int, str], list[tuple[datetime, datetime]]],
    members: dict[tuple[int, str], list[int]],
) -> None:
    rows = [(*group, start, end) for group, spans in periods.items() for start, end in spans]
    if not rows:
        return
    arrays = dict(
        zip(("neighbourhood_ids", "quantities", "starts", "ends"), map(list, zip(*rows, strict=True)), strict=True)
    )
    await session.execute(_PG_AREAS_DELETE, arrays)
    joined = [(ident, *group) for group in periods for ident in members.get(group, [])]
    if joined:
        ids, neighbourhoods, quantities = map(list, zip(*joined, strict=True))
        await session.execute(
            _PG_AREAS_INSERT,
            {**arrays, "member_ids": ids, "member_neighbourhoods": neighbourhoods, "member_quantities": quantities},
        )


async def _fold_areas_by_group(
    session: AsyncSession,
    periods: dict[tuple[int, str], list[tuple[datetime, datetime]]],
    members: dict[tuple[int, str], list[int]],
) -> None:
    """SQLite: two statements per group (in process, each costs little)."""
    for (neighbourhood_id, quantity), spans in periods.items():
        await session.execute(
            delete(AREAS).where(
                AREAS.c.neighbourhood_id == neighbourhood_id,
                AREAS.c.quantity == quantity,
                _periods(AREAS.c.bucket, spans),
            )
        )
        ids = members.get((neighbourhood_id, quantity))
        if not ids:
            continue
        summed = _area_sums(neighbourhood_id, quantity, ids).where(_periods(STREAMS.c.bucket, spans))
        await session.execute(insert(AREAS).from_select(AREA_COLUMNS, summed))


AREA_COLUMNS = ["neighbourhood_id", "quantity", "step", "bucket", "count", "total", "minimum", "maximum"]


def _area_sums(neighbourhood_id: int, quantity: str, datastream_ids: list[int]) -> Select[Any]:
    """A neighbourhood's rollups of one quantity from its Datastreams' (rows in AREA_COLUMNS' order), per step
    and bucket: what the fold (over its spans) and the rebuild (over everything) insert."""
    return (
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
        .where(STREAMS.c.datastream_id.in_(datastream_ids))
        .group_by(STREAMS.c.step, STREAMS.c.bucket)
    )


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
    await _take_lock(session, wait=True)
    # Everything is recomputed: what was noted until now is in it (a write committed later is noted anew).
    await session.execute(delete(PENDING_SPANS))
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
    for (neighbourhood_id, quantity), members in sorted(groups.items()):
        await session.execute(insert(AREAS).from_select(AREA_COLUMNS, _area_sums(neighbourhood_id, quantity, members)))
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


# The weekly figures (median time to close, participants) are recomputed over this many complete weeks: two
# years, so that a week can be compared with the same week of the year before.
CIVIC_WEEKS = 106
WEEK = timedelta(days=7)


def _monday(moment: datetime) -> datetime:
    day = _day(moment)
    return day - timedelta(days=day.weekday())


async def _weekly_figures(session: AsyncSession, now: datetime) -> dict[tuple[int, str, datetime], float]:
    """The median days to close a report per quartier and complete UTC week (the city's apart, under CITY_APART),
    from reports' closing times, and the different participants per quartier and week from participation's
    counts, those under LEAST_PARTICIPANTS left out (so that no small group is told)."""
    figures: dict[tuple[int, str, datetime], float] = {}
    end = _monday(now)
    start = end - CIVIC_WEEKS * WEEK
    week = start
    while week < end:
        taken: dict[int, list[float]] = {}
        for neighbourhood_id, _code, _name, _name_en, hours in await reports.closing_times(session, week, week + WEEK):
            taken.setdefault(CITY_APART, []).append(hours)
            if neighbourhood_id is not None:
                taken.setdefault(neighbourhood_id, []).append(hours)
        for place, durations in taken.items():
            figures[(place, CLOSING_DAYS, week)] = statistics.median(durations) / 24
        week += WEEK
    for (quartier, monday), people in (await participation.participants_per_week(session, start, end)).items():
        if people >= LEAST_PARTICIPANTS:
            figures[(CITY_APART if quartier is None else quartier, PARTICIPANTS, monday)] = people
    return figures


async def refresh_civic(session: AsyncSession, now: datetime | None = None) -> int:
    """Recomputes the daily counts of reports filed (in all, and per category as "reports:<code>"), proposals
    published and their supports, per neighbourhood, from what reports and participation publish, and the weekly
    figures (median time to close, participants); returns the buckets written. Run by `rebuild` and by
    housekeeping every few minutes."""
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
    counts.update(await _weekly_figures(session, now or datetime.now(UTC)))
    await session.execute(delete(AREAS).where(_is_civic(AREAS.c.quantity)))
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
    await bump(session)
    return len(rows)
