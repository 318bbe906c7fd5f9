"""Carpool test data: the two-square territory of tests/territory (Ouest 2.30–2.31, Est 2.31–2.32, latitudes
48.85–48.86) and trips posted through the service."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.mobility import service as mobility
from citoyen.mobility.models import CarpoolTrip
from citoyen.people.service import Person
from citoyen.territory.service import TerritoryIndexCache

# A start in Ouest, an end in Est, about 1.2 km apart.
HOME = (2.3020, 48.8520)
WORK = (2.3180, 48.8580)
WEEKDAYS = frozenset(range(5))


def place(lon: float, lat: float) -> mobility.PlaceInput:
    return mobility.PlaceInput(lon, lat)


async def post(
    session: AsyncSession,
    person: Person,
    kind: str = "seek",
    start: tuple[float, float] = HOME,
    end: tuple[float, float] = WORK,
    window: tuple[int, int] = (7 * 60 + 30, 8 * 60 + 15),
    weekdays: frozenset[int] = WEEKDAYS,
    on_date: date | None = None,
    seats: int = 1,
    now: datetime | None = None,
) -> CarpoolTrip:
    data = mobility.TripInput(
        kind=kind,
        start=place(*start),
        end=place(*end),
        window_start=window[0],
        window_end=window[1],
        seats=seats,
        weekdays=frozenset() if on_date else weekdays,
        on_date=on_date,
    )
    return await mobility.post_trip(session, TerritoryIndexCache(), person, data, now=now)
