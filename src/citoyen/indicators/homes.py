"""Water and energy use in homes per quartier (issue 14's water and energy indicators), from the meters of the
blocks of flats (`citoyen.buildings`) and their daily rollups, over the 28 days up to the last day with readings:

- water: m³ per dwelling per day;
- electricity: kWh per dwelling per day;
- heating: kWh per dwelling per heating degree-day (base 18 °C, the building's outdoor temperature).

Per dwelling, not per resident: the meters cover some blocks of flats, not a quartier's residents (the
per-resident indicators read the quartiers' network meters and population). A building counts for a meter with
readings on at least 90 % of the days (scaled to the period, as eco-feedback does); a quartier's figure is shown
only over at least 10 buildings, so that it never tells one building's consumption.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.buildings import service as buildings
from citoyen.indicators.ecofeedback import (
    COVERAGE,
    DAY,
    MINIMUM_PEERS,
    PERIOD_DAYS,
    latest_day,
    period_degree_days,
    usages,
)
from citoyen.territory import service as territory


@dataclass(frozen=True, slots=True)
class HomeUse:
    """One quartier's (or the city's: neighbourhood_id None) use per dwelling; None under 10 buildings."""

    neighbourhood_id: int | None
    buildings: int
    dwellings: int
    water: float | None
    electricity: float | None
    heating: float | None


@dataclass(frozen=True, slots=True)
class HomesTable:
    first_day: datetime
    last_day: datetime
    quartiers: tuple[HomeUse, ...]
    city: HomeUse
    names: dict[int, str]
    simulated: bool
    minimum: int = MINIMUM_PEERS


def _per_dwelling(
    homes: list[buildings.Building], scaled: dict[int, float | None], meter: str
) -> tuple[float | None, int]:
    """The sum of the buildings' scaled use over the dwellings of those counted; None under MINIMUM_PEERS."""
    total = 0.0
    dwellings = 0
    counted = 0
    for home in homes:
        stream = buildings.meter_stream(home, meter)
        value = scaled.get(stream) if stream is not None else None
        if value is None:
            continue
        total += value
        dwellings += home.dwellings
        counted += 1
    if counted < MINIMUM_PEERS or dwellings == 0:
        return None, counted
    return total / dwellings, counted


async def homes_table(session: AsyncSession) -> HomesTable | None:
    """Per quartier and for the city, the homes' water and energy use per dwelling; None without metered homes."""
    homes = [
        b
        for b in await buildings.list_buildings(session)
        if b.use == buildings.BuildingUse.HOUSING.value and b.dwellings > 0 and b.neighbourhood_id is not None
    ]
    streams = {
        meter: [s for b in homes if (s := buildings.meter_stream(b, meter)) is not None] for meter in buildings.METERS
    }
    latest = await latest_day(session, [s for ids in streams.values() for s in ids])
    if latest is None:
        return None
    end = latest + DAY
    start = end - PERIOD_DAYS * DAY
    degree_days = await period_degree_days(
        session,
        sorted({b.temperature_datastream_id for b in homes if b.temperature_datastream_id is not None}),
        start,
        end,
    )
    # Each meter's use over the period, scaled to its whole when a few days are missing (per day, or per
    # degree-day for heating); None when under COVERAGE of the days.
    scaled: dict[str, dict[int, float | None]] = {}
    for meter, ids in streams.items():
        used = await usages(session, ids, start, end)
        values: dict[int, float | None] = {}
        for home in homes:
            stream = buildings.meter_stream(home, meter)
            usage = used.get(stream) if stream is not None else None
            if stream is None or usage is None or usage.days < COVERAGE * PERIOD_DAYS:
                continue
            whole = usage.total * PERIOD_DAYS / usage.days
            if meter == "heating":
                dd = degree_days.get(home.temperature_datastream_id) if home.temperature_datastream_id else None
                values[stream] = whole / dd if dd else None
            else:
                values[stream] = whole / PERIOD_DAYS
        scaled[meter] = values

    def row(neighbourhood_id: int | None, members: list[buildings.Building]) -> HomeUse:
        water, _ = _per_dwelling(members, scaled["water"], "water")
        electricity, _ = _per_dwelling(members, scaled["electricity"], "electricity")
        heating, _ = _per_dwelling(members, scaled["heating"], "heating")
        return HomeUse(neighbourhood_id, len(members), sum(m.dwellings for m in members), water, electricity, heating)

    by_quartier: dict[int, list[buildings.Building]] = {}
    for home in homes:
        assert home.neighbourhood_id is not None
        by_quartier.setdefault(home.neighbourhood_id, []).append(home)
    names = await territory.neighbourhood_names(session)
    quartiers = tuple(
        row(ident, members) for ident, members in sorted(by_quartier.items(), key=lambda item: names.get(item[0], ""))
    )
    return HomesTable(start, latest, quartiers, row(None, homes), names, any(h.simulated for h in homes))
