"""What sensing publishes as open data: the city's sensors (Things with their place and Datastreams) and the raw
Observations of public Things, one Datastream at a time, in batches read along its (time, id) index so that a
Datastream of ten million readings streams in constant memory.

Personal Things (a household's meter) and everything under them are never published; restricted Things show
their metadata (as the SensorThings API does to everyone) but never their raw Observations.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import and_, func, or_, select
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

PUBLICATION_BATCH = 5000
LISTED = (ThingAccess.PUBLIC, ThingAccess.RESTRICTED)


async def published_things(session: AsyncSession) -> list[dict[str, Any]]:
    """Public and restricted Things (their names in French and in English), with the representative point of their
    first Location."""
    query = select(
        Thing.id, Thing.name, Thing.description, Thing.kind, Thing.access, Thing.name_en, Thing.description_en
    ).where(Thing.access.in_(LISTED))
    things = (await session.execute(query.order_by(Thing.id))).all()
    places: dict[int, tuple[float | None, float | None, int | None]] = {}
    located = (
        select(ThingLocation.thing_id, Location.lon, Location.lat, Location.neighbourhood_id)
        .join(Location, Location.id == ThingLocation.location_id)
        .where(ThingLocation.thing_id.in_(select(Thing.id).where(Thing.access.in_(LISTED))))
        .order_by(ThingLocation.thing_id, Location.id)
    )
    for thing_id, lon, lat, neighbourhood_id in (await session.execute(located)).all():
        places.setdefault(thing_id, (lon, lat, neighbourhood_id))
    return [
        {
            "id": row[0],
            "name": row[1],
            "description": row[2],
            "name_en": row[5],
            "description_en": row[6],
            "kind": row[3].value,
            "access": row[4].value,
            "lon": places.get(row[0], (None, None, None))[0],
            "lat": places.get(row[0], (None, None, None))[1],
            "neighbourhood_id": places.get(row[0], (None, None, None))[2],
        }
        for row in things
    ]


async def published_datastreams(session: AsyncSession) -> list[dict[str, Any]]:
    """The Datastreams of public and restricted Things (names in French and in English), with what they measure
    and in which unit;
    `raw_published` says whether their Observations are published (public Things only); `department` is the
    department code set in the Datastream's or its Thing's properties, if any."""
    query = (
        select(Datastream, Thing.kind, Thing.access, ObservedProperty.name, Thing.properties, ObservedProperty.name_en)
        .join(Thing, Thing.id == Datastream.thing_id)
        .join(ObservedProperty, ObservedProperty.id == Datastream.observed_property_id)
        .where(Thing.access.in_(LISTED))
        .order_by(Datastream.id)
    )
    rows = []
    for datastream, kind, access, observed, thing_properties, observed_en in (await session.execute(query)).all():
        unit = datastream.unit_of_measurement or {}
        # Who looks after it: a "department" code in the Datastream's properties, else in its Thing's.
        department = (datastream.properties or {}).get("department") or (thing_properties or {}).get("department")
        rows.append(
            {
                "id": datastream.id,
                "thing_id": datastream.thing_id,
                "name": datastream.name,
                "description": datastream.description,
                "name_en": datastream.name_en,
                "description_en": datastream.description_en,
                "kind": kind.value,
                "observed_property": observed,
                "observed_property_en": observed_en,
                "unit": str(unit.get("name") or ""),
                "unit_symbol": str(unit.get("symbol") or ""),
                "observation_type": datastream.observation_type,
                "raw_published": access == ThingAccess.PUBLIC,
                "department": str(department) if department else None,
                "phenomenon_time_start": datastream.phenomenon_time_start,
                "phenomenon_time_end": datastream.phenomenon_time_end,
            }
        )
    return rows


NUMBERS = (int(ResultType.FLOAT), int(ResultType.INTEGER))
STRING, BOOLEAN, JSON_RESULT = int(ResultType.STRING), int(ResultType.BOOLEAN), int(ResultType.JSON)


def _result(kind: int, number: Any, string: Any, boolean: Any, value: Any) -> tuple[float | None, str | None]:
    """The result as a number (`result`) or, for anything else, as text (`result_text`)."""
    if kind in NUMBERS:
        return number, None
    if kind == STRING:
        return None, string
    if kind == BOOLEAN:
        return None, "true" if boolean else "false"
    if kind == JSON_RESULT:
        return None, orjson.dumps(value).decode()
    return None, None


async def public_observations(
    session: AsyncSession,
    datastream_id: int,
    start: datetime | None = None,
    end: datetime | None = None,
    batch: int = PUBLICATION_BATCH,
) -> AsyncIterator[list[dict[str, Any]]]:
    """The Observations of one Datastream of a public Thing (none for any other), oldest first, in batches:
    `result` for numbers, `result_text` for other results. [start, end) bounds phenomenon time (daily files)."""
    async for rows in public_observations_of(session, [datastream_id], start, end, batch):
        yield rows


async def _public_ids(session: AsyncSession, datastream_ids: list[int]) -> list[int]:
    """Those of the Datastreams that belong to a public Thing, in id order."""
    if not datastream_ids:
        return []
    query = (
        select(Datastream.id)
        .join(Thing, Thing.id == Datastream.thing_id)
        .where(Datastream.id.in_(datastream_ids), Thing.access == ThingAccess.PUBLIC)
        .order_by(Datastream.id)
    )
    return list((await session.execute(query)).scalars())


async def public_observations_of(
    session: AsyncSession,
    datastream_ids: list[int],
    start: datetime | None = None,
    end: datetime | None = None,
    batch: int = PUBLICATION_BATCH,
) -> AsyncIterator[list[dict[str, Any]]]:
    """The Observations of several Datastreams of public Things (others are left out), one Datastream after
    the other in id order, each oldest first, in batches; [start, end) bounds phenomenon time."""
    public = await _public_ids(session, datastream_ids)
    if len(public) == 1 or start is None or end is None:
        for datastream_id in public:
            async for rows in _observations(session, datastream_id, start, end, batch):
                yield rows
        return
    # A bounded period (a day, a month) of many Datastreams: one query a batch for them all, read along the
    # (datastream, time) index and resumed after the last (datastream, time, id) read.
    bounds = [
        Observation.datastream_id.in_(public),
        Observation.phenomenon_time_start >= start,
        Observation.phenomenon_time_start < end,
    ]
    order = (Observation.datastream_id, Observation.phenomenon_time_start, Observation.id)
    after: tuple[int, datetime, int] | None = None
    while True:
        query = select(Observation.datastream_id, *_COLUMNS).where(*bounds)
        if after is not None:
            query = query.where(
                or_(
                    Observation.datastream_id > after[0],
                    and_(
                        Observation.datastream_id == after[0],
                        or_(
                            Observation.phenomenon_time_start > after[1],
                            and_(Observation.phenomenon_time_start == after[1], Observation.id > after[2]),
                        ),
                    ),
                )
            )
        found = (await session.execute(query.order_by(*order).limit(batch))).all()
        if not found:
            return
        yield [_row(row[0], row[1:]) for row in found]
        after = (found[-1][0], found[-1][2], found[-1][1])
        if len(found) < batch:
            return


def _utc_day(session: AsyncSession) -> Any:
    moment = Observation.phenomenon_time_start
    # SQLite keeps naive UTC text; PostgreSQL a timestamptz, whose day is taken in UTC.
    return func.date(moment) if session.get_bind().dialect.name == "sqlite" else func.date(func.timezone("UTC", moment))


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


async def daily_statistics(session: AsyncSession, datastream_ids: list[int]) -> list[dict[str, Any]]:
    """Per Datastream of a public Thing among `datastream_ids` and UTC day: how many numeric readings, their
    minimum, mean and maximum (computed by the database), by Datastream then day."""
    public = await _public_ids(session, datastream_ids)
    if not public:
        return []
    day = _utc_day(session)
    number = Observation.result_number
    query = (
        select(Observation.datastream_id, day, func.count(), func.min(number), func.avg(number), func.max(number))
        .where(Observation.datastream_id.in_(public), number.is_not(None))
        .group_by(Observation.datastream_id, day)
        .order_by(Observation.datastream_id, day)
    )
    return [
        {
            "datastream_id": datastream_id,
            "day": _as_date(value),
            "readings": int(count),
            "minimum": low,
            "mean": float(mean) if mean is not None else None,
            "maximum": high,
        }
        for datastream_id, value, count, low, mean, high in (await session.execute(query)).all()
    ]


async def observation_days(session: AsyncSession, datastream_ids: list[int]) -> dict[date, int]:
    """How many Observations the Datastreams of public Things among `datastream_ids` have per UTC day of their
    phenomenon time (days without any are left out): what tells a daily file changed without writing it."""
    public = await _public_ids(session, datastream_ids)
    if not public:
        return {}
    day = _utc_day(session)
    query = select(day, func.count()).where(Observation.datastream_id.in_(public)).group_by(day)
    return {_as_date(value): int(count) for value, count in (await session.execute(query)).all()}


_COLUMNS = (
    Observation.id,
    Observation.phenomenon_time_start,
    Observation.phenomenon_time_end,
    Observation.result_time,
    Observation.result_type,
    Observation.result_number,
    Observation.result_string,
    Observation.result_boolean,
    Observation.result_json,
)


def _row(datastream_id: int, row: Any) -> dict[str, Any]:
    observation_id, start_at, end_at, result_at, kind, number, string, boolean, value = row
    number, text = _result(kind, number, string, boolean, value)
    return {
        "id": observation_id,
        "datastream_id": datastream_id,
        "phenomenon_time": start_at,
        "phenomenon_time_end": end_at,
        "result_time": result_at,
        "result": number,
        "result_text": text,
    }


async def _observations(
    session: AsyncSession, datastream_id: int, start: datetime | None, end: datetime | None, batch: int
) -> AsyncIterator[list[dict[str, Any]]]:
    columns = _COLUMNS
    bounds = [Observation.datastream_id == datastream_id]
    if start is not None:
        bounds.append(Observation.phenomenon_time_start >= start)
    if end is not None:
        bounds.append(Observation.phenomenon_time_start < end)
    after: tuple[datetime, int] | None = None
    while True:
        query = select(*columns).where(*bounds)
        if after is not None:
            # The first condition is the index's range (datastream, time): each batch starts where the last ended.
            query = query.where(
                Observation.phenomenon_time_start >= after[0],
                or_(Observation.phenomenon_time_start > after[0], Observation.id > after[1]),
            )
        query = query.order_by(Observation.phenomenon_time_start, Observation.id).limit(batch)
        rows = (await session.execute(query)).all()
        if not rows:
            return
        out = []
        # Unpacked by position: reading a row's fields by name costs more than the query.
        for observation_id, start_at, end_at, result_at, kind, number, string, boolean, value in rows:
            number, text = _result(kind, number, string, boolean, value)
            out.append(
                {
                    "id": observation_id,
                    "datastream_id": datastream_id,
                    "phenomenon_time": start_at,
                    "phenomenon_time_end": end_at,
                    "result_time": result_at,
                    "result": number,
                    "result_text": text,
                }
            )
        yield out
        after = (rows[-1][1], rows[-1][0])
        if len(rows) < batch:
            return
