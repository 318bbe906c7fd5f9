"""The indicators' pages as typed views, each built by one call: the city's indicators (latest value, trend,
sparkline, values per quartier for the choropleth) and a quartier's indicators beside the city's."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.indicators.definitions import BY_ID, INDICATORS, REPORTS, Indicator
from citoyen.indicators.homes import HomesTable, homes_table
from citoyen.indicators.series import (
    DAY,
    daily_by_neighbourhood,
    first_day,
    latest_day,
    latest_days,
    per_neighbourhood,
    totals_by_prefix,
    totals_by_prefix_everywhere,
    truncate,
    values,
)
from citoyen.indicators.service import get_neighbourhood
from citoyen.reports import service as reports
from citoyen.territory import service as territory

SPARK_DAYS = 30
CLOSE_DAYS = 90
WEEK = timedelta(days=7)
# Comparable weeks of earlier years start 52 weeks earlier, so they hold the same weekdays.
YEAR = timedelta(weeks=52)
YEARS_BACK = 5


@dataclass(frozen=True, slots=True)
class Trend:
    """This week (the 7 days up to the latest day with data) against the same weeks of earlier years (their mean)
    when there is data for them, else against the week before."""

    basis: Literal["years", "week"]
    current: float
    before: float
    years: int

    @property
    def change_percent(self) -> float | None:
        return None if self.before == 0 else (self.current - self.before) / abs(self.before) * 100


@dataclass(frozen=True, slots=True)
class Figure:
    indicator: Indicator
    latest_day: datetime
    latest_value: float
    trend: Trend | None
    # The last SPARK_DAYS daily values, oldest first (None: no data that day).
    sparkline: tuple[float | None, ...]
    # A count's latest week per 1,000 residents (None: no population known there).
    per_thousand: float | None = None


@dataclass(frozen=True, slots=True)
class CityPage:
    figures: tuple[Figure, ...]
    # Per indicator id: {quartier id: value over the latest week}, for the choropleth.
    choropleth: dict[str, dict[int, float]]
    neighbourhood_names: dict[int, str]
    # Water and energy use in homes per quartier (per dwelling), from the buildings' meters; None without any.
    homes: HomesTable | None = None
    # The quartiers' population the per-resident figures divide by (None: not imported).
    population: territory.Populations | None = None


@dataclass(frozen=True, slots=True)
class QuartierFigure:
    indicator: Indicator
    quartier: Figure | None
    city: Figure


@dataclass(frozen=True, slots=True)
class ClosingTime:
    """Reports of a category (None: all) closed over the period: their number and median hours from filing to
    closing, in the quartier and in the city."""

    name: str | None
    name_en: str | None
    closed: int
    median_hours: float
    city_closed: int
    city_median_hours: float | None


@dataclass(frozen=True, slots=True)
class QuartierPage:
    neighbourhood_id: int
    name: str
    figures: tuple[QuartierFigure, ...]
    # Mobility: the mean bicycles per hour of the day (UTC) over the last 4 weeks, and weekday / weekend means.
    bicycle_profile: tuple[float | None, ...]
    weekday_mean: float | None
    weekend_mean: float | None
    # Reports filed over the 90 days up to the latest report: (category name, English name, count).
    report_categories: tuple[tuple[str, str, int], ...]
    # The median time to close a report per category over the last CLOSE_DAYS, the quartier's beside the city's.
    closing: tuple[ClosingTime, ...] = ()


def _week_value(indicator: Indicator, daily: dict[datetime, float]) -> float | None:
    if not daily:
        return None
    total = sum(daily.values())
    return total if indicator.aggregation == "sum" else total / len(daily)


async def _week(
    session: AsyncSession, indicator: Indicator, end: datetime, neighbourhood_id: int | None
) -> float | None:
    return _week_value(indicator, await values(session, indicator, "day", end - WEEK, end, neighbourhood_id))


def _per_thousand(
    indicator: Indicator, week: float | None, population: territory.Populations | None, neighbourhood_id: int | None
) -> float | None:
    """A count's week per 1,000 residents: of the quartier, or of the city when every quartier's is known."""
    if not indicator.per_thousand or week is None or population is None:
        return None
    if neighbourhood_id is None:
        residents = sum(population.residents.values()) if population.complete else 0
    else:
        residents = population.residents.get(neighbourhood_id, 0)
    return week / residents * 1000 if residents else None


def _figure_of(
    indicator: Indicator,
    latest: datetime,
    daily: dict[datetime, float],
    past_weeks: list[float | None],
    population: territory.Populations | None,
    neighbourhood_id: int | None,
) -> Figure | None:
    """The figure from what was read: the latest day with data, the daily values of the SPARK_DAYS up to it, and
    the values of the same week of earlier years (one per year back, None where there was no data)."""
    end = latest + DAY
    if latest not in daily:
        # A per-resident figure: none without the quartier's population, and a per-degree-day one skips the
        # days without heating.
        if not daily:
            return None
        latest = max(daily)
    spark = tuple(daily.get(end - (SPARK_DAYS - number) * DAY) for number in range(SPARK_DAYS))
    current = _week_value(indicator, {day: value for day, value in daily.items() if day >= end - WEEK})
    trend = None
    if current is not None:
        past = [value for value in past_weeks if value is not None]
        if past:
            trend = Trend("years", current, sum(past) / len(past), len(past))
        else:
            before = _week_value(indicator, {day: v for day, v in daily.items() if end - 2 * WEEK <= day < end - WEEK})
            if before is not None:
                trend = Trend("week", current, before, 0)
    per_thousand = _per_thousand(indicator, current, population, neighbourhood_id)
    return Figure(indicator, latest, daily[latest], trend, spark, per_thousand)


def _years_back(earliest: datetime | None, end: datetime) -> int:
    """How many earlier years have the same week within the data (at most YEARS_BACK)."""
    years = 0
    while years < YEARS_BACK and earliest is not None and earliest <= end - WEEK - (years + 1) * YEAR:
        years += 1
    return years


async def figure(
    session: AsyncSession,
    indicator: Indicator,
    neighbourhood_id: int | None = None,
    population: territory.Populations | None = None,
) -> Figure | None:
    """The indicator's latest value, trend and sparkline (None when it has no data there); a count's week per
    1,000 residents with the quartiers' `population`."""
    latest = await latest_day(session, indicator, neighbourhood_id)
    if latest is None:
        return None
    end = latest + DAY
    daily = await values(session, indicator, "day", end - SPARK_DAYS * DAY, end, neighbourhood_id)
    past: list[float | None] = []
    if daily:
        for years in range(1, _years_back(await first_day(session, indicator), end) + 1):
            past.append(await _week(session, indicator, end - years * YEAR, neighbourhood_id))
    return _figure_of(indicator, latest, daily, past, population, neighbourhood_id)


async def quartier_figures(
    session: AsyncSession, indicator: Indicator, population: territory.Populations | None
) -> dict[int, Figure]:
    """`figure` of every quartier with data at once: the same values, read in a few queries for all of them (the
    latest days, the daily values over the span of their sparklines, the weeks of each earlier year)."""
    latests = await latest_days(session, indicator)
    if not latests:
        return {}
    ends = {ident: latest + DAY for ident, latest in latests.items()}
    low, high = min(ends.values()), max(ends.values())
    daily = await daily_by_neighbourhood(session, indicator, low - SPARK_DAYS * DAY, high)
    earliest = await first_day(session, indicator)
    years = max(_years_back(earliest, end) for end in ends.values())
    earlier = [
        await daily_by_neighbourhood(session, indicator, low - number * YEAR - WEEK, high - number * YEAR)
        for number in range(1, years + 1)
    ]
    figures = {}
    for ident, end in ends.items():
        own = {day: value for day, value in daily.get(ident, {}).items() if end - SPARK_DAYS * DAY <= day < end}
        past: list[float | None] = []
        if own:
            for number in range(1, _years_back(earliest, end) + 1):
                then = end - number * YEAR
                week = {d: v for d, v in earlier[number - 1].get(ident, {}).items() if then - WEEK <= d < then}
                past.append(_week_value(indicator, week))
        found = _figure_of(indicator, latests[ident], own, past, population, ident)
        if found is not None:
            figures[ident] = found
    return figures


async def city_page(session: AsyncSession, city: dict[str, Figure] | None = None) -> CityPage:
    """Every indicator with data: its figure (computed here unless given: citoyen.indicators.snapshots) and its
    value per quartier over its latest week."""
    figures = []
    choropleth: dict[str, dict[int, float]] = {}
    population = await territory.populations(session)
    for indicator in INDICATORS:
        found = city.get(indicator.id) if city is not None else await figure(session, indicator, None, population)
        if found is None:
            continue
        figures.append(found)
        end = found.latest_day + DAY
        by_quartier = await per_neighbourhood(session, indicator, end - WEEK, end)
        if indicator.per_thousand and population is not None:
            # Counts are compared per 1,000 residents: a large quartier is not darker for being large.
            by_quartier = {
                ident: value / residents * 1000
                for ident, value in by_quartier.items()
                if (residents := population.residents.get(ident))
            }
        choropleth[indicator.id] = by_quartier
    names = await territory.neighbourhood_names(session)
    return CityPage(tuple(figures), choropleth, names, await homes_table(session), population)


async def quartier_page(
    session: AsyncSession,
    neighbourhood_id: int,
    city: dict[str, Figure] | None = None,
    quartier: dict[str, Figure] | None = None,
    closing: tuple[ClosingTime, ...] | None = None,
    extras: QuartierExtras | None = None,
) -> QuartierPage:
    """A quartier's indicators beside the city's (those the city has data for); 404 for an unknown quartier. The
    city's and the quartier's figures and the closing times are computed here unless given (precomputed:
    citoyen.indicators.snapshots)."""
    neighbourhood = await get_neighbourhood(session, neighbourhood_id)
    figures = []
    population = await territory.populations(session) if city is None or quartier is None else None
    for indicator in INDICATORS:
        city_figure = city.get(indicator.id) if city is not None else await figure(session, indicator, None, population)
        if city_figure is None:
            continue
        if quartier is not None:
            own = quartier.get(indicator.id)
        else:
            own = await figure(session, indicator, neighbourhood_id, population)
        figures.append(QuartierFigure(indicator, own, city_figure))
    if extras is None:
        extras = await quartier_extras(session, neighbourhood_id)
    return QuartierPage(
        neighbourhood_id=neighbourhood.id,
        name=neighbourhood.name,
        figures=tuple(figures),
        bicycle_profile=extras.bicycle_profile,
        weekday_mean=extras.weekday_mean,
        weekend_mean=extras.weekend_mean,
        report_categories=extras.report_categories,
        closing=closing if closing is not None else await closing_times(session, neighbourhood_id),
    )


@dataclass(frozen=True, slots=True)
class QuartierExtras:
    """What a quartier's page shows below its figures: the bicycles' daily profile and the reports per category."""

    bicycle_profile: tuple[float | None, ...] = ()
    weekday_mean: float | None = None
    weekend_mean: float | None = None
    report_categories: tuple[tuple[str, str, int], ...] = ()


async def quartier_extras(
    session: AsyncSession, neighbourhood_id: int, category_names: dict[str, tuple[str, str | None]] | None = None
) -> QuartierExtras:
    profile, weekday, weekend = await _bicycles(session, neighbourhood_id)
    categories = await _report_categories(session, neighbourhood_id, category_names)
    return QuartierExtras(profile, weekday, weekend, categories)


async def category_names(session: AsyncSession) -> dict[str, tuple[str, str | None]]:
    return {
        category.code: (category.name, category.name_en) for category in await reports.list_categories(session, True)
    }


async def closing_times(
    session: AsyncSession, neighbourhood_id: int, now: datetime | None = None
) -> tuple[ClosingTime, ...]:
    """The median time to close the quartier's reports, all categories and per category (most closed first), over
    the CLOSE_DAYS complete days before today, beside the city's; duplicates are not counted."""
    return (await all_closing_times(session, now)).get(neighbourhood_id, ())


async def all_closing_times(session: AsyncSession, now: datetime | None = None) -> dict[int, tuple[ClosingTime, ...]]:
    """`closing_times` of every quartier with reports closed in the period, from one reading of them."""
    end = truncate(now or datetime.now(UTC), "day")
    rows = await reports.closing_times(session, end - CLOSE_DAYS * DAY, end)
    city: dict[str | None, list[float]] = {}
    quartiers: dict[int, dict[str | None, list[float]]] = {}
    names: dict[str, tuple[str, str]] = {}
    for quartier, code, label, label_en, taken in rows:
        names[code] = (label, label_en)
        for key in (code, None):
            city.setdefault(key, []).append(taken)
            if quartier is not None:
                quartiers.setdefault(quartier, {}).setdefault(key, []).append(taken)
    result = {}
    for quartier, here in quartiers.items():
        found = []
        for key, hours in sorted(here.items(), key=lambda item: (item[0] is not None, -len(item[1]), item[0] or "")):
            name, name_en = names[key] if key is not None else (None, None)
            others = city.get(key, [])
            found.append(
                ClosingTime(name, name_en, len(hours), statistics.median(hours), len(others), statistics.median(others))
            )
        result[quartier] = tuple(found)
    return result


def _profile(
    hourly: dict[datetime, float], daily: dict[datetime, float]
) -> tuple[tuple[float | None, ...], float | None, float | None]:
    by_hour: dict[int, list[float]] = {}
    for moment, value in hourly.items():
        by_hour.setdefault(moment.hour, []).append(value)
    profile = tuple(sum(v) / len(v) if (v := by_hour.get(hour)) else None for hour in range(24))
    weekdays = [value for day, value in daily.items() if day.weekday() < 5]
    weekends = [value for day, value in daily.items() if day.weekday() >= 5]
    return (
        profile,
        sum(weekdays) / len(weekdays) if weekdays else None,
        sum(weekends) / len(weekends) if weekends else None,
    )


async def _bicycles(
    session: AsyncSession, neighbourhood_id: int
) -> tuple[tuple[float | None, ...], float | None, float | None]:
    indicator = BY_ID["mobility-bicycles"]
    latest = await latest_day(session, indicator, neighbourhood_id)
    if latest is None:
        return (), None, None
    end = latest + DAY
    start = end - 4 * WEEK
    hourly = await values(session, indicator, "hour", start, end, neighbourhood_id)
    daily = await values(session, indicator, "day", start, end, neighbourhood_id)
    return _profile(hourly, daily)


async def all_extras(
    session: AsyncSession, names: dict[str, tuple[str, str | None]] | None = None
) -> dict[int, QuartierExtras]:
    """`quartier_extras` of every quartier that has bicycles or reports, in a few queries for all of them (a
    quartier left out has none of either)."""
    bicycles = BY_ID["mobility-bicycles"]
    profiles: dict[int, tuple[tuple[float | None, ...], float | None, float | None]] = {}
    ends = {ident: latest + DAY for ident, latest in (await latest_days(session, bicycles)).items()}
    if ends:
        low, high = min(ends.values()) - 4 * WEEK, max(ends.values())
        hourly = await daily_by_neighbourhood(session, bicycles, low, high, step="hour")
        daily = await daily_by_neighbourhood(session, bicycles, low, high)
        for ident, end in ends.items():
            start = end - 4 * WEEK
            profiles[ident] = _profile(
                {moment: value for moment, value in hourly.get(ident, {}).items() if start <= moment < end},
                {day: value for day, value in daily.get(ident, {}).items() if start <= day < end},
            )
    categories: dict[int, tuple[tuple[str, str, int], ...]] = {}
    ends = {ident: latest + DAY for ident, latest in (await latest_days(session, BY_ID["reports-filed"])).items()}
    if ends:
        if names is None:
            names = await category_names(session)
        totals: dict[int, dict[str, float]] = {}
        low, high = min(ends.values()) - 90 * DAY, max(ends.values())
        for ident, quantity, bucket, amount in await totals_by_prefix_everywhere(session, f"{REPORTS}:", low, high):
            last = ends.get(ident)
            if last is not None and last - 90 * DAY <= bucket < last:
                totals.setdefault(ident, {})[quantity] = totals.get(ident, {}).get(quantity, 0.0) + amount
        for ident in ends:
            found = sorted(totals.get(ident, {}).items(), key=lambda item: (-item[1], item[0]))
            categories[ident] = _category_rows(found, names)
    return {
        ident: QuartierExtras(*profiles.get(ident, ((), None, None)), categories.get(ident, ()))
        for ident in profiles.keys() | categories.keys()
    }


def _category_rows(
    found: list[tuple[str, float]], names: dict[str, tuple[str, str | None]]
) -> tuple[tuple[str, str, int], ...]:
    rows = []
    for quantity, total in found:
        code = quantity.split(":", 1)[1]
        name, name_en = names.get(code, (code, code))
        rows.append((name, name_en or name, int(total)))
    return tuple(rows)


async def _report_categories(
    session: AsyncSession, neighbourhood_id: int, names: dict[str, tuple[str, str | None]] | None = None
) -> tuple[tuple[str, str, int], ...]:
    latest = await latest_day(session, BY_ID["reports-filed"], neighbourhood_id)
    if latest is None:
        return ()
    end = latest + DAY
    found = await totals_by_prefix(session, neighbourhood_id, f"{REPORTS}:", end - 90 * DAY, end)
    if names is None:
        names = await category_names(session)
    return _category_rows(found, names)
