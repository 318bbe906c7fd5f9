"""Building eco-feedback (Miussec): a building's consumption normalised per m² (and, for heating, per degree-day),
beside similar buildings, read from the daily rollups per Datastream (never the raw readings).

- Heating: Wh per m² per heating degree-day (base 18 °C: a day's degree-days are 18 minus its mean outdoor
  temperature, none above 18), so a cold month is not read as waste; the temperature is the daily mean of the
  building's outdoor-temperature Datastream.
- Electricity: Wh per m² per day; water: litres per m² per day.
- A building counts over a period only with readings on at least 90 % of its days; its total is scaled to the
  whole period (a missed reading is not read as a saving).
- Compared only with at least `MINIMUM_PEERS` similar buildings having readings: only aggregates over them
  (median, the efficient quarter's level, the building's percentile) are ever shown.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.indicators.models import DatastreamRollup

STREAMS = cast(Table, DatastreamRollup.__table__)
BASE_TEMPERATURE = 18.0
PERIOD_DAYS = 28
COVERAGE = 0.9
MINIMUM_PEERS = 10
DAY = timedelta(days=1)
UNITS = {"heating": "Wh/m²/DJU", "electricity": "Wh/m²/j", "water": "L/m²/j"}
UNITS_EN = {"heating": "Wh/m²/degree-day", "electricity": "Wh/m²/day", "water": "L/m²/day"}


@dataclass(frozen=True, slots=True)
class Usage:
    """What a meter measured over a period: the sum of its daily readings and the number of days with one."""

    total: float
    days: int


@dataclass(frozen=True, slots=True)
class Comparison:
    """A building beside similar ones (only aggregates over them): how many, their median and the efficient
    quarter's level (the first quartile: a quarter of them use this much or less), the share of them using less
    than this building (its percentile), and how far it is from the median, in %."""

    peers: int
    median: float
    efficient: float
    percentile: int | None  # None: shown without the building's own value
    difference: float | None


def degree_days(daily_means: Sequence[float], base: float = BASE_TEMPERATURE) -> float:
    """Heating degree-days of days with these mean outdoor temperatures."""
    return sum(max(0.0, base - mean) for mean in daily_means)


def normalised(
    meter: str,
    usage: Usage | None,
    floor_area_m2: int,
    period_days: int,
    period_degree_days: float | None = None,
) -> float | None:
    """The usage per m² and day (heating: per m² and degree-day), in Wh or litres, scaled to the whole period;
    None without enough readings (under `COVERAGE` of the days) or, for heating, without degree-days."""
    if usage is None or usage.days < COVERAGE * period_days or floor_area_m2 <= 0 or usage.days == 0:
        return None
    whole = usage.total * period_days / usage.days * 1000  # kWh -> Wh, m³ -> L
    if meter == "heating":
        if not period_degree_days or period_degree_days <= 0:
            return None
        return whole / floor_area_m2 / period_degree_days
    return whole / floor_area_m2 / period_days


def compare(own: float | None, peers: Sequence[float], minimum: int = MINIMUM_PEERS) -> Comparison | None:
    """This building (`own`; None: the peers' aggregates alone) beside its peers' values; None with fewer than
    `minimum` peers (never shown then). The percentile counts the peers using less (ties count half)."""
    if len(peers) < minimum:
        return None
    ordered = sorted(peers)
    median = statistics.median(ordered)
    efficient = statistics.quantiles(ordered, n=4, method="inclusive")[0]
    if own is None:
        return Comparison(len(ordered), median, efficient, None, None)
    below = sum(1 for value in ordered if value < own) + 0.5 * sum(1 for value in ordered if value == own)
    return Comparison(
        peers=len(ordered),
        median=median,
        efficient=efficient,
        percentile=round(100 * below / len(ordered)),
        difference=(own / median - 1) * 100 if median else None,
    )


def change(current: float | None, previous: float | None) -> float | None:
    """The change from `previous` to `current`, in %; None when either is unknown."""
    if current is None or previous is None or previous == 0:
        return None
    return (current / previous - 1) * 100


# --- Reading the daily rollups ------------------------------------------------------------------------------------


async def usages(
    session: AsyncSession, datastream_ids: Sequence[int], start: datetime, end: datetime
) -> dict[int, Usage]:
    """Per Datastream: the sum of its daily readings over [start, end) and the days with readings (one query)."""
    if not datastream_ids:
        return {}
    query = (
        select(STREAMS.c.datastream_id, func.sum(STREAMS.c.total), func.count())
        .where(
            STREAMS.c.datastream_id.in_(list(datastream_ids)),
            STREAMS.c.step == "day",
            STREAMS.c.bucket >= start,
            STREAMS.c.bucket < end,
        )
        .group_by(STREAMS.c.datastream_id)
    )
    return {int(ident): Usage(float(total), int(days)) for ident, total, days in (await session.execute(query)).all()}


async def latest_day(session: AsyncSession, datastream_ids: Sequence[int]) -> datetime | None:
    """The last UTC day with readings among these Datastreams."""
    if not datastream_ids:
        return None
    query = select(func.max(STREAMS.c.bucket)).where(
        STREAMS.c.datastream_id.in_(list(datastream_ids)), STREAMS.c.step == "day"
    )
    latest: datetime | None = (await session.execute(query)).scalar()
    return latest


async def period_degree_days(
    session: AsyncSession, temperature_ids: Sequence[int], start: datetime, end: datetime
) -> dict[int, float]:
    """Per outdoor-temperature Datastream: its heating degree-days over [start, end), from its daily means, scaled
    to the whole period when days are missing; left out with readings on under `COVERAGE` of the days."""
    if not temperature_ids:
        return {}
    query = select(STREAMS.c.datastream_id, STREAMS.c.total, STREAMS.c["count"]).where(
        STREAMS.c.datastream_id.in_(list(temperature_ids)),
        STREAMS.c.step == "day",
        STREAMS.c.bucket >= start,
        STREAMS.c.bucket < end,
    )
    means: dict[int, list[float]] = {}
    for ident, total, count in (await session.execute(query)).all():
        if count:
            means.setdefault(int(ident), []).append(total / count)
    days = round((end - start) / DAY)
    return {
        ident: degree_days(values) * days / len(values)
        for ident, values in means.items()
        if len(values) >= COVERAGE * days
    }
