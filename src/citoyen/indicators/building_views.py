"""A building's eco-feedback page as one typed view: its attributes, and per meter its consumption normalised
(`ecofeedback`), its trend, and the aggregates of similar buildings.

Who sees what: anyone sees a building's attributes and, per meter, the aggregates of at least 10 similar
buildings (how many, their median, the efficient quarter's level); only the building's confirmed residents and
staff see the building's own figures (its normalised consumption, percentile, trend and the nudge): a small
building's consumption is close to a household's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.buildings import service as buildings
from citoyen.indicators.ecofeedback import (
    DAY,
    MINIMUM_PEERS,
    PERIOD_DAYS,
    Comparison,
    change,
    compare,
    latest_day,
    normalised,
    period_degree_days,
    usages,
)
from citoyen.people.service import Person
from citoyen.territory import service as territory

Reason = str  # "no_readings", "no_degree_days", "too_few"


@dataclass(frozen=True, slots=True)
class MeterView:
    meter: str
    # The building's own figures (None when the reader may not see them or there is no value).
    own: float | None
    previous: float | None
    trend: float | None
    # Similar buildings with enough readings, and the aggregates over them (None below MINIMUM_PEERS).
    peers: int
    comparison: Comparison | None
    # Why there is no comparison (or no own value), None when all is there.
    reason: Reason | None
    # Relative to the median: "above", "below" or "efficient" (in the efficient quarter); None if not shown.
    nudge: str | None


@dataclass(frozen=True, slots=True)
class BuildingPage:
    building: buildings.Building
    neighbourhood_name: str | None
    age_band: tuple[int | None, int | None]
    similar: int
    period_start: datetime | None
    period_end: datetime | None  # exclusive
    period_last: datetime | None  # its last day
    degree_days: float | None
    meters: tuple[MeterView, ...]
    sees_own: bool
    link_status: str | None
    minimum_peers: int = MINIMUM_PEERS


def _degrees(building: buildings.Building, degree_days: dict[int, float]) -> float | None:
    ident = building.temperature_datastream_id
    return degree_days.get(ident) if ident is not None else None


def _nudge(own: float | None, comparison: Comparison | None) -> str | None:
    if own is None or comparison is None:
        return None
    if own <= comparison.efficient:
        return "efficient"
    return "above" if own > comparison.median else "below"


async def building_page(session: AsyncSession, building_id: int, viewer: Person | None) -> BuildingPage:
    """The building's page as `viewer` may see it; 404 for an unknown building."""
    building = await buildings.get_building(session, building_id)
    link = await buildings.link_of(session, building_id, viewer.id) if viewer is not None else None
    sees_own = viewer is not None and (
        viewer.is_staff or (link is not None and link.status == buildings.LinkStatus.CONFIRMED.value)
    )
    similar = await buildings.similar_buildings(session, building)
    own_streams = [ident for meter in buildings.METERS if (ident := buildings.meter_stream(building, meter))]
    latest = await latest_day(session, own_streams)
    neighbourhood = (
        await territory.get_neighbourhood(session, building.neighbourhood_id) if building.neighbourhood_id else None
    )
    start = end = None
    meters: list[MeterView] = []
    heating_degree_days: float | None = None
    if latest is not None:
        end = latest + DAY
        start = end - PERIOD_DAYS * DAY
        before = start - PERIOD_DAYS * DAY
        temperatures = sorted(
            {b.temperature_datastream_id for b in [building, *similar] if b.temperature_datastream_id is not None}
        )
        now_dd = await period_degree_days(session, temperatures, start, end)
        before_dd = await period_degree_days(session, temperatures, before, start)
        if building.temperature_datastream_id is not None:
            heating_degree_days = now_dd.get(building.temperature_datastream_id)
        for meter in buildings.METERS:
            own_stream = buildings.meter_stream(building, meter)
            if own_stream is None:
                continue
            peers = [(b, stream) for b in similar if (stream := buildings.meter_stream(b, meter)) is not None]
            used = await usages(session, [own_stream, *(stream for _, stream in peers)], start, end)
            previous_use = await usages(session, [own_stream], before, start)
            area = building.floor_area_m2
            own = normalised(meter, used.get(own_stream), area, PERIOD_DAYS, _degrees(building, now_dd))
            previous = normalised(meter, previous_use.get(own_stream), area, PERIOD_DAYS, _degrees(building, before_dd))
            peer_values = [
                value
                for peer, stream in peers
                if (
                    value := normalised(
                        meter, used.get(stream), peer.floor_area_m2, PERIOD_DAYS, _degrees(peer, now_dd)
                    )
                )
                is not None
            ]
            reason: Reason | None = None
            if own is None:
                reason = "no_degree_days" if meter == "heating" and heating_degree_days is None else "no_readings"
            if len(peer_values) < MINIMUM_PEERS:
                reason = "too_few"
            if not sees_own:
                # The peers' aggregates alone, without this building's own value.
                meters.append(
                    MeterView(meter, None, None, None, len(peer_values), compare(None, peer_values), reason, None)
                )
                continue
            comparison = compare(own, peer_values)
            meters.append(
                MeterView(
                    meter,
                    own,
                    previous,
                    change(own, previous),
                    len(peer_values),
                    comparison,
                    reason,
                    _nudge(own, comparison),
                )
            )
    return BuildingPage(
        building=building,
        neighbourhood_name=neighbourhood.name if neighbourhood is not None else None,
        age_band=buildings.age_band(building.year_built),
        similar=len(similar),
        period_start=start,
        period_end=end,
        period_last=latest,
        degree_days=heating_degree_days,
        meters=tuple(meters),
        sees_own=sees_own,
        link_status=link.status if link is not None else None,
    )
