"""POST: create an entity with its related entities (deep insert) or link existing ones by @iot.id, and
record where a Thing is whenever its Locations change (HistoricalLocations).

The events every write queues live here too, beside the writes (`update.py` uses them as well): they are
built in the request's transaction and go out on the bus only after the commit (`events.queue_events`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.sensing import multi
from citoyen.sensing.access import visibility
from citoyen.sensing.addressing import resolve_path
from citoyen.sensing.context import Context, StaError
from citoyen.sensing.entities import (
    API_PATH,
    ENTITY_SETS,
    HISTORICAL_LOCATION_LOCATIONS,
    MULTI_OBSERVED_PROPERTIES,
    THING_LOCATIONS,
    EntitySet,
)
from citoyen.sensing.events import SensingEvent, queue_events
from citoyen.sensing.read import current_document
from citoyen.sensing.repository import (
    HISTORICAL_LOCATIONS,
    OBSERVATIONS,
    extend_datastream,
    feature_for_thing_location,
    lock_observation_parents,
    thing_access_of,
)
from citoyen.sensing.validation import id_in_range
from citoyen.sensing.values import check_keys, column_values


def link_id(value: Any) -> int | None:
    """The id when `value` links an existing entity: {"@iot.id": 3}. Like FROST-Server, other properties
    sent beside the id (a client echoing the whole entity) are ignored: a link never edits."""
    if isinstance(value, dict) and "@iot.id" in value:
        entity_id = value["@iot.id"]
        if not isinstance(entity_id, int) or isinstance(entity_id, bool):
            raise StaError(400, "@iot.id must be an integer")
        if not id_in_range(entity_id):
            raise StaError(400, f"@iot.id {entity_id} names no entity (ids are 64-bit integers)")
        return entity_id
    return None


async def check_linked(session: AsyncSession, ctx: Context, entity_set: EntitySet, entity_id: int) -> int:
    condition = visibility(entity_set, entity_set.table, ctx.access) if entity_set.name != "Observations" else None
    query = select(entity_set.table.c.id).where(entity_set.table.c.id == entity_id)
    if condition is not None:
        query = query.where(condition)
    if (await session.execute(query)).first() is None:
        raise StaError(400, f"{entity_set.singular}({entity_id}) does not exist")
    return entity_id


async def create(
    session: AsyncSession, ctx: Context, entity_set: EntitySet, body: Any, fixed: Mapping[str, int] | None = None
) -> int:
    """Create an entity with its related entities (deep insert) or link existing ones by @iot.id.

    `fixed` holds foreign keys set by the context: the parent of a deep insert, or the entity of a
    POST to a navigation path (`POST Datastreams(1)/Observations`)."""
    if not isinstance(body, dict):
        raise StaError(400, f"a {entity_set.singular} must be a JSON object")
    existing = link_id(body)
    if existing is not None:
        return await check_linked(session, ctx, entity_set, existing)
    check_keys(entity_set, body)
    fixed = dict(fixed or {})
    if entity_set.name == "Observations":
        return await _create_observation(session, ctx, body, fixed)

    columns = await column_values(session, ctx, entity_set, body, creating=True)
    for nav in entity_set.navigations:
        if nav.to_many or nav.source_key is None:
            continue
        if nav.source_key in fixed:
            columns[nav.source_key] = fixed[nav.source_key]
        elif body.get(nav.name) is not None:
            columns[nav.source_key] = await create(session, ctx, ENTITY_SETS[nav.target], body[nav.name])
        elif nav.required:
            raise StaError(400, f'a new {entity_set.singular} needs its {nav.name} (inline, or {{"@iot.id": n}})')
    table = entity_set.table
    entity_id = int((await session.execute(insert(table).values(**columns).returning(table.c.id))).scalar_one())
    for key, value in fixed.items():
        if key.startswith("link:"):
            _, link_name, source_column, target_column = key.split(":")
            link = THING_LOCATIONS if link_name == "thing_locations" else HISTORICAL_LOCATION_LOCATIONS
            await session.execute(insert(link).values({source_column: value, target_column: entity_id}))
    await _create_children(session, ctx, entity_set, entity_id, body)
    if entity_set.name == "MultiDatastreams":
        await multi.check_multi_datastream(session, entity_id)
    if entity_set.name == "Locations" and any(key.startswith("link:thing_locations") for key in fixed):
        await record_historical_location(session, ctx, fixed["link:thing_locations:thing_id:location_id"])
    await queue_change(session, ctx, entity_set, entity_id, "create")
    return entity_id


async def _create_children(
    session: AsyncSession, ctx: Context, entity_set: EntitySet, entity_id: int, body: Mapping[str, Any]
) -> None:
    for nav in entity_set.navigations:
        if not nav.to_many or body.get(nav.name) is None:
            continue
        children = body[nav.name]
        if not isinstance(children, list):
            raise StaError(400, f"{entity_set.singular}.{nav.name} must be a list")
        target = ENTITY_SETS[nav.target]
        if nav.link is MULTI_OBSERVED_PROPERTIES and nav.link_order is None:
            raise StaError(400, "a MultiDatastream is created with its ObservedProperties, in the order of its results")
        for position, child in enumerate(children):
            if nav.target_key:
                await create(session, ctx, target, child, {nav.target_key: entity_id})
                continue
            assert nav.link is not None and nav.link_source and nav.link_target
            child_id = link_id(child)
            if child_id is not None:
                await check_linked(session, ctx, target, child_id)
            else:
                child_id = await create(session, ctx, target, child)
            row = {nav.link_source: entity_id, nav.link_target: child_id}
            if nav.link_order is not None:
                row[nav.link_order] = position
            await session.execute(insert(nav.link).values(row))
        if entity_set.name == "Things" and nav.name == "Locations" and children:
            await record_historical_location(session, ctx, entity_id)
        if entity_set.name == "Locations" and nav.name == "Things":
            for thing_id in (
                await session.execute(
                    select(THING_LOCATIONS.c.thing_id).where(THING_LOCATIONS.c.location_id == entity_id)
                )
            ).scalars():
                await record_historical_location(session, ctx, thing_id)


async def record_historical_location(session: AsyncSession, ctx: Context, thing_id: int) -> None:
    """A Thing's Locations changed: remember where it is from now on (18-088 HistoricalLocation)."""
    historical_id = int(
        (
            await session.execute(
                insert(HISTORICAL_LOCATIONS)
                .values(thing_id=thing_id, time=utcnow())
                .returning(HISTORICAL_LOCATIONS.c.id)
            )
        ).scalar_one()
    )
    location_ids = (
        await session.execute(select(THING_LOCATIONS.c.location_id).where(THING_LOCATIONS.c.thing_id == thing_id))
    ).scalars()
    rows = [{"historical_location_id": historical_id, "location_id": location_id} for location_id in location_ids]
    if rows:
        await session.execute(insert(HISTORICAL_LOCATION_LOCATIONS), rows)
    await queue_change(session, ctx, ENTITY_SETS["HistoricalLocations"], historical_id, "create")


async def _create_observation(
    session: AsyncSession, ctx: Context, body: Mapping[str, Any], fixed: dict[str, int]
) -> int:
    observations = ENTITY_SETS["Observations"]
    columns = await column_values(session, ctx, observations, body, creating=True)
    if "multi_datastream_id" in fixed or body.get("MultiDatastream") is not None:
        return await _create_multi_observation(session, ctx, body, fixed, columns)
    if "datastream_id" in fixed:
        columns["datastream_id"] = fixed["datastream_id"]
    elif body.get("Datastream") is not None:
        columns["datastream_id"] = await create(session, ctx, ENTITY_SETS["Datastreams"], body["Datastream"])
    else:
        raise StaError(400, 'a new Observation needs its Datastream (inline, or {"@iot.id": n})')
    if "feature_of_interest_id" in fixed:
        columns["feature_of_interest_id"] = fixed["feature_of_interest_id"]
    elif body.get("FeatureOfInterest") is not None:
        columns["feature_of_interest_id"] = await create(
            session, ctx, ENTITY_SETS["FeaturesOfInterest"], body["FeatureOfInterest"]
        )
    else:
        feature_id = await feature_for_thing_location(session, columns["datastream_id"])
        if feature_id is None:
            raise StaError(
                400, "this Observation needs a FeatureOfInterest: its Thing has no Location to make one from"
            )
        columns["feature_of_interest_id"] = feature_id
    datastreams, features = await lock_observation_parents(
        session, [columns["datastream_id"]], [columns["feature_of_interest_id"]]
    )
    if datastreams or features:
        missing = f"Datastream({datastreams[0]})" if datastreams else f"FeatureOfInterest({features[0]})"
        raise StaError(400, f"{missing} does not exist")
    entity_id = int(
        (await session.execute(insert(OBSERVATIONS).values(**columns).returning(OBSERVATIONS.c.id))).scalar_one()
    )
    end = columns.get("phenomenon_time_end") or columns["phenomenon_time_start"]
    result_time = columns.get("result_time")
    await extend_datastream(
        session,
        columns["datastream_id"],
        columns["phenomenon_time_start"],
        end,
        result_time,
        result_time,
        {columns["feature_of_interest_id"]},
    )
    await queue_change(session, ctx, observations, entity_id, "create", datastream_id=columns["datastream_id"])
    return entity_id


async def _create_multi_observation(
    session: AsyncSession, ctx: Context, body: Mapping[str, Any], fixed: dict[str, int], columns: dict[str, Any]
) -> int:
    """An Observation of a MultiDatastream: its result an array of one value per ObservedProperty (400 otherwise)."""
    if "datastream_id" in fixed or body.get("Datastream") is not None:
        raise StaError(400, "an Observation belongs to a Datastream or to a MultiDatastream, not to both")
    if "multi_datastream_id" in fixed:
        multi_datastream_id = fixed["multi_datastream_id"]
    else:
        multi_datastream_id = await create(session, ctx, ENTITY_SETS["MultiDatastreams"], body["MultiDatastream"])
    size = (await multi.result_sizes(session, {multi_datastream_id})).get(multi_datastream_id)
    if size is None:
        raise StaError(400, f"MultiDatastream({multi_datastream_id}) does not exist")
    problem = multi.result_problem(columns["result_type"], columns["result_json"], size)
    if problem is not None:
        raise StaError(400, problem)
    if "feature_of_interest_id" in fixed:
        columns["feature_of_interest_id"] = fixed["feature_of_interest_id"]
    elif body.get("FeatureOfInterest") is not None:
        columns["feature_of_interest_id"] = await create(
            session, ctx, ENTITY_SETS["FeaturesOfInterest"], body["FeatureOfInterest"]
        )
    (entity_id,) = await multi.store(
        session, ctx, [multi.MultiRow({**columns, "multi_datastream_id": multi_datastream_id})]
    )
    return entity_id


# --- Events ----------------------------------------------------------------------------------------------------


DEFERRED_CHANGES = "citoyen.sensing.deferred_changes"


async def change_event(
    session: AsyncSession,
    ctx: Context,
    entity_set: EntitySet,
    entity_id: int,
    kind: Any,
    datastream_id: int | None = None,
    multi_datastream_id: int | None = None,
) -> SensingEvent:
    payload = {} if kind == "delete" else await current_document(session, ctx, entity_set, entity_id)
    access, owner = await thing_access_of(session, entity_set, entity_id)
    if entity_set.name == "Datastreams":
        datastream_id = entity_id
    if entity_set.name == "MultiDatastreams":
        multi_datastream_id = entity_id
    return SensingEvent(
        kind,
        entity_set.name,
        entity_id,
        f"{API_PATH}/{entity_set.name}({entity_id})",
        payload,
        access,
        datastream_id,
        owner,
        multi_datastream_id,
    )


async def queue_change(
    session: AsyncSession,
    ctx: Context,
    entity_set: EntitySet,
    entity_id: int,
    kind: str,
    datastream_id: int | None = None,
    multi_datastream_id: int | None = None,
) -> None:
    if ctx.bus is None or not ctx.bus.has_subscribers:
        return
    deferred = session.info.get(DEFERRED_CHANGES)
    if deferred is not None:  # inside a deep insert: its links decide who may hear (see create_at)
        deferred.append((entity_set, entity_id, kind, datastream_id, multi_datastream_id))
        return
    change = await change_event(session, ctx, entity_set, entity_id, kind, datastream_id, multi_datastream_id)
    await publish_changes(session, ctx, [change])


async def publish_changes(session: AsyncSession, ctx: Context, events: list[SensingEvent]) -> None:
    if ctx.bus is not None and ctx.bus.has_subscribers:
        await queue_events(session, ctx.bus, events)


async def created_document(
    session: AsyncSession, ctx: Context, entity_set: EntitySet, entity_id: int
) -> dict[str, Any]:
    return await current_document(session, ctx, entity_set, entity_id)


def _refuse_other_parent(entity_set: EntitySet, key: str, parent: str, parent_id: int, body: Any) -> None:
    """A POST to `Datastreams(1)/Observations` creates Observations of Datastream 1: a body that names another
    one is a contradiction, refused rather than settled silently either way."""
    if not isinstance(body, dict):
        return
    for nav in entity_set.navigations:
        if nav.source_key == key and nav.name in body:
            named = link_id(body[nav.name])
            if named != parent_id:
                raise StaError(
                    400,
                    f"this {entity_set.singular} is created under {parent}({parent_id}); its {nav.name} cannot differ",
                )


async def create_at(session: AsyncSession, ctx: Context, path: str, body: Any) -> tuple[EntitySet, int]:
    """POST to a collection (`Things`) or to a navigation collection (`Datastreams(1)/Observations`)."""
    target = await resolve_path(session, ctx, path)
    if target.single or target.prop is not None:
        raise StaError(405, "POST creates entities in a collection, as in /Things or /Datastreams(1)/Observations")
    fixed: dict[str, int] = {}
    if target.parent is not None:
        source, source_id, nav = target.parent
        if nav.target_key:
            fixed[nav.target_key] = source_id
            _refuse_other_parent(target.entity_set, nav.target_key, source.singular, source_id, body)
        elif nav.link is not None and source.name == "Things" and nav.name == "Locations":
            fixed["link:thing_locations:thing_id:location_id"] = source_id
        else:
            raise StaError(405, f"entities cannot be created under {source.singular}/{nav.name}")
    if isinstance(body, dict) and "@iot.id" in body:
        raise StaError(400, "@iot.id is assigned by the server")
    # A deep insert creates a Sensor before the Datastream that links it to its Thing: the changes are told once
    # the whole insert is made, so that a personal Thing's Sensor is announced as personal, not as public.
    deferred: list[tuple[EntitySet, int, str, int | None, int | None]] = []
    session.info[DEFERRED_CHANGES] = deferred
    try:
        entity_id = await create(session, ctx, target.entity_set, body, fixed)
    finally:
        session.info.pop(DEFERRED_CHANGES, None)
    changes = [await change_event(session, ctx, *change) for change in deferred]
    await publish_changes(session, ctx, changes)
    return target.entity_set, entity_id
