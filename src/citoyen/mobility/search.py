"""Searching the board, for the JSON API: trips on the board near a start and an end (the walking disks of their
cells, as matching), of one kind, on some days or a date, departing around a time of day.

A place searched is turned into its cell at once and never kept; what is answered is cells and neighbourhoods,
never a point and never who posted a trip."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.mobility import cells
from citoyen.mobility.matching import WALK_METRES_PER_MINUTE
from citoyen.mobility.models import CarpoolTrip, TripStatus
from citoyen.mobility.trips import DAY_BITS, ONE_OFF_HORIZON, PlaceInput, local_today, place_of
from citoyen.territory import service as territory

SEARCH_LIMIT = 100


@dataclass(frozen=True)
class TripSearch:
    from_cell: str | None = None
    to_cell: str | None = None
    kind: str | None = None
    on_date: date | None = None  # trips running on that date (one-off on it, regular on its weekday)
    weekdays: frozenset[int] = frozenset()  # trips running on one of these days (0 = Monday)
    time_of_day: int | None = None  # minutes after local midnight
    delta_minutes: int = 15  # a trip's window must meet [time - delta, time + delta]
    count: int = 20
    offset: int = 0


@dataclass(frozen=True)
class FoundTrip:
    trip: CarpoolTrip
    walk_start_m: float | None  # None when the search gave no start
    walk_end_m: float | None
    gap_minutes: int | None  # between the searched time and the window's start


async def cell_of_place(
    session: AsyncSession, index: territory.TerritoryIndexCache, place: PlaceInput, which: str
) -> str:
    """The cell a searched place falls in (a quartier: its representative point's); the place is not kept."""
    cell, _neighbourhood = await place_of(session, index, place, which)
    return cell


def _days_condition(search: TripSearch, today: date) -> ColumnElement[bool] | None:
    """Trips running on the searched date or weekdays, in SQL so that the page (count, offset) is the database's.
    A one-off trip on one of the weekdays is found by its date, among the dates a one-off trip may have."""
    if search.on_date is not None:
        bit = DAY_BITS[search.on_date.weekday()]
        return or_(CarpoolTrip.on_date == search.on_date, CarpoolTrip.days.op("&")(bit) != 0)
    if not search.weekdays:
        return None
    mask = sum(DAY_BITS[day] for day in search.weekdays)
    dates = [
        today + timedelta(days=number)
        for number in range(ONE_OFF_HORIZON.days + 1)
        if (today + timedelta(days=number)).weekday() in search.weekdays
    ]
    return or_(CarpoolTrip.days.op("&")(mask) != 0, CarpoolTrip.on_date.in_(dates) if dates else false())


async def search_trips(session: AsyncSession, search: TripSearch, now: datetime | None = None) -> list[FoundTrip]:
    """Trips on the board that fit the search. With a start and an end, ranked as matches are (the walk added at
    both ends and the gap to the searched time); otherwise the newest first."""
    now = now or utcnow()
    where: list[ColumnElement[bool]] = [CarpoolTrip.status == TripStatus.ACTIVE.value, CarpoolTrip.expires_at > now]
    start_disk = cells.walking_disk(search.from_cell) if search.from_cell else None
    end_disk = cells.walking_disk(search.to_cell) if search.to_cell else None
    if start_disk is not None:
        where.append(CarpoolTrip.from_cell.in_(sorted(start_disk)))
    if end_disk is not None:
        where.append(CarpoolTrip.to_cell.in_(sorted(end_disk)))
    if search.kind is not None:
        where.append(CarpoolTrip.kind == search.kind)
    if search.time_of_day is not None:
        where.append(
            and_(
                CarpoolTrip.window_start <= search.time_of_day + search.delta_minutes,
                CarpoolTrip.window_end >= search.time_of_day - search.delta_minutes,
            )
        )
    days = _days_condition(search, local_today(now))
    if days is not None:
        where.append(days)
    query = select(CarpoolTrip).where(*where)

    def found(trip: CarpoolTrip) -> FoundTrip:
        gap = abs(trip.window_start - search.time_of_day) if search.time_of_day is not None else None
        return FoundTrip(
            trip,
            start_disk[trip.from_cell] if start_disk is not None and trip.from_cell else None,
            end_disk[trip.to_cell] if end_disk is not None and trip.to_cell else None,
            gap,
        )

    if start_disk is None or end_disk is None:
        rows = await session.execute(query.order_by(CarpoolTrip.id.desc()).offset(search.offset).limit(search.count))
        return [found(trip) for trip in rows.scalars()]
    # Near both ends: the few rows of the matching index, ranked here as matches are.
    results = [found(trip) for trip in (await session.execute(query)).scalars()]
    results.sort(
        key=lambda item: (
            ((item.walk_start_m or 0) + (item.walk_end_m or 0)) / WALK_METRES_PER_MINUTE + (item.gap_minutes or 0),
            item.trip.id,
        )
    )
    return results[search.offset : search.offset + search.count]
