"""Flows in the city: the counters (SensorThings Datastreams of mobility Things: bicycles, pedestrians…) read
through sensing's and indicators' services (the rollups' hourly and daily buckets, never their tables), and the
origin–destination flows of carpool trips between neighbourhoods (only pairs of at least `MIN_COUNT` trips).

Hours are the city's local hours (a typical weekday's 8 o'clock is 8 o'clock in Paris, summer and winter)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.errors import Kind
from citoyen.i18n import N_, localized
from citoyen.indicators import service as indicators
from citoyen.mobility.aggregates import MIN_COUNT, flows
from citoyen.mobility.errors import CarpoolError
from citoyen.mobility.trips import city_zone
from citoyen.sensing import service as sensing
from citoyen.territory import service as territory

YEAR = timedelta(days=365)
TREND_DAYS = 28


@dataclass(frozen=True)
class Counter:
    datastream_id: int
    name: str
    what: str  # the observed property (e.g. "Passages de vélos")
    unit: str
    lon: float | None
    lat: float | None
    today: float  # the total since local midnight
    # The names in English (empty: as in French), read with `label(locale)` and `measure(locale)`.
    name_en: str = ""
    what_en: str = ""

    def label(self, locale: str) -> str:
        return localized(locale, self.name, self.name_en)

    def measure(self, locale: str) -> str:
        return localized(locale, self.what, self.what_en)


@dataclass(frozen=True)
class Arc:
    from_name: str
    to_name: str
    from_point: tuple[float, float]  # the quartiers' representative points (lon, lat)
    to_point: tuple[float, float]
    trips: int
    simulated: bool


@dataclass(frozen=True)
class Profile:
    """A counter's year: the typical hour of a weekday and of a weekend day (mean per local hour), its daily totals
    over the last year and the same days a year earlier, and the trend of the last 28 days against them."""

    counter: Counter
    weekday: list[float | None]  # 24 local hours
    weekend: list[float | None]
    days: list[str]  # ISO dates (local) of the last year
    totals: list[float | None]
    year_before: list[float | None]
    trend: float | None  # last 28 days against the same 28 days a year earlier (0.12 = +12 %)


def _local_midnight(now: datetime) -> datetime:
    local = now.astimezone(city_zone())
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


async def counters(
    session: AsyncSession, now: datetime | None = None, datastream_ids: list[int] | None = None
) -> list[Counter]:
    """The city's counters (Datastreams of mobility Things that may be aggregated; among `datastream_ids` when
    given), with today's total so far."""
    now = now or utcnow()
    listed = {row["id"]: row for row in await sensing.published_datastreams(session) if row["kind"] == "mobility"}
    wanted = [i for i in listed if datastream_ids is None or i in datastream_ids]
    streams = [stream for stream in await sensing.summed_streams(session, wanted) if stream.kind == "mobility"]
    midnight = _local_midnight(now)
    today: dict[int, float] = defaultdict(float)
    for bucket in await indicators.stream_buckets(
        session, [stream.datastream_id for stream in streams], "hour", midnight, now + timedelta(hours=1)
    ):
        today[bucket.datastream_id] += bucket.total
    return [
        Counter(
            stream.datastream_id,
            str(listed[stream.datastream_id]["name"]),
            stream.observed_property,
            stream.unit_symbol,
            stream.lon,
            stream.lat,
            today[stream.datastream_id],
            str(listed[stream.datastream_id].get("name_en") or ""),
            str(listed[stream.datastream_id].get("observed_property_en") or ""),
        )
        for stream in streams
    ]


def _daily_totals(buckets: list[indicators.Bucket]) -> dict[str, float]:
    """Hourly buckets summed per local day (a UTC day is not a Parisian day)."""
    days: dict[str, float] = defaultdict(float)
    for bucket in buckets:
        days[bucket.start.astimezone(city_zone()).date().isoformat()] += bucket.total
    return days


async def profile(session: AsyncSession, datastream_id: int, now: datetime | None = None) -> Profile:
    """A counter's year profile (see `Profile`); 404 for a Datastream that is no counter. The typical hours come
    from the last year's hourly buckets (in local time); the daily totals from the daily buckets (UTC days)."""
    now = now or utcnow()
    found = await counters(session, now, [datastream_id])
    if not found:
        raise CarpoolError(N_("Unknown counter."), Kind.NOT_FOUND)
    end = _local_midnight(now)
    start = end - YEAR
    sums = {True: [0.0] * 24, False: [0.0] * 24}
    seen = {True: [0] * 24, False: [0] * 24}
    offsets: dict[datetime, timedelta] = {}
    for bucket in await indicators.stream_buckets(session, [datastream_id], "hour", start, end):
        # One time-zone look-up per UTC day (the offset changes at night, outside the counted hours' peaks).
        day = bucket.start.replace(hour=0)
        offset = offsets.get(day)
        if offset is None:
            noon = day.replace(tzinfo=None) + timedelta(hours=12)
            offset = offsets[day] = city_zone().utcoffset(noon) or timedelta(0)
        local = bucket.start + offset
        weekend = local.weekday() >= 5
        sums[weekend][local.hour] += bucket.total
        seen[weekend][local.hour] += 1
    typical = {
        weekend: [sums[weekend][hour] / seen[weekend][hour] if seen[weekend][hour] else None for hour in range(24)]
        for weekend in (True, False)
    }
    daily_start = start.replace(hour=0, minute=0) - YEAR
    daily = {
        bucket.start.date().isoformat(): bucket.total
        for bucket in await indicators.stream_buckets(session, [datastream_id], "day", daily_start, end)
    }
    days = [(start + timedelta(days=offset)).date() for offset in range(365)]
    totals = [daily.get(day.isoformat()) for day in days]
    year_before = [daily.get((day - YEAR).isoformat()) for day in days]
    last = [(a, b) for a, b in zip(totals[-TREND_DAYS:], year_before[-TREND_DAYS:], strict=True) if a and b]
    trend = None
    if len(last) >= TREND_DAYS // 2:
        before = sum(b for _, b in last)
        trend = sum(a for a, _ in last) / before - 1 if before else None
    return Profile(
        found[0], typical[False], typical[True], [day.isoformat() for day in days], totals, year_before, trend
    )


class ProfileCache:
    """The app's counters' profiles of the current local day (`app.state.counter_profiles`): a profile covers the
    days before today, which do not change during the day, so it is computed once a day per counter; only
    today's total is read again (one range of the rollups' key). Readings arriving late for a past day, and a
    counter taken down, show the next day."""

    def __init__(self) -> None:
        self._profiles: dict[tuple[int, str], Profile] = {}

    async def get(self, session: AsyncSession, datastream_id: int, now: datetime | None = None) -> Profile:
        now = now or utcnow()
        day = now.astimezone(city_zone()).date().isoformat()
        cached = self._profiles.get((datastream_id, day))
        if cached is None:
            cached = await profile(session, datastream_id, now)
            # Yesterday's profiles go; a dict replaced whole, so a concurrent reader never sees it half-pruned.
            self._profiles = {key: value for key, value in self._profiles.items() if key[1] == day}
            self._profiles[(datastream_id, day)] = cached
            return cached
        hours = await indicators.stream_buckets(
            session, [datastream_id], "hour", _local_midnight(now), now + timedelta(hours=1)
        )
        return replace(cached, counter=replace(cached.counter, today=sum(bucket.total for bucket in hours)))


async def comparison(
    session: AsyncSession, now: datetime | None = None, days: int = 90, locale: str = "fr"
) -> dict[str, list[object]]:
    """Every counter's daily totals over the last `days` local days, for one chart: {"days": [...], "<name>": [...]}
    (the names in `locale`)."""
    now = now or utcnow()
    found = await counters(session, now)
    end = _local_midnight(now)
    start = end - timedelta(days=days)
    hours = await indicators.stream_buckets(session, [item.datastream_id for item in found], "hour", start, end)
    by_stream: dict[int, list[indicators.Bucket]] = defaultdict(list)
    for bucket in hours:
        by_stream[bucket.datastream_id].append(bucket)
    dates = [(start + timedelta(days=offset)).astimezone(city_zone()).date().isoformat() for offset in range(days)]
    chart: dict[str, list[object]] = {"days": list(dates)}
    for item in found:
        daily = _daily_totals(by_stream[item.datastream_id])
        chart[item.label(locale)] = [daily.get(day) for day in dates]
    return chart


async def arcs(session: AsyncSession, cache: territory.TerritoryIndexCache) -> list[Arc]:
    """Carpool trips between neighbourhoods as arcs (pairs of at least `MIN_COUNT` trips only)."""
    pairs = await flows(session, min_count=MIN_COUNT)
    if not pairs:
        return []
    names = await territory.neighbourhood_names(session, cache)
    points = {
        quartier.id: (quartier.centroid_lon, quartier.centroid_lat)
        for quartier in await territory.list_neighbourhoods(session)
    }
    return [
        Arc(
            names.get(pair.from_neighbourhood_id, ""),
            names.get(pair.to_neighbourhood_id, ""),
            points[pair.from_neighbourhood_id],
            points[pair.to_neighbourhood_id],
            pair.trips,
            pair.simulated,
        )
        for pair in pairs
        if pair.from_neighbourhood_id in points and pair.to_neighbourhood_id in points
    ]
