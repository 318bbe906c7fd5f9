"""What sensing tells the indicators' rollups: which Datastreams may be summed up (those of public and restricted
Things: a personal Thing's readings are a household's data and stay out of every aggregate), where each one is
and what it measures, and their numeric readings grouped by UTC hour or day in one set-based statement, so that
a rollup is rebuilt by the database (GROUP BY) rather than row by row in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Select, and_, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.sensing.models import (
    Datastream,
    Location,
    Observation,
    ObservedProperty,
    ResultType,
    Thing,
    ThingAccess,
    ThingLocation,
)

Step = Literal["hour", "day"]
SUMMED = (ThingAccess.PUBLIC, ThingAccess.RESTRICTED)
NUMBERS = (int(ResultType.FLOAT), int(ResultType.INTEGER))


@dataclass(frozen=True, slots=True)
class SummedStream:
    """A Datastream whose readings may enter aggregates, with what an indicator needs to know of it."""

    datastream_id: int
    observed_property: str
    unit_symbol: str
    kind: str
    lon: float | None
    lat: float | None
    neighbourhood_id: int | None


async def summed_streams(session: AsyncSession, datastream_ids: Sequence[int] | None = None) -> list[SummedStream]:
    """The Datastreams of public and restricted Things (among `datastream_ids` when given), with their observed
    property's name, unit symbol, Thing kind and the place of the Thing's first Location."""
    query = (
        select(Datastream.id, ObservedProperty.name, Datastream.unit_of_measurement, Thing.kind, Thing.id)
        .join(Thing, Thing.id == Datastream.thing_id)
        .join(ObservedProperty, ObservedProperty.id == Datastream.observed_property_id)
        .where(Thing.access.in_(SUMMED))
        .order_by(Datastream.id)
    )
    if datastream_ids is not None:
        query = query.where(Datastream.id.in_(list(datastream_ids)))
    rows = (await session.execute(query)).all()
    thing_ids = {row[4] for row in rows}
    places: dict[int, tuple[float | None, float | None, int | None]] = {}
    if thing_ids:
        located = (
            select(ThingLocation.thing_id, Location.lon, Location.lat, Location.neighbourhood_id)
            .join(Location, Location.id == ThingLocation.location_id)
            .where(ThingLocation.thing_id.in_(thing_ids))
            .order_by(ThingLocation.thing_id, Location.id)
        )
        for thing_id, lon, lat, neighbourhood_id in (await session.execute(located)).all():
            places.setdefault(thing_id, (lon, lat, neighbourhood_id))
    streams = []
    for datastream_id, observed, unit, kind, thing_id in rows:
        lon, lat, neighbourhood_id = places.get(thing_id, (None, None, None))
        streams.append(
            SummedStream(
                datastream_id=datastream_id,
                observed_property=observed,
                unit_symbol=str((unit or {}).get("symbol") or ""),
                kind=kind.value,
                lon=lon,
                lat=lat,
                neighbourhood_id=neighbourhood_id,
            )
        )
    return streams


def _bucket(dialect: str, step: Step) -> Any:
    """The start of a reading's UTC hour or day, in the form the database stores UTC datetimes."""
    moment = Observation.phenomenon_time_start
    if dialect == "sqlite":
        # Naive UTC text "YYYY-MM-DD HH:MM:SS[.ffffff]", as citoyen.db.UTCDateTime writes it.
        return func.strftime("%Y-%m-%d %H:00:00.000000" if step == "hour" else "%Y-%m-%d 00:00:00.000000", moment)
    return func.timezone("UTC", func.date_trunc(step, func.timezone("UTC", moment)))


def bucket_statistics(dialect: str, step: Step, datastream_ids: Sequence[int]) -> Select[Any]:
    """A statement giving, per Datastream among `datastream_ids` and UTC hour or day of phenomenon time:
    (datastream_id, step, bucket, count, sum, min, max) of the numeric readings. Meant to be inserted from
    (`INSERT ... SELECT`), so the rows never leave the database."""
    return _statistics(dialect, step, Observation.datastream_id.in_(list(datastream_ids)))


def range_statistics(dialect: str, step: Step, datastream_id: Any, first: Any, after: Any) -> Select[Any]:
    """`bucket_statistics` of the readings of one Datastream from `first` to `after` (excluded) only: what the
    rollups' fold recomputes (one range of the (datastream, phenomenon time) index). The three are expressions
    of the caller's: bound parameters (the statement then runs once per range, executemany) or the columns of a
    derived table of ranges (PostgreSQL: arrays unnested; the ranges must not overlap)."""
    moment = Observation.phenomenon_time_start
    return _statistics(dialect, step, and_(Observation.datastream_id == datastream_id, moment >= first, moment < after))


def _statistics(dialect: str, step: Step, which: Any) -> Select[Any]:
    bucket = _bucket(dialect, step)
    number = Observation.result_number
    return (
        select(
            Observation.datastream_id,
            literal(step),
            bucket,
            func.count(),
            func.sum(number),
            func.min(number),
            func.max(number),
        )
        .where(
            which,
            # Not IN (...): an expanding parameter cannot run as an executemany (the fold's ranges on SQLite).
            or_(*(Observation.result_type == number for number in NUMBERS)),
            number.is_not(None),
        )
        .group_by(Observation.datastream_id, bucket)
    )
