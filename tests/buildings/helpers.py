"""Small helpers for the buildings' tests: buildings with their daily consumption in the indicators' daily
rollups (what eco-feedback reads), made without sensors where a test is about the comparison alone."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.buildings import service as buildings
from citoyen.indicators.models import DatastreamRollup
from citoyen.sensing import service as sensing
from citoyen.territory.service import TerritoryIndexCache

DAY = timedelta(days=1)
LAST_DAY = datetime(2026, 11, 30, tzinfo=UTC)
_streams = itertools.count(9_000_001)
_things = itertools.count(8_000_001)


def sta_context() -> sensing.Context:
    """What the demo and an import pass to sensing's service: staff access, the territory to place Things."""
    return sensing.Context(
        access=sensing.Access(is_staff=True), base_url="http://testserver", territory=TerritoryIndexCache()
    )


def daily_rollups(session: AsyncSession, datastream_id: int, value: float, days: int = 56) -> None:
    """One reading a day of `value` over the `days` up to LAST_DAY, as the daily rollup holds them."""
    for number in range(days):
        bucket = LAST_DAY - number * DAY
        session.add(
            DatastreamRollup(
                datastream_id=datastream_id,
                step="day",
                bucket=bucket,
                count=1,
                total=value,
                minimum=value,
                maximum=value,
            )
        )


async def add_building(
    session: AsyncSession,
    *,
    heating_kwh: float | None = 300.0,
    water_m3: float | None = 5.0,
    floor_area_m2: int = 1000,
    year_built: int = 1960,
    temperature: int | None = None,
    use: buildings.BuildingUse = buildings.BuildingUse.HOUSING,
    neighbourhood_id: int | None = None,
) -> buildings.Building:
    """A block of flats whose meters read `heating_kwh` and `water_m3` a day (None: no such meter)."""
    heating = next(_streams) if heating_kwh is not None else None
    water = next(_streams) if water_m3 is not None else None
    building = buildings.Building(
        thing_id=next(_things),
        name=f"Immeuble {heating}",
        use=use.value,
        floor_area_m2=floor_area_m2,
        year_built=year_built,
        dwellings=20,
        heating_datastream_id=heating,
        water_datastream_id=water,
        temperature_datastream_id=temperature,
        neighbourhood_id=neighbourhood_id,
        simulated=True,
    )
    session.add(building)
    if heating is not None and heating_kwh is not None:
        daily_rollups(session, heating, heating_kwh)
    if water is not None and water_m3 is not None:
        daily_rollups(session, water, water_m3)
    await session.flush()
    return building


async def weather(session: AsyncSession, mean_temperature: float = 8.0) -> int:
    """An outdoor temperature Datastream (its id) whose daily mean is `mean_temperature` (10 degree-days)."""
    ident = next(_streams)
    daily_rollups(session, ident, mean_temperature * 24)  # 24 hourly readings summing to 24 × the mean
    for row in session.new:
        if isinstance(row, DatastreamRollup) and row.datastream_id == ident:
            row.count = 24
    await session.flush()
    return ident
