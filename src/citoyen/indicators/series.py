"""Reading an indicator from the rollups: its values per hour, day, week or month over a period, for one
neighbourhood or the whole city (the sum over the neighbourhoods), and its figures per neighbourhood over a
window (the choropleth).

Only the neighbourhoods' rollups are read (a year of hourly values of one quartier is 8,760 rows); weeks start on
Monday and months on the 1st, both in UTC, and are made from the daily rollups.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import BigInteger, ColumnElement, Table, func, literal, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.errors import Kind, Refusal
from citoyen.i18n import N_
from citoyen.indicators.definitions import (
    ATMO_ON_MAXIMUM,
    CITY_APART,
    OUTDOOR_TEMPERATURE,
    WEEKLY_QUANTITIES,
    Indicator,
    atmo_sub_index,
)
from citoyen.indicators.models import AreaRollup
from citoyen.territory import service as territory

AREAS = cast(Table, AreaRollup.__table__)
STEPS = ("hour", "day", "week", "month")
DAY = timedelta(days=1)
# The longest period a chart may ask for at each step, and the one it gets when it names none.
LONGEST = {"hour": timedelta(days=400), "day": timedelta(days=3700), "week": timedelta(days=3700), "month": None}
DEFAULT_SPAN = {
    "hour": timedelta(days=7),
    "day": timedelta(days=90),
    "week": timedelta(days=365),
    "month": timedelta(days=730),
}
LONGEST_MONTHS = timedelta(days=36600)
BASE_TEMPERATURE = 18.0
# A day of less than one heating degree-day is left out of a per-degree-day figure (dividing by almost nothing).
LEAST_DEGREE_DAYS = 1.0


class IndicatorError(Refusal):
    """A refused request about indicators."""


@dataclass(frozen=True, slots=True)
class Point:
    start: datetime
    value: float | None


def truncate(moment: datetime, step: str) -> datetime:
    """The UTC start of the hour, day, week (Monday) or month `moment` falls in."""
    moment = moment.astimezone(UTC)
    if step == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if step == "day":
        return day
    if step == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def advance(moment: datetime, step: str) -> datetime:
    if step == "hour":
        return moment + timedelta(hours=1)
    if step == "day":
        return moment + DAY
    if step == "week":
        return moment + timedelta(days=7)
    return (moment.replace(day=28) + timedelta(days=4)).replace(day=1)


def check_period(
    indicator: Indicator, step: str, start: datetime | None, end: datetime | None, latest: datetime | None
) -> tuple[datetime, datetime]:
    """The period [start, end) a series covers, checked: a step the indicator has, start before end, no longer
    than the step allows. Without bounds: the step's default span up to the latest data (or now)."""
    if step not in STEPS:
        raise IndicatorError(
            N_("Unknown step %(step)s: use hour, day, week or month."), Kind.INVALID, "step", step=step
        )
    if step not in indicator.steps:
        raise IndicatorError(
            N_("This indicator is not computed per %(step)s: use %(steps)s."),
            Kind.INVALID,
            "step",
            step=step,
            steps=", ".join(indicator.steps),
        )
    if end is None:
        end = truncate(latest or datetime.now(UTC), "day") + DAY
    if start is None:
        start = end - DEFAULT_SPAN[step]
    if start.tzinfo is None or end.tzinfo is None:
        raise IndicatorError(N_("Give the period's times with their time zone (for example 2026-01-01T00:00:00Z)."))
    if start >= end:
        raise IndicatorError(N_("The period's start must come before its end."), Kind.INVALID, "from")
    longest = LONGEST[step] or LONGEST_MONTHS
    if end - start > longest:
        raise IndicatorError(
            N_("A period read per %(step)s may cover at most %(days)d days."),
            Kind.INVALID,
            "from",
            step=step,
            days=longest.days,
        )
    return start.astimezone(UTC), end.astimezone(UTC)


async def _rows(
    session: AsyncSession,
    quantities: Sequence[str],
    step: str,
    start: datetime,
    end: datetime,
    neighbourhood_id: int | None,
    by_neighbourhood: bool = False,
) -> list[Any]:
    """(neighbourhood, quantity, bucket, count, total, maximum) rows of [start, end): one quartier's, every
    quartier's (`by_neighbourhood`), or the city's, added up by the database (neighbourhood None). A weekly
    figure's city is its own row (CITY_APART), not the quartiers' sum; it is no quartier's."""
    where: tuple[ColumnElement[bool], ...] = (
        AREAS.c.quantity.in_(list(quantities)),
        AREAS.c.step == step,
        AREAS.c.bucket >= start,
        AREAS.c.bucket < end,
    )
    apart = not WEEKLY_QUANTITIES.isdisjoint(quantities)
    if apart and neighbourhood_id is None and not by_neighbourhood:
        neighbourhood_id = CITY_APART
    elif apart and by_neighbourhood:
        where = (*where, AREAS.c.neighbourhood_id != CITY_APART)
    if neighbourhood_id is not None or by_neighbourhood:
        query = select(
            AREAS.c.neighbourhood_id,
            AREAS.c.quantity,
            AREAS.c.bucket,
            AREAS.c["count"],
            AREAS.c.total,
            AREAS.c.maximum,
        ).where(*where)
        if neighbourhood_id is not None:
            query = query.where(AREAS.c.neighbourhood_id == neighbourhood_id)
        return list((await session.execute(query)).all())
    city = (
        select(
            literal(None),
            AREAS.c.quantity,
            AREAS.c.bucket,
            # PostgreSQL's sum of a bigint is a numeric: read back as an integer.
            sql_cast(func.sum(AREAS.c["count"]), BigInteger),
            func.sum(AREAS.c.total),
            func.max(AREAS.c.maximum),
        )
        .where(*where)
        .group_by(AREAS.c.quantity, AREAS.c.bucket)
    )
    return list((await session.execute(city)).all())


def _plain(indicator: Indicator, rows: Iterable[Any], step: str) -> dict[datetime, float]:
    """Sum or mean per output bucket of the rows (any neighbourhoods: the city adds them up)."""
    cells: dict[datetime, list[float]] = {}
    exact = step in ("hour", "day")  # the rows are read at this step already
    for row in rows:
        key = row[2] if exact else truncate(row[2], step)
        cell = cells.setdefault(key, [0, 0.0])
        cell[0] += row[3]
        cell[1] += row[4]
    if indicator.aggregation == "sum":
        return {key: cell[1] for key, cell in cells.items()}
    return {key: cell[1] / cell[0] for key, cell in cells.items() if cell[0]}


def _atmo(daily: Iterable[Any], step: str) -> dict[datetime, float]:
    """The ATMO index per day (the worst sub-index), and per week or month the worst day's. NO2, O3 and SO2 are
    read on the day's highest reading (stations publish hourly means), PM10 and PM2.5 on the day's mean."""
    days: dict[tuple[str, datetime], list[float]] = {}
    for row in daily:
        cell = days.setdefault((row[1], row[2]), [0, 0.0, float("-inf")])
        cell[0] += row[3]
        cell[1] += row[4]
        cell[2] = max(cell[2], row[5])
    index: dict[datetime, float] = {}
    for (quantity, moment), (count, total, highest) in days.items():
        if not count:
            continue
        figure = highest if quantity in ATMO_ON_MAXIMUM else total / count
        bucket = moment if step == "day" else truncate(moment, step)
        index[bucket] = max(index.get(bucket, 0), atmo_sub_index(quantity, figure))
    return index


async def degree_days(session: AsyncSession, start: datetime, end: datetime) -> dict[datetime, float]:
    """Heating degree-days (base 18 °C) per UTC day of [start, end), from the city's outdoor temperature: the mean
    of every quartier's readings of the day."""
    rows = await _rows(session, (OUTDOOR_TEMPERATURE,), "day", start, end, None)
    return {row[2]: max(0.0, BASE_TEMPERATURE - row[4] / row[3]) for row in rows if row[3]}


async def resident_days(
    session: AsyncSession, indicator: Indicator, start: datetime, end: datetime, neighbourhood_id: int | None
) -> dict[int | None, dict[datetime, float]]:
    """A per-resident indicator's daily values over the whole days of [start, end): per quartier with data and a
    population (neighbourhood None: every such quartier, as `neighbourhood_id` None asks), and for them together
    under the key None. Divided by the day's degree-days for a per-degree-day indicator."""
    populations = await territory.populations(session)
    if populations is None:
        return {}
    day_start, day_end = truncate(start, "day"), truncate(end - timedelta(microseconds=1), "day") + DAY
    rows = await _rows(session, indicator.quantities, "day", day_start, day_end, neighbourhood_id, True)
    heating = await degree_days(session, day_start, day_end) if indicator.per_degree_day else {}
    totals: dict[int | None, dict[datetime, list[float]]] = {}
    for row in rows:
        residents = populations.residents.get(row[0])
        if not residents:
            continue
        if indicator.per_degree_day and heating.get(row[2], 0.0) < LEAST_DEGREE_DAYS:
            continue
        for key in (row[0], None):
            cell = totals.setdefault(key, {}).setdefault(row[2], [0.0, 0.0])
            cell[0] += row[4]
            cell[1] += residents
    result: dict[int | None, dict[datetime, float]] = {}
    for key, days in totals.items():
        result[key] = {
            day: total / residents / (heating[day] if indicator.per_degree_day else 1.0)
            for day, (total, residents) in days.items()
        }
    return result


def _mean_per_step(daily: dict[datetime, float], step: str) -> dict[datetime, float]:
    if step == "day":
        return daily
    cells: dict[datetime, list[float]] = {}
    for day, value in daily.items():
        cell = cells.setdefault(truncate(day, step), [0.0, 0])
        cell[0] += value
        cell[1] += 1
    return {key: total / count for key, (total, count) in cells.items()}


async def values(
    session: AsyncSession,
    indicator: Indicator,
    step: str,
    start: datetime,
    end: datetime,
    neighbourhood_id: int | None = None,
) -> dict[datetime, float]:
    """The indicator's value per `step` bucket with data in [start, end), for a neighbourhood or the city."""
    if indicator.per_resident:
        if step == "hour":
            return {}
        daily = (await resident_days(session, indicator, start, end, neighbourhood_id)).get(neighbourhood_id, {})
        return _mean_per_step(daily, step)
    if indicator.aggregation == "atmo":
        day_start, day_end = truncate(start, "day"), truncate(end - timedelta(microseconds=1), "day") + DAY
        return _atmo(await _rows(session, indicator.quantities, "day", day_start, day_end, neighbourhood_id), step)
    source = "hour" if step == "hour" else "day"
    rows = await _rows(session, indicator.quantities, source, start, end, neighbourhood_id)
    return _plain(indicator, rows, step)


# The width of a fixed step: a chart's bucket number is its offset from the first one (months vary: counted out).
WIDTH = {"hour": timedelta(hours=1), "day": DAY, "week": timedelta(days=7)}


_HOURS = tuple(f"T{hour:02d}:00:00Z" for hour in range(24))


@dataclass(frozen=True, slots=True)
class Timeline:
    """An indicator's series as a column: the value of every `step` bucket from `first` on, in order (None where
    there is no data: a chart shows a gap). A column, not a point object per bucket: a year of hours is 8,760
    buckets, and a chart's request should not allocate tens of thousands of small objects (their garbage
    collections set its tail latency); the bucket starts follow from `first` and the step."""

    step: str
    first: datetime
    values: list[float | None]

    @property
    def starts(self) -> list[datetime]:
        width = WIDTH.get(self.step)
        if width is not None:
            return [self.first + width * number for number in range(len(self.values))]
        starts = [self.first]
        while len(starts) < len(self.values):
            starts.append(advance(starts[-1], self.step))
        return starts

    @property
    def points(self) -> list[Point]:
        return [Point(start, value) for start, value in zip(self.starts, self.values, strict=True)]

    def start_texts(self) -> list[str]:
        """The bucket starts in ISO 8601, UTC written Z (2026-01-01T00:00:00Z); hours are written from their day's
        date, formatted once a day."""
        if self.step != "hour":
            return [moment.isoformat()[:-6] + "Z" for moment in self.starts]
        texts: list[str] = []
        count = len(self.values)
        day, hour = self.first.date(), self.first.hour
        while len(texts) < count:
            date = day.isoformat()
            texts.extend(date + _HOURS[number] for number in range(hour, min(24, hour + count - len(texts))))
            day, hour = day + DAY, 0
        return texts


def timeline(found: dict[datetime, float], step: str, start: datetime, end: datetime) -> Timeline:
    """Every `step` bucket of [start, end), with the values `found` per bucket start."""
    first = truncate(start, step)
    width = WIDTH.get(step)
    if width is None:  # months: at most a few hundred, counted out
        starts = []
        moment = first
        while moment < end:
            starts.append(moment)
            moment = advance(moment, step)
        return Timeline(step, first, [found.get(moment) for moment in starts])
    count = -(-(end - first) // width)
    numbers: list[float | None] = [None] * count
    seconds = width.total_seconds()
    for moment, value in found.items():
        number = int((moment - first).total_seconds() // seconds)
        if 0 <= number < count:
            numbers[number] = value
    return Timeline(step, first, numbers)


async def series(
    session: AsyncSession,
    indicator: Indicator,
    step: str,
    start: datetime,
    end: datetime,
    neighbourhood_id: int | None = None,
) -> Timeline:
    """Every `step` bucket of [start, end) in order, None where there is no data (a chart shows a gap)."""
    return timeline(await values(session, indicator, step, start, end, neighbourhood_id), step, start, end)


async def latest_day(
    session: AsyncSession, indicator: Indicator, neighbourhood_id: int | None = None, now: datetime | None = None
) -> datetime | None:
    """The last complete UTC day with data for the indicator (None: no data at all, no sensor of its kind).
    Today is left out: its bucket holds the hours measured so far, and a partial day read as the latest value
    would show a fall (a sum) or a biased mean every morning."""
    today = truncate(now or datetime.now(UTC), "day")
    query = select(func.max(AREAS.c.bucket)).where(
        AREAS.c.quantity.in_(indicator.quantities), AREAS.c.step == "day", AREAS.c.bucket < today
    )
    if neighbourhood_id is not None:
        query = query.where(AREAS.c.neighbourhood_id == neighbourhood_id)
    latest: datetime | None = (await session.execute(query)).scalar()
    return latest


async def first_day(session: AsyncSession, indicator: Indicator) -> datetime | None:
    query = select(func.min(AREAS.c.bucket)).where(AREAS.c.quantity.in_(indicator.quantities), AREAS.c.step == "day")
    first: datetime | None = (await session.execute(query)).scalar()
    return first


async def per_neighbourhood(
    session: AsyncSession, indicator: Indicator, start: datetime, end: datetime
) -> dict[int, float]:
    """The indicator's value over [start, end) for each neighbourhood with data (the mean of its daily values
    for a mean or an index, their sum for a count): what the choropleth colours."""
    if indicator.per_resident:
        by_quartier = await resident_days(session, indicator, start, end, None)
        return {
            ident: sum(daily.values()) / len(daily)
            for ident, daily in by_quartier.items()
            if ident is not None and daily
        }
    if indicator.aggregation == "atmo":
        by_area: dict[int, list[Any]] = {}
        for row in await _rows(session, indicator.quantities, "day", start, end, None, by_neighbourhood=True):
            by_area.setdefault(row[0], []).append(row)
        result = {}
        for neighbourhood_id, days in by_area.items():
            index = _atmo(days, "day")
            if index:
                result[neighbourhood_id] = sum(index.values()) / len(index)
        return result
    rows = await _rows(session, indicator.quantities, "day", start, end, None, by_neighbourhood=True)
    grouped: dict[int, list[Any]] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(row)
    result = {}
    for neighbourhood_id, members in grouped.items():
        daily_values = _plain(indicator, members, "day")
        if not daily_values:
            continue
        total = sum(daily_values.values())
        result[neighbourhood_id] = total if indicator.aggregation == "sum" else total / len(daily_values)
    return result


async def totals_by_prefix(
    session: AsyncSession, neighbourhood_id: int, prefix: str, start: datetime, end: datetime
) -> list[tuple[str, float]]:
    """The daily totals over [start, end) of a quartier's quantities named `prefix...` (reports per category),
    largest first."""
    total = func.sum(AREAS.c.total)
    query = (
        select(AREAS.c.quantity, total)
        .where(
            AREAS.c.neighbourhood_id == neighbourhood_id,
            AREAS.c.quantity.startswith(prefix),
            AREAS.c.step == "day",
            AREAS.c.bucket >= start,
            AREAS.c.bucket < end,
        )
        .group_by(AREAS.c.quantity)
        .order_by(total.desc(), AREAS.c.quantity)
    )
    return [(str(quantity), float(value)) for quantity, value in (await session.execute(query)).all()]


async def daily_by_neighbourhood(
    session: AsyncSession, indicator: Indicator, start: datetime, end: datetime, step: str = "day"
) -> dict[int, dict[datetime, float]]:
    """The indicator's daily values over [start, end) of every quartier with data, in a few queries: each day's
    value is what `values(..., "day", ...)` gives for that quartier (a day's figure depends on that day alone).
    `step` "hour": the hourly values of a plain indicator (a sum or a mean), as `values(..., "hour", ...)`."""
    if step == "hour":
        hours: dict[int, list[Any]] = {}
        for row in await _rows(session, indicator.quantities, "hour", start, end, None, by_neighbourhood=True):
            hours.setdefault(row[0], []).append(row)
        return {ident: _plain(indicator, rows, "hour") for ident, rows in hours.items()}
    if indicator.per_resident:
        by_quartier = await resident_days(session, indicator, start, end, None)
        return {ident: daily for ident, daily in by_quartier.items() if ident is not None}
    if indicator.aggregation == "atmo":
        start, end = truncate(start, "day"), truncate(end - timedelta(microseconds=1), "day") + DAY
    grouped: dict[int, list[Any]] = {}
    for row in await _rows(session, indicator.quantities, "day", start, end, None, by_neighbourhood=True):
        grouped.setdefault(row[0], []).append(row)
    if indicator.aggregation == "atmo":
        return {ident: _atmo(rows, "day") for ident, rows in grouped.items()}
    return {ident: _plain(indicator, rows, "day") for ident, rows in grouped.items()}


async def latest_days(session: AsyncSession, indicator: Indicator, now: datetime | None = None) -> dict[int, datetime]:
    """`latest_day` of every quartier with data, in one query (a weekly figure's city row left out)."""
    today = truncate(now or datetime.now(UTC), "day")
    query = (
        select(AREAS.c.neighbourhood_id, func.max(AREAS.c.bucket))
        .where(AREAS.c.quantity.in_(indicator.quantities), AREAS.c.step == "day", AREAS.c.bucket < today)
        .group_by(AREAS.c.neighbourhood_id)
    )
    rows = (await session.execute(query)).all()
    return {int(ident): moment for ident, moment in rows if not (indicator.weekly and ident == CITY_APART)}


async def totals_by_prefix_everywhere(
    session: AsyncSession, prefix: str, start: datetime, end: datetime
) -> list[tuple[int, str, datetime, float]]:
    """Every quartier's daily rows of [start, end) of the quantities named `prefix...`: (quartier, quantity, day,
    total), for `totals_by_prefix` of all quartiers at once."""
    query = select(AREAS.c.neighbourhood_id, AREAS.c.quantity, AREAS.c.bucket, AREAS.c.total).where(
        AREAS.c.quantity.startswith(prefix),
        AREAS.c.step == "day",
        AREAS.c.bucket >= start,
        AREAS.c.bucket < end,
    )
    return [
        (int(ident), str(quantity), bucket, float(total))
        for ident, quantity, bucket, total in await session.execute(query)
    ]
