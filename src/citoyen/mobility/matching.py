"""Matching trips: the other kind (an offer for a seeker, a seeker for an offer), starting and ending within
walking distance, windows overlapping, days overlapping; ranked by the walk added and the departure gap.

The candidates come from one indexed query: the start cell `IN` the walking disk of the searcher's start cell
(19 cells), the end cell `IN` the disk of its end, the window overlapping; days and ranking are decided here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.mobility import cells
from citoyen.mobility.models import CarpoolTrip, TripKind, TripStatus
from citoyen.mobility.trips import DAY_BITS

# A minute of departure gap weighs as much as 80 m of walking (a walker's minute).
WALK_METRES_PER_MINUTE = 80.0
MATCH_LIMIT = 20


@dataclass(frozen=True)
class Match:
    trip: CarpoolTrip
    walk_start_m: float  # from the searcher's start cell to the match's
    walk_end_m: float
    gap_minutes: int  # between the two windows' starts

    @property
    def detour_m(self) -> float:
        return self.walk_start_m + self.walk_end_m

    @property
    def score(self) -> float:
        """Lower is better: the walk added, in walking minutes, plus the departure gap in minutes."""
        return self.detour_m / WALK_METRES_PER_MINUTE + self.gap_minutes


def days_overlap(a_days: int, a_date: date | None, b_days: int, b_date: date | None) -> bool:
    """Whether two schedules share a day: two regular trips a weekday, a regular and a one-off the one-off's
    weekday, two one-off trips their date."""
    if a_date is not None and b_date is not None:
        return a_date == b_date
    if a_date is not None:
        return bool(b_days & DAY_BITS[a_date.weekday()])
    if b_date is not None:
        return bool(a_days & DAY_BITS[b_date.weekday()])
    return bool(a_days & b_days)


async def find_matches(
    session: AsyncSession, trip: CarpoolTrip, now: datetime | None = None, limit: int = MATCH_LIMIT
) -> list[Match]:
    """The best matches of a trip on the board (none for a trip no longer on it), best first."""
    now = now or utcnow()
    if trip.status != TripStatus.ACTIVE.value or trip.from_cell is None or trip.to_cell is None:
        return []
    start_disk = cells.walking_disk(trip.from_cell)
    end_disk = cells.walking_disk(trip.to_cell)
    wanted = TripKind.SEEK.value if trip.kind == TripKind.OFFER.value else TripKind.OFFER.value
    query = select(CarpoolTrip).where(
        CarpoolTrip.from_cell.in_(sorted(start_disk)),
        CarpoolTrip.status == TripStatus.ACTIVE.value,
        CarpoolTrip.kind == wanted,
        CarpoolTrip.to_cell.in_(sorted(end_disk)),
        CarpoolTrip.window_start <= trip.window_end,
        CarpoolTrip.window_end >= trip.window_start,
        CarpoolTrip.person_id != trip.person_id,
    )
    found = []
    for other in (await session.execute(query)).scalars():
        # The expiry is checked here, on the few rows found: in the query, SQLite would take the expiry index
        # (every active trip) instead of the matching one.
        if other.from_cell is None or other.to_cell is None or other.expires_at <= now:
            continue
        if not days_overlap(trip.days, trip.on_date, other.days, other.on_date):
            continue
        found.append(
            Match(
                other,
                start_disk[other.from_cell],
                end_disk[other.to_cell],
                abs(other.window_start - trip.window_start),
            )
        )
    found.sort(key=lambda match: (match.score, match.trip.id))
    return found[:limit]
