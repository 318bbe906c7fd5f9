"""Indicator changes: a quartier's weekly figure for an indicator that left its usual range, told to the other
domains (the quartier's feed) with the `IndicatorChanged` event.

The rule, judged once per week on the housekeeping round, never on a request:

- the week judged is the last complete week (Monday to Sunday, UTC) that ended at least `SETTLE` ago (late readings
  and the civic counts' refresh have come in);
- its figure is compared with the `WEEKS` weeks before it, of which at least `LEAST_WEEKS` must have a figure;
- it is a change when the figure is outside the range of those weeks (below their lowest or above their highest)
  **and** at least `LEAST_CHANGE` (25 %) away from their mean; for a count, the week or the mean must also reach
  `LEAST_COUNT` (from 1 report to 2 is not news);
- at most one change per indicator, quartier and week (a unique key), and a week is judged once
  (`indicator_weeks_judged`).

A week is what the indicator's weekly value is (`series.values` at the week step): the sum of the days for a count,
the mean of the readings for a concentration, the mean of the days for a per-resident figure. The ATMO index (a
class, whose bad days the early warning watches) and the supports (counted on each proposal's publication day, not
when given) are not judged. A count of reports or proposals is 0 in a week without any (after the first one in the
city); a sensor's count is judged only on weeks with readings every day (a counter down for three days is not a
fall in cycling).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.errors import Kind
from citoyen.events import IndicatorChanged, announce
from citoyen.i18n import N_
from citoyen.indicators.definitions import BY_ID, CITY_APART, INDICATORS, PROPOSALS, REPORTS, Indicator
from citoyen.indicators.models import IndicatorChange, IndicatorWeekJudged
from citoyen.indicators.series import (
    IndicatorError,
    _mean_per_step,
    _plain,
    _rows,
    first_day,
    resident_days,
    truncate,
)

WEEK = timedelta(days=7)
WEEKS = 8
LEAST_WEEKS = 6
LEAST_CHANGE = 0.25
LEAST_COUNT = 5
SETTLE = timedelta(hours=6)
# What is judged: every indicator but the ATMO index and the supports.
JUDGED: tuple[Indicator, ...] = tuple(
    indicator
    for indicator in INDICATORS
    if indicator.aggregation != "atmo" and indicator.id != "participation-supports"
)
# Counts that are complete where they have no row (no report that week: 0), once the city has any.
_ZERO_WHEN_ABSENT = frozenset({REPORTS, PROPOSALS})


@dataclass(frozen=True, slots=True)
class Judged:
    """A week's figure beside the weeks before it."""

    value: float
    weeks: int
    mean: float
    low: float
    high: float

    @property
    def ratio(self) -> float:
        """The relative change from the mean (+0.35: 35 % above)."""
        return (self.value - self.mean) / self.mean


@dataclass(frozen=True, slots=True)
class Change:
    """A recorded change, as other domains read it (`get_change`)."""

    id: int
    indicator: Indicator
    neighbourhood_id: int
    week: datetime
    judged: Judged
    judged_at: datetime
    simulated: bool


def judged_week(now: datetime) -> datetime:
    """The Monday of the last complete week that ended at least `SETTLE` before `now`."""
    return truncate(now - SETTLE, "week") - WEEK


def judge(
    weekly: dict[datetime, float], week: datetime, *, count: bool, zero_from: datetime | None = None
) -> Judged | None:
    """Whether `week`'s figure left the range of the `WEEKS` weeks before it (the rule above); `zero_from`: the
    first week from which a week without a figure counts 0 (None: it has no figure)."""

    def figure(moment: datetime) -> float | None:
        found = weekly.get(moment)
        if found is None and zero_from is not None and moment >= zero_from:
            return 0.0
        return found

    value = figure(week)
    before = [known for k in range(1, WEEKS + 1) if (known := figure(week - WEEK * k)) is not None]
    if value is None or len(before) < LEAST_WEEKS:
        return None
    low, high, mean = min(before), max(before), sum(before) / len(before)
    if low <= value <= high or mean <= 0:
        return None
    if abs(value - mean) / mean < LEAST_CHANGE:
        return None
    if count and max(value, mean) < LEAST_COUNT:
        return None
    return Judged(value=value, weeks=len(before), mean=mean, low=low, high=high)


async def weekly_by_neighbourhood(
    session: AsyncSession, indicator: Indicator, start: datetime, end: datetime
) -> dict[int, dict[datetime, float]]:
    """The indicator's weekly figure per quartier with data, over the whole weeks of [start, end)."""
    if indicator.per_resident:
        by_quartier = await resident_days(session, indicator, start, end, None)
        return {
            ident: _mean_per_step(daily, "week")
            for ident, daily in by_quartier.items()
            if ident is not None and ident != CITY_APART and daily
        }
    rows = await _rows(session, indicator.quantities, "day", start, end, None, by_neighbourhood=True)
    grouped: dict[int, list[Any]] = {}
    for row in rows:
        if row[0] != CITY_APART:  # the city's own weekly figure (a median, people counted once) is no quartier
            grouped.setdefault(row[0], []).append(row)
    whole_days = indicator.from_sensors and indicator.aggregation == "sum"
    result: dict[int, dict[datetime, float]] = {}
    for neighbourhood_id, members in grouped.items():
        weekly = _plain(indicator, members, "week")
        if whole_days:
            days: dict[datetime, set[datetime]] = {}
            for row in members:
                days.setdefault(truncate(row[2], "week"), set()).add(row[2])
            weekly = {moment: value for moment, value in weekly.items() if len(days.get(moment, ())) == 7}
        result[neighbourhood_id] = weekly
    return result


async def detect_changes(session: AsyncSession, now: datetime, *, simulated: bool = False) -> int:
    """Judges the last settled week, once: records each change and announces `IndicatorChanged`; returns how many.
    `simulated`: the data are the demonstration city's (the feed labels its items so)."""
    week = judged_week(now)
    if await session.get(IndicatorWeekJudged, week) is not None:
        return 0
    marker = IndicatorWeekJudged(week=week, judged_at=now)
    session.add(marker)
    await session.flush()
    found = 0
    for indicator in JUDGED:
        first = await first_day(session, indicator)
        if first is None:
            continue
        zero_from = truncate(first, "week") if set(indicator.quantities) <= _ZERO_WHEN_ABSENT else None
        weekly = await weekly_by_neighbourhood(session, indicator, week - WEEK * WEEKS, week + WEEK)
        for neighbourhood_id, figures in sorted(weekly.items()):
            judged = judge(figures, week, count=indicator.aggregation == "sum", zero_from=zero_from)
            if judged is None:
                continue
            change = IndicatorChange(
                indicator_id=indicator.id,
                neighbourhood_id=neighbourhood_id,
                week=week,
                value=judged.value,
                weeks=judged.weeks,
                mean=judged.mean,
                low=judged.low,
                high=judged.high,
                judged_at=now,
                simulated=simulated,
            )
            session.add(change)
            await session.flush()
            await announce(session, IndicatorChanged(change_id=change.id, neighbourhood_id=neighbourhood_id))
            found += 1
    marker.changes = found
    return found


def _change(row: IndicatorChange) -> Change:
    return Change(
        id=row.id,
        indicator=BY_ID[row.indicator_id],
        neighbourhood_id=row.neighbourhood_id,
        week=row.week,
        judged=Judged(value=row.value, weeks=row.weeks, mean=row.mean, low=row.low, high=row.high),
        judged_at=row.judged_at,
        simulated=row.simulated,
    )


async def get_change(session: AsyncSession, change_id: int) -> Change:
    """A recorded change; 404 when there is none."""
    row = await session.get(IndicatorChange, change_id)
    if row is None or row.indicator_id not in BY_ID:
        raise IndicatorError(N_("Unknown indicator change."), Kind.NOT_FOUND, "change")
    return _change(row)
