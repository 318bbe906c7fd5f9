"""The carpool trips' neighbourhood indicator: trips posted per start quartier and week, pushed to indicators
(`indicators.service.replace_area_counts`) by housekeeping. A quartier's week under `MIN_COUNT` trips is left out,
as in the open data. Like `flows.py`, it reaches indicators, so the domain's public front does not import it (the
app registers its job)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.housekeeping import Housekeeping
from citoyen.indicators import service as indicators
from citoyen.mobility.aggregates import MIN_COUNT
from citoyen.mobility.models import CarpoolTrip, TripStatus
from citoyen.mobility.trips import city_zone

QUANTITY = "carpool"  # indicators.definitions.CARPOOL: the indicator "mobility-carpool" reads it


async def weekly_counts(session: AsyncSession, min_count: int = MIN_COUNT) -> dict[tuple[int, datetime], float]:
    """Trips posted (withdrawn ones left out) per start quartier and local week, keyed by the week's Monday as a
    UTC day; weeks under `min_count` trips in a quartier are left out."""
    counts: dict[tuple[int, datetime], int] = defaultdict(int)
    query = select(CarpoolTrip.from_neighbourhood_id, CarpoolTrip.created_at).where(
        CarpoolTrip.status != TripStatus.WITHDRAWN.value, CarpoolTrip.from_neighbourhood_id.is_not(None)
    )
    for neighbourhood_id, created_at in (await session.execute(query)).all():
        if neighbourhood_id is None:
            continue
        local = created_at.astimezone(city_zone()).date()
        monday = local - timedelta(days=local.weekday())
        counts[(int(neighbourhood_id), datetime.combine(monday, time(0), tzinfo=UTC))] += 1
    return {key: float(count) for key, count in counts.items() if count >= min_count}


async def _indicator_job(session: AsyncSession, now: datetime) -> int:
    return await indicators.replace_area_counts(session, QUANTITY, await weekly_counts(session))


def register_housekeeping(housekeeping: Housekeeping) -> None:
    """The weekly carpool counts per quartier are written anew on every housekeeping round."""
    housekeeping.add("mobility: carpool trips per quartier and week, for the indicators", _indicator_job)
