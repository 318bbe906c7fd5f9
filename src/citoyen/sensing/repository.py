"""Statements that several subjects of the SensorThings service share, kept apart from the rules.

The tables by name; the access of the Thing behind an entity (addressing refuses by it, events carry
it); the FeaturesOfInterest made from Things' Locations (single creates and bulk ingest); keeping
Datastreams' times and observed area covering their Observations (creates, updates and bulk ingest:
one statement per batch on PostgreSQL, tuned for ingest); an Observation batch's parents checked and locked once.
Each takes the session and returns rows or ids.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import shapely
from shapely.geometry import mapping, shape
from sqlalchemy import BigInteger, DateTime, bindparam, case, func, insert, literal, select, union_all, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import UTCDateTime
from citoyen.sensing.entities import ENTITY_SETS, MULTI_OBSERVED_PROPERTIES, THING_LOCATIONS, EntitySet
from citoyen.sensing.models import ThingAccess

THINGS = ENTITY_SETS["Things"].table
DATASTREAMS = ENTITY_SETS["Datastreams"].table
OBSERVATIONS = ENTITY_SETS["Observations"].table
LOCATIONS = ENTITY_SETS["Locations"].table
FEATURES = ENTITY_SETS["FeaturesOfInterest"].table
HISTORICAL_LOCATIONS = ENTITY_SETS["HistoricalLocations"].table
MULTI_DATASTREAMS = ENTITY_SETS["MultiDatastreams"].table


async def lock_observation_parents(
    session: AsyncSession, datastream_ids: Sequence[int], feature_ids: Sequence[int]
) -> tuple[list[int], list[int]]:
    """The integrity of a batch of Observations, checked once (PostgreSQL, where `sta_observations` has no foreign
    keys: see the migration "observation_store"): reads the batch's Datastreams and FeaturesOfInterest and locks
    them `FOR KEY SHARE` until the commit, so that a concurrent DELETE of one waits for the batch and its
    cascade trigger then deletes the batch's Observations too, and a batch that comes after the delete finds the
    row gone. Returns the ids NOT found (Datastreams, features), each sorted; SQLite's foreign keys need
    nothing here (empty lists), its writer holds the database."""
    if session.get_bind().dialect.name != "postgresql":
        return [], []
    missing = []
    for table, wanted in ((DATASTREAMS, datastream_ids), (FEATURES, feature_ids)):
        ids = sorted(set(wanted))
        found = (
            set(
                (
                    await session.execute(select(table.c.id).where(table.c.id.in_(ids)).with_for_update(key_share=True))
                ).scalars()
            )
            if ids
            else set()
        )
        missing.append([each for each in ids if each not in found])
    return missing[0], missing[1]


async def observation_datastream_id(session: AsyncSession, observation_id: int) -> int | None:
    """The Datastream an Observation belongs to; None when there is no such Observation."""
    return (
        await session.execute(select(OBSERVATIONS.c.datastream_id).where(OBSERVATIONS.c.id == observation_id))
    ).scalar()


async def thing_access_of_datastream(session: AsyncSession, datastream_id: int) -> tuple[str, int | None] | None:
    """The access and owner of a Datastream's Thing; None when there is no such Datastream."""
    row = (
        await session.execute(
            select(THINGS.c.access, THINGS.c.owner_person_id)
            .join(DATASTREAMS, DATASTREAMS.c.thing_id == THINGS.c.id)
            .where(DATASTREAMS.c.id == datastream_id)
        )
    ).first()
    return None if row is None else (str(row[0]), row[1])


async def thing_access_of(session: AsyncSession, entity_set: EntitySet, entity_id: int) -> tuple[str, int | None]:
    """The access of the Thing an entity belongs to (the most closed one for a shared Location, the most open one
    for a shared Sensor or ObservedProperty, as reading them allows)."""
    thing_ids: Any
    most_open = False
    if entity_set.name == "Things":
        thing_ids = select(literal(entity_id))
    elif entity_set.name in ("Datastreams", "HistoricalLocations", "MultiDatastreams"):
        thing_ids = select(entity_set.table.c.thing_id).where(entity_set.table.c.id == entity_id)
    elif entity_set.name == "Observations":
        thing_ids = union_all(
            select(DATASTREAMS.c.thing_id)
            .join(OBSERVATIONS, OBSERVATIONS.c.datastream_id == DATASTREAMS.c.id)
            .where(OBSERVATIONS.c.id == entity_id),
            select(MULTI_DATASTREAMS.c.thing_id)
            .join(OBSERVATIONS, OBSERVATIONS.c.multi_datastream_id == MULTI_DATASTREAMS.c.id)
            .where(OBSERVATIONS.c.id == entity_id),
        )
    elif entity_set.name == "Locations":
        thing_ids = select(THING_LOCATIONS.c.thing_id).where(THING_LOCATIONS.c.location_id == entity_id)
    elif entity_set.name in ("Sensors", "ObservedProperties"):
        # Shared across Things: as readable as the most open Thing using it (see access.visibility).
        column = DATASTREAMS.c.sensor_id if entity_set.name == "Sensors" else DATASTREAMS.c.observed_property_id
        multi = (
            select(MULTI_DATASTREAMS.c.thing_id).where(MULTI_DATASTREAMS.c.sensor_id == entity_id)
            if entity_set.name == "Sensors"
            else select(MULTI_DATASTREAMS.c.thing_id)
            .join(MULTI_OBSERVED_PROPERTIES, MULTI_OBSERVED_PROPERTIES.c.multi_datastream_id == MULTI_DATASTREAMS.c.id)
            .where(MULTI_OBSERVED_PROPERTIES.c.observed_property_id == entity_id)
        )
        thing_ids = union_all(select(DATASTREAMS.c.thing_id).where(column == entity_id), multi)
        most_open = True
    else:
        return ThingAccess.PUBLIC.value, None
    rows = (
        await session.execute(select(THINGS.c.access, THINGS.c.owner_person_id).where(THINGS.c.id.in_(thing_ids)))
    ).all()
    rank = {ThingAccess.PUBLIC.value: 0, ThingAccess.RESTRICTED.value: 1, ThingAccess.PERSONAL.value: 2}
    if not rows:
        return ThingAccess.PUBLIC.value, None
    pick = min if most_open else max
    access, owner = pick(((str(a), o) for a, o in rows), key=lambda item: rank[item[0]])
    return access, owner


async def feature_for_thing_location(session: AsyncSession, datastream_id: int) -> int | None:
    """The FeatureOfInterest made from the Location of the Datastream's Thing (made once, then reused)."""
    return (await features_for_thing_locations(session, [datastream_id]))[datastream_id]


async def features_for_thing_locations(session: AsyncSession, datastream_ids: Sequence[int]) -> dict[int, int | None]:
    """For each Datastream, the FeatureOfInterest made from its Thing's (first) Location, made on first use:
    two queries for any number of Datastreams, plus one insert per Location never used before."""
    first_location = (
        select(DATASTREAMS.c.id.label("datastream_id"), func.min(THING_LOCATIONS.c.location_id).label("location_id"))
        .join(THING_LOCATIONS, THING_LOCATIONS.c.thing_id == DATASTREAMS.c.thing_id)
        .where(DATASTREAMS.c.id.in_(set(datastream_ids)))
        .group_by(DATASTREAMS.c.id)
    )
    locations = {row.datastream_id: row.location_id for row in (await session.execute(first_location)).all()}
    made = await features_from_locations(session, set(locations.values()))
    return {
        datastream_id: made[locations[datastream_id]] if datastream_id in locations else None
        for datastream_id in datastream_ids
    }


async def features_from_locations(session: AsyncSession, location_ids: set[int]) -> dict[int, int]:
    """The FeatureOfInterest made from each Location (made now for those never used before)."""
    made = {
        row.generated_from_location_id: row.id
        for row in (
            await session.execute(
                select(FEATURES.c.generated_from_location_id, func.min(FEATURES.c.id).label("id"))
                .where(FEATURES.c.generated_from_location_id.in_(location_ids))
                .group_by(FEATURES.c.generated_from_location_id)
            )
        ).all()
    }
    for location_id in sorted(location_ids - made.keys()):
        location = (await session.execute(select(LOCATIONS).where(LOCATIONS.c.id == location_id))).mappings().one()
        made[location_id] = int(
            (
                await session.execute(
                    insert(FEATURES)
                    .values(
                        name=location["name"],
                        description=location["description"],
                        encoding_type=location["encoding_type"],
                        feature=location["location"],
                        lon=location["lon"],
                        lat=location["lat"],
                        generated_from_location_id=location_id,
                    )
                    .returning(FEATURES.c.id)
                )
            ).scalar_one()
        )
    return made


@dataclass
class Span:
    """What a batch of Observations adds to its Datastream: times covered and features observed."""

    phenomenon_start: datetime
    phenomenon_end: datetime
    result_start: datetime | None
    result_end: datetime | None
    feature_ids: set[int]

    def add(self, start: datetime, end: datetime, result_time: datetime | None, feature_id: int) -> None:
        self.phenomenon_start = min(self.phenomenon_start, start)
        self.phenomenon_end = max(self.phenomenon_end, end)
        if result_time is not None:
            self.result_start = result_time if self.result_start is None else min(self.result_start, result_time)
            self.result_end = result_time if self.result_end is None else max(self.result_end, result_time)
        self.feature_ids.add(feature_id)


def _earlier(current: Any, candidate: Any) -> Any:
    return case(
        (candidate.is_(None), current), (current.is_(None), candidate), (current > candidate, candidate), else_=current
    )


def _later(current: Any, candidate: Any) -> Any:
    return case(
        (candidate.is_(None), current), (current.is_(None), candidate), (current < candidate, candidate), else_=current
    )


async def extend_datastream(
    session: AsyncSession,
    datastream_id: int,
    phenomenon_start: datetime,
    phenomenon_end: datetime,
    result_start: datetime | None,
    result_end: datetime | None,
    feature_ids: set[int],
) -> None:
    """Keep a Datastream's phenomenonTime, resultTime and observedArea covering its Observations."""
    span = Span(phenomenon_start, phenomenon_end, result_start, result_end, set(feature_ids))
    await extend_datastreams(session, {datastream_id: span})


async def extend_datastreams(session: AsyncSession, spans: Mapping[int, Span]) -> None:
    """`extend_datastream` for many Datastreams: one UPDATE for the times, two reads for the areas, and
    one UPDATE per Datastream whose observedArea grew."""
    if not spans:
        return
    if session.get_bind().dialect.name == "postgresql":
        # One statement for the whole batch, its columns sent as arrays: it compiles once and stays cached.
        ordered = sorted(spans.items())
        moments = ARRAY(DateTime(timezone=True))
        batch = (
            func.unnest(
                bindparam("ids", [datastream_id for datastream_id, _ in ordered], type_=ARRAY(BigInteger)),
                bindparam("phenomenon_starts", [span.phenomenon_start for _, span in ordered], type_=moments),
                bindparam("phenomenon_ends", [span.phenomenon_end for _, span in ordered], type_=moments),
                bindparam("result_starts", [span.result_start for _, span in ordered], type_=moments),
                bindparam("result_ends", [span.result_end for _, span in ordered], type_=moments),
            )
            .table_valued("datastream_id", "phenomenon_start", "phenomenon_end", "result_start", "result_end")
            .render_derived(name="batch")
        )

        await session.execute(
            update(DATASTREAMS)
            .where(DATASTREAMS.c.id == batch.c.datastream_id)
            .values(
                phenomenon_time_start=_earlier(DATASTREAMS.c.phenomenon_time_start, batch.c.phenomenon_start),
                phenomenon_time_end=_later(DATASTREAMS.c.phenomenon_time_end, batch.c.phenomenon_end),
                result_time_start=_earlier(DATASTREAMS.c.result_time_start, batch.c.result_start),
                result_time_end=_later(DATASTREAMS.c.result_time_end, batch.c.result_end),
            )
        )
    else:
        for datastream_id, span in sorted(spans.items()):

            def bound(value: datetime | None) -> Any:
                return literal(value, UTCDateTime)

            await session.execute(
                update(DATASTREAMS)
                .where(DATASTREAMS.c.id == datastream_id)
                .values(
                    phenomenon_time_start=_earlier(DATASTREAMS.c.phenomenon_time_start, bound(span.phenomenon_start)),
                    phenomenon_time_end=_later(DATASTREAMS.c.phenomenon_time_end, bound(span.phenomenon_end)),
                    result_time_start=_earlier(DATASTREAMS.c.result_time_start, bound(span.result_start)),
                    result_time_end=_later(DATASTREAMS.c.result_time_end, bound(span.result_end)),
                )
            )
    feature_ids = set().union(*(span.feature_ids for span in spans.values()))
    features = {
        row.id: _shape(row.feature)
        for row in (
            await session.execute(select(FEATURES.c.id, FEATURES.c.feature).where(FEATURES.c.id.in_(feature_ids)))
        )
    }
    areas = {
        row.id: row.observed_area
        for row in await session.execute(
            select(DATASTREAMS.c.id, DATASTREAMS.c.observed_area).where(DATASTREAMS.c.id.in_(spans.keys()))
        )
    }
    for datastream_id, span in sorted(spans.items()):
        area = areas.get(datastream_id)
        current = _shape(area)
        geometries = [geometry for geometry in [current, *(features.get(f) for f in span.feature_ids)] if geometry]
        if not geometries:
            continue
        if current is not None and all(current.covers(g) for g in geometries[1:]):
            continue
        hull = shapely.union_all(geometries).convex_hull
        await session.execute(
            update(DATASTREAMS).where(DATASTREAMS.c.id == datastream_id).values(observed_area=json.dumps(mapping(hull)))
        )


def _shape(text: str | None) -> Any:
    """The shapely geometry of stored GeoJSON (a geometry or a Feature), or None when it is not GeoJSON."""
    if text is None:
        return None
    try:
        document = json.loads(text)
        return shape(document.get("geometry") if document.get("type") == "Feature" else document)
    except (ValueError, TypeError, AttributeError, KeyError, shapely.errors.GEOSException):
        return None


async def readings_spans(
    session: AsyncSession, entity_set: str, entity_id: int
) -> dict[int, tuple[datetime, datetime]]:
    """The phenomenon times each Datastream's readings span among the Observations that an update or deletion of
    this entity touches (itself, or those its deletion takes along), for the indicators' rollups to recompute:
    {datastream id: (first, last)}. A Datastream's own times (kept covering its Observations) stand for its
    readings, so a Thing's deletion reads no Observation. A MultiDatastream's Observations are not rolled up."""
    start, end = OBSERVATIONS.c.phenomenon_time_start, OBSERVATIONS.c.phenomenon_time_end
    if entity_set == "Observations":
        query = select(OBSERVATIONS.c.datastream_id, start, func.coalesce(end, start)).where(
            OBSERVATIONS.c.id == entity_id, OBSERVATIONS.c.datastream_id.is_not(None)
        )
    elif entity_set == "FeaturesOfInterest":
        query = (
            select(OBSERVATIONS.c.datastream_id, func.min(start), func.max(func.coalesce(end, start)))
            .where(OBSERVATIONS.c.feature_of_interest_id == entity_id, OBSERVATIONS.c.datastream_id.is_not(None))
            .group_by(OBSERVATIONS.c.datastream_id)
        )
    else:
        key = {
            "Datastreams": "id",
            "Things": "thing_id",
            "Sensors": "sensor_id",
            "ObservedProperties": "observed_property_id",
        }
        if entity_set not in key:
            return {}
        query = select(DATASTREAMS.c.id, DATASTREAMS.c.phenomenon_time_start, DATASTREAMS.c.phenomenon_time_end).where(
            DATASTREAMS.c[key[entity_set]] == entity_id, DATASTREAMS.c.phenomenon_time_start.is_not(None)
        )
    return {
        datastream_id: (first, last if last is not None else first)
        for datastream_id, first, last in (await session.execute(query)).all()
    }
