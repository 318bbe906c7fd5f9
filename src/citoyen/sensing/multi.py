"""The MultiDatastream extension (OGC 18-088 §14): a Thing's Sensor observing several ObservedProperties at once,
each Observation's result an array of one value per ObservedProperty.

The entity set itself is in `entities.py` (reading, `$filter`, `$expand`, deep insert and links come with it);
here are its rules: the sizes of `unitOfMeasurements`, `multiObservationDataTypes` and `ObservedProperties` agree,
each result has that size, and its Observations are stored in `sta_observations` (keyed by `multi_datastream_id`)
with the integrity the store keeps for Datastreams: on PostgreSQL, where the table has no foreign keys, the
MultiDatastreams and FeaturesOfInterest of a write are locked `FOR KEY SHARE` until the commit, and a statement
trigger deletes the Observations of deleted MultiDatastreams (migration "sta_multi_datastreams").
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import shapely
from shapely.geometry import mapping
from sqlalchemy import func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import UTCDateTime
from citoyen.sensing.context import Context, StaError
from citoyen.sensing.entities import ENTITY_SETS, MULTI_OBSERVED_PROPERTIES, THING_LOCATIONS
from citoyen.sensing.models import COMPLEX_OBSERVATION, ResultType
from citoyen.sensing.repository import (
    FEATURES,
    MULTI_DATASTREAMS,
    OBSERVATIONS,
    _earlier,
    _later,
    _shape,
    features_from_locations,
    lock_observation_parents,
)


async def check_multi_datastream(session: AsyncSession, multi_datastream_id: int) -> None:
    """A MultiDatastream as created or updated: OM_ComplexObservation, a unit (an object) and a data type (a string)
    for each of its ObservedProperties, in the same order (400 otherwise, and nothing is stored)."""
    row = (
        (
            await session.execute(
                select(
                    MULTI_DATASTREAMS.c.observation_type,
                    MULTI_DATASTREAMS.c.unit_of_measurements,
                    MULTI_DATASTREAMS.c.multi_observation_data_types,
                ).where(MULTI_DATASTREAMS.c.id == multi_datastream_id)
            )
        )
        .mappings()
        .one()
    )
    if row["observation_type"] != COMPLEX_OBSERVATION:
        raise StaError(400, f"the observationType of a MultiDatastream is {COMPLEX_OBSERVATION}")
    units, types = row["unit_of_measurements"], row["multi_observation_data_types"]
    if not isinstance(units, list) or not all(isinstance(unit, dict) for unit in units):
        raise StaError(400, "unitOfMeasurements must be an array of objects with name, symbol and definition")
    if not isinstance(types, list) or not all(isinstance(kind, str) for kind in types):
        raise StaError(400, "multiObservationDataTypes must be an array of observation type URIs (strings)")
    properties = await session.scalar(
        select(func.count()).where(MULTI_OBSERVED_PROPERTIES.c.multi_datastream_id == multi_datastream_id)
    )
    if not properties:
        raise StaError(400, 'a MultiDatastream needs its ObservedProperties (inline, or [{"@iot.id": n}, ...])')
    if not len(units) == len(types) == properties:
        raise StaError(
            400,
            f"a MultiDatastream has one unit and one data type per ObservedProperty: {properties} ObservedProperties, "
            f"{len(units)} unitOfMeasurements and {len(types)} multiObservationDataTypes",
        )


async def result_sizes(session: AsyncSession, multi_datastream_ids: set[int]) -> dict[int, int]:
    """How many values each MultiDatastream's results hold (its data types'); unknown ids are left out."""
    if not multi_datastream_ids:
        return {}
    rows = await session.execute(
        select(MULTI_DATASTREAMS.c.id, MULTI_DATASTREAMS.c.multi_observation_data_types).where(
            MULTI_DATASTREAMS.c.id.in_(multi_datastream_ids)
        )
    )
    return {row.id: len(row.multi_observation_data_types) for row in rows}


def result_problem(result_type: int, result: Any, size: int) -> str | None:
    """Why a result cannot be an Observation of a MultiDatastream whose results hold `size` values, or None."""
    if result_type != ResultType.JSON or not isinstance(result, list):
        return f"the result of a MultiDatastream's Observation is an array of {size} values, one per ObservedProperty"
    if len(result) != size:
        return f"the result has {len(result)} values, and this MultiDatastream's Observations have {size}"
    return None


async def features_of(session: AsyncSession, multi_datastream_ids: set[int]) -> dict[int, int | None]:
    """For each MultiDatastream, the FeatureOfInterest made from its Thing's (first) Location; None without one."""
    if not multi_datastream_ids:
        return {}
    first_location = (
        select(
            MULTI_DATASTREAMS.c.id.label("multi_datastream_id"),
            func.min(THING_LOCATIONS.c.location_id).label("location_id"),
        )
        .join(THING_LOCATIONS, THING_LOCATIONS.c.thing_id == MULTI_DATASTREAMS.c.thing_id)
        .where(MULTI_DATASTREAMS.c.id.in_(multi_datastream_ids))
        .group_by(MULTI_DATASTREAMS.c.id)
    )
    locations = {row.multi_datastream_id: row.location_id for row in await session.execute(first_location)}
    made = await features_from_locations(session, set(locations.values()))
    return {each: made[locations[each]] if each in locations else None for each in multi_datastream_ids}


async def lock(session: AsyncSession, multi_datastream_ids: set[int], feature_ids: Collection[int] = ()) -> None:
    """The write's MultiDatastreams and FeaturesOfInterest, checked, and on PostgreSQL locked `FOR KEY SHARE` until
    the commit (as `repository.lock_observation_parents` does for Datastreams): a concurrent DELETE waits, then its
    trigger takes these Observations too; one that came first leaves nothing to link to (400)."""
    query = select(MULTI_DATASTREAMS.c.id).where(MULTI_DATASTREAMS.c.id.in_(sorted(multi_datastream_ids)))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(key_share=True)
    found = set((await session.execute(query)).scalars())
    missing = sorted(set(multi_datastream_ids) - found)
    if missing:
        raise StaError(400, f"MultiDatastream({missing[0]}) does not exist")
    _streams, features = await lock_observation_parents(session, [], sorted(feature_ids))
    if features:
        raise StaError(400, f"FeatureOfInterest({features[0]}) does not exist")


@dataclass(frozen=True, slots=True)
class MultiRow:
    """One Observation of a MultiDatastream ready to store: its columns (`sta_observations`' names)."""

    columns: Mapping[str, Any]


async def store(session: AsyncSession, ctx: Context, rows: Sequence[MultiRow]) -> list[int]:
    """Store checked Observations of MultiDatastreams (results of the right size, a FeatureOfInterest made from the
    Thing's Location where none is named), keep their MultiDatastreams' times and areas covering them, queue their
    events; returns the new ids in order."""
    if not rows:
        return []
    records = [dict(row.columns) for row in rows]
    without = {record["multi_datastream_id"] for record in records if record.get("feature_of_interest_id") is None}
    if without:
        features = await features_of(session, without)
        lacking = sorted(each for each, feature in features.items() if feature is None)
        if lacking:
            raise StaError(
                400,
                f"MultiDatastream({lacking[0]}): its Observations need a FeatureOfInterest, and its Thing has no "
                "Location to make one from",
            )
        for record in records:
            if record.get("feature_of_interest_id") is None:
                record["feature_of_interest_id"] = features[record["multi_datastream_id"]]
    await lock(
        session,
        {record["multi_datastream_id"] for record in records},
        {record["feature_of_interest_id"] for record in records},
    )
    ids = list(
        (
            await session.execute(
                insert(OBSERVATIONS).returning(OBSERVATIONS.c.id, sort_by_parameter_order=True),
                [{"datastream_id": None, **record} for record in records],
            )
        ).scalars()
    )
    await _extend(session, records)
    # Imported here: `create` stores a single Observation of a MultiDatastream through this module.
    from citoyen.sensing.create import queue_change

    observations = ENTITY_SETS["Observations"]
    for new_id, record in zip(ids, records, strict=True):
        await queue_change(
            session, ctx, observations, new_id, "create", multi_datastream_id=record["multi_datastream_id"]
        )
    return ids


async def _extend(session: AsyncSession, records: Sequence[Mapping[str, Any]]) -> None:
    """Keep each MultiDatastream's phenomenonTime, resultTime and observedArea covering its Observations."""
    spans: dict[int, list[Any]] = {}
    for record in records:
        start = record["phenomenon_time_start"]
        end = record.get("phenomenon_time_end") or start
        result_time = record.get("result_time")
        span = spans.setdefault(record["multi_datastream_id"], [start, end, result_time, result_time, set()])
        span[0], span[1] = min(span[0], start), max(span[1], end)
        if result_time is not None:
            span[2] = result_time if span[2] is None else min(span[2], result_time)
            span[3] = result_time if span[3] is None else max(span[3], result_time)
        span[4].add(record["feature_of_interest_id"])
    for multi_datastream_id, (start, end, result_start, result_end, feature_ids) in sorted(spans.items()):
        await extend(session, multi_datastream_id, start, end, result_start, result_end, feature_ids)


async def extend(
    session: AsyncSession,
    multi_datastream_id: int,
    phenomenon_start: datetime,
    phenomenon_end: datetime,
    result_start: datetime | None,
    result_end: datetime | None,
    feature_ids: set[int],
) -> None:
    """A MultiDatastream's times and observed area grown to cover new (or changed) Observations."""

    def bound(value: datetime | None) -> Any:
        return literal(value, UTCDateTime)

    table = MULTI_DATASTREAMS
    await session.execute(
        update(table)
        .where(table.c.id == multi_datastream_id)
        .values(
            phenomenon_time_start=_earlier(table.c.phenomenon_time_start, bound(phenomenon_start)),
            phenomenon_time_end=_later(table.c.phenomenon_time_end, bound(phenomenon_end)),
            result_time_start=_earlier(table.c.result_time_start, bound(result_start)),
            result_time_end=_later(table.c.result_time_end, bound(result_end)),
        )
    )
    current = _shape(await session.scalar(select(table.c.observed_area).where(table.c.id == multi_datastream_id)))
    features = [
        _shape(text)
        for text in (await session.execute(select(FEATURES.c.feature).where(FEATURES.c.id.in_(feature_ids)))).scalars()
    ]
    geometries = [geometry for geometry in [current, *features] if geometry is not None]
    if not geometries or (current is not None and all(current.covers(g) for g in geometries[1:])):
        return
    hull = shapely.union_all(geometries).convex_hull
    await session.execute(
        update(table).where(table.c.id == multi_datastream_id).values(observed_area=json.dumps(mapping(hull)))
    )


async def parent_topics(session: AsyncSession, multi_datastream_id: int, version: str) -> list[str]:
    """The MQTT topics of a new MultiDatastream's parents' collections (18-088 §14.2.2)."""
    row = (
        await session.execute(
            select(MULTI_DATASTREAMS.c.thing_id, MULTI_DATASTREAMS.c.sensor_id).where(
                MULTI_DATASTREAMS.c.id == multi_datastream_id
            )
        )
    ).first()
    if row is None:
        return []
    properties = (
        await session.execute(
            select(MULTI_OBSERVED_PROPERTIES.c.observed_property_id)
            .where(MULTI_OBSERVED_PROPERTIES.c.multi_datastream_id == multi_datastream_id)
            .order_by(MULTI_OBSERVED_PROPERTIES.c.position)
        )
    ).scalars()
    return [
        f"{version}/Things({row.thing_id})/MultiDatastreams",
        f"{version}/Sensors({row.sensor_id})/MultiDatastreams",
        *(f"{version}/ObservedProperties({each})/MultiDatastreams" for each in dict.fromkeys(properties)),
    ]
