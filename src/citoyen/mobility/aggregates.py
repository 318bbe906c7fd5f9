"""What the board shows of everyone's trips: counts per neighbourhood pair (and hour of departure), where a count
under `MIN_COUNT` trips is suppressed, and the newest trips on the board (neighbourhoods and hours only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.mobility.models import CarpoolTrip, TripKind, TripStatus

# The minimum cell size of anything published about trips (open data, arcs on the flows map).
MIN_COUNT = 10
_ANY_SIMULATED = func.max(case((CarpoolTrip.simulated, 1), else_=0))


@dataclass(frozen=True)
class FlowCount:
    from_neighbourhood_id: int
    to_neighbourhood_id: int
    hour: int | None  # local hour of the window's start; None when counted over the whole day
    trips: int
    simulated: bool  # some of the trips counted are the demo's


async def flows(session: AsyncSession, by_hour: bool = False, min_count: int = MIN_COUNT) -> list[FlowCount]:
    """Trips ever posted (withdrawn ones excluded) between two neighbourhoods of the city, per pair (and per
    hour of departure with `by_hour`); pairs under `min_count` trips are left out."""
    hour = CarpoolTrip.window_start // 60 if by_hour else None
    columns = [CarpoolTrip.from_neighbourhood_id, CarpoolTrip.to_neighbourhood_id]
    groups = [*columns, hour] if hour is not None else columns
    query = (
        select(*groups, func.count().label("trips"), _ANY_SIMULATED)
        .where(
            CarpoolTrip.status != TripStatus.WITHDRAWN.value,
            CarpoolTrip.from_neighbourhood_id.is_not(None),
            CarpoolTrip.to_neighbourhood_id.is_not(None),
        )
        .group_by(*groups)
        .having(func.count() >= min_count)
    )
    result = []
    for row in (await session.execute(query)).all():
        result.append(
            FlowCount(
                int(row[0]),
                int(row[1]),
                int(row[2]) if hour is not None else None,
                int(row.trips),
                bool(row[-1]),
            )
        )
    result.sort(key=lambda flow: (-flow.trips, flow.from_neighbourhood_id, flow.to_neighbourhood_id, flow.hour or 0))
    return result


@dataclass(frozen=True)
class BoardSummary:
    offers: int
    seekers: int
    simulated: bool  # some trips on the board are the demo's
    newest: list[CarpoolTrip]


async def board_summary(session: AsyncSession, now: datetime | None = None, limit: int = 20) -> BoardSummary:
    """How many trips are on the board, of each kind, and the newest of them."""
    now = now or utcnow()
    on_board = (CarpoolTrip.status == TripStatus.ACTIVE.value, CarpoolTrip.expires_at > now)
    counted = await session.execute(
        select(CarpoolTrip.kind, func.count(), _ANY_SIMULATED).where(*on_board).group_by(CarpoolTrip.kind)
    )
    counts = {row[0]: (int(row[1]), bool(row[2])) for row in counted.all()}
    newest = await session.execute(select(CarpoolTrip).where(*on_board).order_by(CarpoolTrip.id.desc()).limit(limit))
    offers, offers_simulated = counts.get(TripKind.OFFER.value, (0, False))
    seekers, seekers_simulated = counts.get(TripKind.SEEK.value, (0, False))
    return BoardSummary(offers, seekers, offers_simulated or seekers_simulated, list(newest.scalars()))
