"""Posting, reading, withdrawing and expiring carpool trips.

A trip's places are turned into H3 cells and neighbourhoods as it is posted (`cells.py`); the points typed or
chosen never reach the database. Departure windows are in the city's local time (`city_zone()`, the setting
`time_zone`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.errors import Kind
from citoyen.i18n import N_
from citoyen.mobility import cells
from citoyen.mobility.errors import CarpoolError
from citoyen.mobility.models import CarpoolRequest, CarpoolTrip, RequestStatus, TripKind, TripStatus
from citoyen.people.service import Person
from citoyen.territory import service as territory

# The city's time zone (`Settings.time_zone`, given when the app is built: `use_time_zone`): departure windows are
# read and written in it, and the flows' days and hours are its.
_CITY_ZONE = [ZoneInfo("Europe/Paris")]


def city_zone() -> ZoneInfo:
    return _CITY_ZONE[0]


def use_time_zone(zone: ZoneInfo) -> None:
    """The city's time zone, from the settings (the app calls it when it is built)."""
    _CITY_ZONE[0] = zone


MIN_SEATS = 1
MAX_SEATS = 8
# A regular trip stays on the board this long; its owner posts it again to keep it.
REGULAR_LIFETIME = timedelta(days=90)
# A one-off trip may be posted this far ahead.
ONE_OFF_HORIZON = timedelta(days=180)
MAX_WINDOW_MINUTES = 4 * 60
DAY_BITS = (1, 2, 4, 8, 16, 32, 64)  # Monday … Sunday, as date.weekday()
ALL_DAYS = 127


@dataclass(frozen=True)
class PlaceInput:
    """Where a trip starts or ends: a point (lon, lat), a neighbourhood (its representative point) or an address
    typed (geocoded; the text is not kept either)."""

    lon: float | None = None
    lat: float | None = None
    neighbourhood_id: int | None = None
    address: str = ""


@dataclass(frozen=True)
class TripInput:
    kind: str
    start: PlaceInput
    end: PlaceInput
    window_start: int  # minutes after local midnight
    window_end: int
    seats: int
    weekdays: frozenset[int] = frozenset()  # 0 = Monday … 6 = Sunday, for a regular trip
    on_date: date | None = None  # for a one-off trip


def days_mask(weekdays: frozenset[int] | set[int]) -> int:
    return sum(DAY_BITS[day] for day in weekdays)


def weekdays_of(mask: int) -> list[int]:
    return [day for day, bit in enumerate(DAY_BITS) if mask & bit]


def local_moment(day: date, minutes: int) -> datetime:
    """A local day and minute of that day, as an aware UTC datetime."""
    moment = datetime.combine(day, time(0), tzinfo=city_zone()) + timedelta(minutes=minutes)
    return moment.astimezone(ZoneInfo("UTC"))


def local_today(now: datetime) -> date:
    return now.astimezone(city_zone()).date()


async def place_of(
    session: AsyncSession,
    index: territory.TerritoryIndexCache,
    place: PlaceInput,
    which: str,
    gazetteer: territory.Gazetteer | None = None,
) -> tuple[str, int | None]:
    """The cell and the neighbourhood of a place; refused when it is no place."""
    if place.address.strip() and (place.lon is None or place.lat is None) and place.neighbourhood_id is None:
        found = await (gazetteer or territory.Gazetteer()).place(session, place.address)
        if found is None:
            raise CarpoolError(
                N_("This address was not found: choose a neighbourhood, or place the point on the map."),
                Kind.INVALID,
                which,
            )
        place = PlaceInput(found.lon, found.lat)
    if place.neighbourhood_id is not None:
        neighbourhood = await territory.get_neighbourhood(session, place.neighbourhood_id)
        if neighbourhood is None:
            raise CarpoolError(N_("Unknown neighbourhood."), Kind.INVALID, which)
        return cells.cell_of(neighbourhood.centroid_lon, neighbourhood.centroid_lat), neighbourhood.id
    if place.lon is None or place.lat is None:
        if which == "start":
            raise CarpoolError(N_("Choose where the trip starts."), Kind.INVALID, which)
        raise CarpoolError(N_("Choose where the trip ends."), Kind.INVALID, which)
    if not (-180 <= place.lon <= 180 and -90 <= place.lat <= 90):
        raise CarpoolError(N_("These coordinates are not valid."), Kind.INVALID, which)
    return cells.cell_of(place.lon, place.lat), await territory.locate_id(session, index, place.lon, place.lat)


def _check_schedule(data: TripInput, now: datetime) -> tuple[int, date | None, datetime]:
    """The days mask, the date and the expiry of a trip's schedule, or a refusal."""
    if data.kind not in (TripKind.OFFER.value, TripKind.SEEK.value):
        raise CarpoolError(N_("Say whether you offer seats or look for one."), Kind.INVALID, "kind")
    if not MIN_SEATS <= data.seats <= MAX_SEATS:
        raise CarpoolError(
            N_("The number of seats must be between %(low)d and %(high)d."),
            Kind.INVALID,
            "seats",
            low=MIN_SEATS,
            high=MAX_SEATS,
        )
    if not 0 <= data.window_start < data.window_end <= 24 * 60:
        raise CarpoolError(
            N_("The departure window must start before it ends, within one day."), Kind.INVALID, "window"
        )
    if data.window_end - data.window_start > MAX_WINDOW_MINUTES:
        raise CarpoolError(
            N_("The departure window may last at most %(hours)d hours."), Kind.INVALID, "window", hours=4
        )
    if data.on_date is not None and data.weekdays:
        raise CarpoolError(N_("Choose either days of the week or one date, not both."), Kind.INVALID, "days")
    if data.on_date is None and not data.weekdays:
        raise CarpoolError(N_("Choose the days of the week, or the date of a one-off trip."), Kind.INVALID, "days")
    if any(day not in range(7) for day in data.weekdays):
        raise CarpoolError(N_("Choose the days of the week, or the date of a one-off trip."), Kind.INVALID, "days")
    if data.on_date is None:
        return days_mask(data.weekdays), None, now + REGULAR_LIFETIME
    ends = local_moment(data.on_date, data.window_end)
    if ends <= now:
        raise CarpoolError(N_("This departure window is already past."), Kind.INVALID, "window")
    if ends - now > ONE_OFF_HORIZON:
        raise CarpoolError(
            N_("A one-off trip may be posted at most %(days)d days ahead."), Kind.INVALID, "date", days=180
        )
    return 0, data.on_date, ends


async def post_trip(
    session: AsyncSession,
    index: territory.TerritoryIndexCache,
    person: Person,
    data: TripInput,
    now: datetime | None = None,
    simulated: bool = False,
    gazetteer: territory.Gazetteer | None = None,
) -> CarpoolTrip:
    """Put a trip on the board once every rule holds (nothing is stored otherwise): it starts inside the city,
    ends elsewhere than it starts, its window is ahead and its seats in range."""
    now = now or utcnow()
    days, on_date, expires_at = _check_schedule(data, now)
    from_cell, from_neighbourhood = await place_of(session, index, data.start, "start", gazetteer)
    if from_neighbourhood is None:
        raise CarpoolError(N_("The trip must start inside the city."), Kind.INVALID, "start")
    to_cell, to_neighbourhood = await place_of(session, index, data.end, "end", gazetteer)
    if to_cell == from_cell:
        raise CarpoolError(N_("The trip must end somewhere else than where it starts."), Kind.INVALID, "end")
    trip = CarpoolTrip(
        person_id=person.id,
        kind=data.kind,
        status=TripStatus.ACTIVE.value,
        from_cell=from_cell,
        to_cell=to_cell,
        from_neighbourhood_id=from_neighbourhood,
        to_neighbourhood_id=to_neighbourhood,
        days=days,
        on_date=on_date,
        window_start=data.window_start,
        window_end=data.window_end,
        seats=data.seats,
        simulated=simulated,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(trip)
    await session.flush()
    return trip


def is_open(trip: CarpoolTrip, now: datetime | None = None) -> bool:
    """Whether the trip is on the board: active and not past its expiry."""
    return trip.status == TripStatus.ACTIVE.value and trip.expires_at > (now or utcnow())


async def get_trip(session: AsyncSession, trip_id: int) -> CarpoolTrip | None:
    return await session.get(CarpoolTrip, trip_id)


async def trips_of(session: AsyncSession, person_id: int) -> list[CarpoolTrip]:
    """A person's trips, newest first (active and past)."""
    query = select(CarpoolTrip).where(CarpoolTrip.person_id == person_id).order_by(CarpoolTrip.id.desc()).limit(100)
    return list((await session.execute(query)).scalars())


async def withdraw_trip(session: AsyncSession, person: Person, trip_id: int) -> CarpoolTrip:
    """Its owner takes a trip down: its requests are closed and its cells deleted."""
    trip = await get_trip(session, trip_id)
    if trip is None:
        raise CarpoolError(N_("Unknown trip."), Kind.NOT_FOUND)
    if trip.person_id != person.id:
        raise CarpoolError(N_("Only the person who posted this trip may withdraw it."), Kind.FORBIDDEN)
    if trip.status != TripStatus.ACTIVE.value:
        raise CarpoolError(N_("This trip is no longer on the board."), Kind.CONFLICT)
    trip.status = TripStatus.WITHDRAWN.value
    trip.from_cell = None
    trip.to_cell = None
    await session.execute(
        update(CarpoolRequest)
        .where(
            CarpoolRequest.trip_id == trip.id,
            CarpoolRequest.status.in_([RequestStatus.PENDING.value, RequestStatus.ACCEPTED.value]),
        )
        .values(status=RequestStatus.WITHDRAWN.value)
    )
    await session.flush()
    return trip


async def expire_trips(session: AsyncSession, now: datetime) -> int:
    """Housekeeping: trips past their expiry leave the board and lose their cells (their neighbourhoods, days
    and hours stay, for the aggregates). Returns how many expired."""
    result = await session.execute(
        update(CarpoolTrip)
        .where(CarpoolTrip.status == TripStatus.ACTIVE.value, CarpoolTrip.expires_at <= now)
        .values(status=TripStatus.EXPIRED.value, from_cell=None, to_cell=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
