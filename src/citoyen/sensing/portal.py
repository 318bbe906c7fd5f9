"""What citizens see of the city's sensors (map, sensor pages, charts, live values) and what administrators
change (a Thing's access and owner), with the access rules in one place:

- public Things: everything, raw values included;
- restricted Things: everyone sees the sensor and hourly means, never raw readings (staff see raw);
- personal Things (a household's meter): only their owner and staff see anything; staff reading them is logged.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Float, Integer, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from citoyen.db import utcnow
from citoyen.errors import Kind, Refusal
from citoyen.i18n import N_, localized
from citoyen.people import service as people
from citoyen.people.service import Person
from citoyen.sensing.models import (
    Datastream,
    Location,
    Observation,
    ObservedProperty,
    Thing,
    ThingAccess,
    ThingKind,
    ThingLocation,
)
from citoyen.territory import service as territory

KIND_LABELS = {
    ThingKind.AIR.value: N_("Air quality"),
    ThingKind.WATER.value: N_("Water"),
    ThingKind.ENERGY.value: N_("Energy"),
    ThingKind.MOBILITY.value: N_("Mobility"),
    ThingKind.OTHER.value: N_("Other sensors"),
}
ACCESS_LABELS = {
    ThingAccess.PUBLIC.value: N_("public: every reading is published"),
    ThingAccess.RESTRICTED.value: N_("restricted: only hourly means are published"),
    ThingAccess.PERSONAL.value: N_("personal: only its owner and staff see it"),
}
HOUR = 3600


class PortalError(Refusal):
    """A refused request (`citoyen.errors.Refusal`): invalid (400), or not_found when `status` is 404."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message, Kind.NOT_FOUND if status == 404 else Kind.INVALID)

    @property
    def status(self) -> int:
        """The HTTP status a page answers with."""
        return self.status_code


class Span(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


SPAN_LENGTH = {Span.DAY: timedelta(days=1), Span.WEEK: timedelta(days=7), Span.MONTH: timedelta(days=30)}
# Bucket length (seconds) when raw readings may be shown; None means the readings themselves.
SPAN_BUCKET = {Span.DAY: None, Span.WEEK: 900, Span.MONTH: HOUR}


def is_staff(person: Person | None) -> bool:
    return person is not None and person.is_staff


def may_see(thing: Thing, person: Person | None) -> bool:
    if thing.access != ThingAccess.PERSONAL:
        return True
    return person is not None and (person.id == thing.owner_person_id or person.is_staff)


def may_see_raw(thing: Thing, person: Person | None) -> bool:
    """Raw readings: public Things for all; restricted ones for staff; personal ones for their owner and staff."""
    if not may_see(thing, person):
        return False
    return thing.access != ThingAccess.RESTRICTED or is_staff(person)


async def _log_staff_reading(session: AsyncSession, thing: Thing, person: Person | None) -> None:
    if thing.access == ThingAccess.PERSONAL and person is not None and thing.owner_person_id is not None:
        await people.log_access(session, person, thing.owner_person_id, "sensing_read", thing.name)


# --- The map -------------------------------------------------------------------------------------------------


async def map_features(session: AsyncSession, locale: str = "fr") -> dict[str, Any]:
    """The sensors on the city map (GeoJSON, lon/lat order): public and restricted Things, never personal ones,
    named in the reader's language."""
    query = (
        select(Thing.id, Thing.name, Thing.name_en, Thing.kind, Thing.access, Location.lon, Location.lat)
        .join(ThingLocation, ThingLocation.thing_id == Thing.id)
        .join(Location, Location.id == ThingLocation.location_id)
        .where(Thing.access != ThingAccess.PERSONAL, Location.lon.is_not(None), Location.lat.is_not(None))
        .order_by(Thing.id)
    )
    features: list[dict[str, Any]] = []
    seen: set[int] = set()
    for thing_id, name, name_en, kind, access, lon, lat in (await session.execute(query)).all():
        if thing_id in seen:  # a Thing with several Locations is drawn once
            continue
        seen.add(thing_id)
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {
                    "id": thing_id,
                    "name": localized(locale, name, name_en),
                    "kind": ThingKind(kind).value,
                    "access": ThingAccess(access).value,
                    "url": f"/sensing/things/{thing_id}",
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


# --- A sensor's page -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LatestValue:
    time: datetime
    value: float
    # True when the value is the mean of the last full hour rather than a reading (restricted Things).
    is_hourly_mean: bool


@dataclass(frozen=True)
class DatastreamSummary:
    id: int
    name: str
    observed_property: str  # in French, as stored; in English too when it was given (empty otherwise)
    observed_property_en: str
    unit_symbol: str
    unit_symbol_en: str  # empty: the symbol reads the same in English
    unit_name: str
    latest: LatestValue | None


@dataclass(frozen=True)
class ThingPage:
    thing: Thing
    neighbourhood: str | None
    lon: float | None
    lat: float | None
    datastreams: list[DatastreamSummary]
    raw_allowed: bool


async def get_thing(session: AsyncSession, thing_id: int, person: Person | None) -> Thing:
    thing = await session.get(Thing, thing_id)
    # A personal Thing someone may not see is answered like a missing one: its existence is personal too.
    if thing is None or not may_see(thing, person):
        raise PortalError(N_("Unknown sensor."), 404)
    return thing


async def thing_page(session: AsyncSession, thing_id: int, person: Person | None) -> ThingPage:
    thing = await get_thing(session, thing_id, person)
    await _log_staff_reading(session, thing, person)
    raw_allowed = may_see_raw(thing, person)
    place = (
        await session.execute(
            select(Location.lon, Location.lat, Location.neighbourhood_id)
            .join(ThingLocation, ThingLocation.location_id == Location.id)
            .where(ThingLocation.thing_id == thing.id)
            .limit(1)
        )
    ).first()
    neighbourhood_name = None
    if place is not None and place.neighbourhood_id is not None:
        neighbourhood = await territory.get_neighbourhood(session, place.neighbourhood_id)
        neighbourhood_name = neighbourhood.name if neighbourhood else None
    rows = (
        await session.execute(
            select(Datastream, ObservedProperty.name, ObservedProperty.name_en)
            .join(ObservedProperty, ObservedProperty.id == Datastream.observed_property_id)
            .where(Datastream.thing_id == thing.id)
            .order_by(Datastream.id)
        )
    ).all()
    summaries = []
    for datastream, property_name, property_name_en in rows:
        latest = await _latest(session, datastream.id, raw_allowed)
        unit = datastream.unit_of_measurement or {}
        summaries.append(
            DatastreamSummary(
                id=datastream.id,
                name=datastream.name,
                observed_property=property_name,
                observed_property_en=property_name_en,
                unit_symbol=str(unit.get("symbol") or ""),
                unit_symbol_en=datastream.unit_symbol_en,
                unit_name=str(unit.get("name") or ""),
                latest=latest,
            )
        )
    return ThingPage(
        thing=thing,
        neighbourhood=neighbourhood_name,
        lon=place.lon if place else None,
        lat=place.lat if place else None,
        datastreams=summaries,
        raw_allowed=raw_allowed,
    )


async def _latest(session: AsyncSession, datastream_id: int, raw_allowed: bool) -> LatestValue | None:
    if raw_allowed:
        row = (
            await session.execute(
                select(Observation.phenomenon_time_start, Observation.result_number)
                .where(Observation.datastream_id == datastream_id, Observation.result_number.is_not(None))
                .order_by(Observation.phenomenon_time_start.desc())
                .limit(1)
            )
        ).first()
        return LatestValue(row[0], float(row[1]), False) if row is not None and row[1] is not None else None
    # The last full hour that has readings: a mean over an hour in progress would leak its few readings.
    end = utcnow().replace(minute=0, second=0, microsecond=0)
    points = await _bucketed(session, datastream_id, end - timedelta(days=2), end, HOUR)
    if not points:
        return None
    start, value = points[-1]
    return LatestValue(start, value, True)


# --- The sensors of a neighbourhood ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlacedReading:
    """One stream of a sensor placed in a neighbourhood, with its latest value (None: nothing recent)."""

    datastream_id: int
    observed_property: str
    observed_property_en: str  # empty when no English name was given
    unit_symbol: str
    unit_symbol_en: str  # empty: the symbol reads the same in English
    latest: LatestValue | None


@dataclass(frozen=True)
class PlacedSensor:
    thing: Thing
    readings: list[PlacedReading]


async def sensors_in(session: AsyncSession, neighbourhood_id: int, limit: int = 12) -> list[PlacedSensor]:
    """The public and restricted sensors located in a neighbourhood (never personal ones), by kind, with each
    stream's latest value as everyone may see it: a reading for a public sensor, the last full hour's mean for
    a restricted one."""
    things = list(
        (
            await session.execute(
                select(Thing)
                .where(
                    Thing.access != ThingAccess.PERSONAL,
                    Thing.id.in_(
                        select(ThingLocation.thing_id)
                        .join(Location, Location.id == ThingLocation.location_id)
                        .where(Location.neighbourhood_id == neighbourhood_id)
                    ),
                )
                .order_by(Thing.kind, Thing.name, Thing.id)
                .limit(limit)
            )
        ).scalars()
    )
    streams = (
        await session.execute(
            select(
                Datastream.id,
                Datastream.thing_id,
                Datastream.unit_of_measurement,
                Datastream.unit_symbol_en,
                ObservedProperty.name,
                ObservedProperty.name_en,
            )
            .join(ObservedProperty, ObservedProperty.id == Datastream.observed_property_id)
            .where(Datastream.thing_id.in_([thing.id for thing in things]))
            .order_by(Datastream.id)
        )
    ).all()
    readings: dict[int, list[PlacedReading]] = {thing.id: [] for thing in things}
    raw = {thing.id: thing.access == ThingAccess.PUBLIC for thing in things}
    for datastream_id, thing_id, unit, symbol_en, property_name, property_name_en in streams:
        latest = await _latest(session, datastream_id, raw[thing_id])
        symbol = str((unit or {}).get("symbol") or "")
        readings[thing_id].append(
            PlacedReading(datastream_id, property_name, property_name_en, symbol, symbol_en, latest)
        )
    return [PlacedSensor(thing, readings[thing.id]) for thing in things]


# --- Series for the charts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    datastream_id: int
    span: Span
    # Seconds per point when points are means, None for raw readings.
    bucket_seconds: int | None
    points: list[tuple[datetime, float]]

    def as_json(self) -> dict[str, Any]:
        return {
            "datastream": self.datastream_id,
            "span": self.span.value,
            "bucketSeconds": self.bucket_seconds,
            "points": [[int(time.timestamp()), value] for time, value in self.points],
        }


async def datastream_thing(session: AsyncSession, datastream_id: int, person: Person | None) -> Thing:
    thing_id = (await session.execute(select(Datastream.thing_id).where(Datastream.id == datastream_id))).scalar()
    if thing_id is None:
        raise PortalError(N_("Unknown data stream."), 404)
    try:
        return await get_thing(session, int(thing_id), person)
    except PortalError:
        raise PortalError(N_("Unknown data stream."), 404) from None


async def series(
    session: AsyncSession,
    datastream_id: int,
    span: Span,
    person: Person | None,
    now: datetime | None = None,
    log_reading: bool = True,
) -> Series:
    """Numeric results over the span, downsampled on the server: raw for a day, 15-minute then hourly means.

    Restricted Things (for non-staff) only ever give hourly means over full hours."""
    thing = await datastream_thing(session, datastream_id, person)
    if log_reading:
        await _log_staff_reading(session, thing, person)
    now = now or utcnow()
    start = now - SPAN_LENGTH[span]
    bucket = SPAN_BUCKET[span]
    if not may_see_raw(thing, person):
        bucket = HOUR if bucket is None else max(bucket, HOUR)
        now = now.replace(minute=0, second=0, microsecond=0)
    if bucket is None:
        rows = await session.execute(
            select(Observation.phenomenon_time_start, Observation.result_number)
            .where(
                Observation.datastream_id == datastream_id,
                Observation.phenomenon_time_start >= start,
                Observation.phenomenon_time_start <= now,
                Observation.result_number.is_not(None),
            )
            .order_by(Observation.phenomenon_time_start)
        )
        points = [(time, float(value)) for time, value in rows.all() if value is not None]
    else:
        points = await _bucketed(session, datastream_id, start, now, bucket)
    return Series(datastream_id, span, bucket, points)


def _epoch_seconds(session: AsyncSession, column: Any) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "sqlite":
        return cast(func.strftime("%s", column), Integer)
    return cast(func.extract("epoch", column), Float)


async def _bucketed(
    session: AsyncSession, datastream_id: int, start: datetime, end: datetime, bucket_seconds: int
) -> list[tuple[datetime, float]]:
    """Means per bucket of `bucket_seconds` (aligned on the epoch), counted in the database."""
    epoch = _epoch_seconds(session, Observation.phenomenon_time_start)
    bucket = func.floor(epoch / bucket_seconds).label("bucket")
    rows = await session.execute(
        select(bucket, func.avg(Observation.result_number))
        .where(
            Observation.datastream_id == datastream_id,
            Observation.phenomenon_time_start >= start,
            Observation.phenomenon_time_start < end,
            Observation.result_number.is_not(None),
        )
        .group_by(bucket)
        .order_by(bucket)
    )

    return [
        (datetime.fromtimestamp(int(index) * bucket_seconds, UTC), float(mean))
        for index, mean in rows.all()
        if mean is not None
    ]


# --- Administration --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThingRow:
    thing: Thing
    owner_email: str | None
    datastream_count: int


async def list_things(session: AsyncSession) -> list[ThingRow]:
    count = (
        select(func.count()).select_from(Datastream).where(Datastream.thing_id == Thing.id).scalar_subquery()
    ).label("datastreams")
    rows = (await session.execute(select(Thing, count).order_by(Thing.kind, Thing.name, Thing.id))).all()
    owners = await people.emails(session, [thing.owner_person_id for thing, _ in rows])
    return [
        ThingRow(thing, owners.get(thing.owner_person_id) if thing.owner_person_id else None, int(datastreams))
        for thing, datastreams in rows
    ]


async def set_access(session: AsyncSession, admin: Person, thing_id: int, access: str, owner_email: str) -> Thing:
    """Change who sees a Thing. A personal Thing needs an owner (whose data it is); others may keep one."""
    thing = await session.get(Thing, thing_id)
    if thing is None:
        raise PortalError(N_("Unknown sensor."), 404)
    try:
        new_access = ThingAccess(access)
    except ValueError:
        raise PortalError(N_("Choose public, restricted or personal.")) from None
    owner_id: int | None = None
    if owner_email.strip():
        owner = await people.find_person_by_email(session, owner_email)
        if owner is None:
            raise PortalError(N_("No account has this e-mail address."))
        owner_id = owner.id
    if new_access == ThingAccess.PERSONAL and owner_id is None:
        raise PortalError(N_("A personal sensor needs an owner: give the e-mail address of their account."))
    if owner_id is not None:
        await people.log_access(session, admin, owner_id, "sensing_owner", thing.name)
    thing.access = new_access
    thing.owner_person_id = owner_id
    await session.flush()
    return thing
