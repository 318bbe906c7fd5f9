"""PATCH (JSON merge or JSON Patch), PUT and DELETE of a single entity, with the cascades of 18-088."""

from __future__ import annotations

from typing import Any

import jsonpatch
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.sensing import multi
from citoyen.sensing.addressing import resolve_path
from citoyen.sensing.context import Context, StaError
from citoyen.sensing.create import (
    change_event,
    check_linked,
    link_id,
    publish_changes,
    queue_change,
    record_historical_location,
)
from citoyen.sensing.entities import (
    ENTITY_SETS,
    HISTORICAL_LOCATION_LOCATIONS,
    MULTI_OBSERVED_PROPERTIES,
    THING_LOCATIONS,
)
from citoyen.sensing.events import announce_spans
from citoyen.sensing.read import current_document
from citoyen.sensing.repository import (
    HISTORICAL_LOCATIONS,
    OBSERVATIONS,
    extend_datastream,
    lock_observation_parents,
    readings_spans,
)
from citoyen.sensing.values import check_keys, column_values, merge_patch


async def update_entity(session: AsyncSession, ctx: Context, path: str, body: Any, *, mode: str) -> dict[str, Any]:
    """PATCH (JSON merge, mode "merge"), PATCH with a JSON Patch document ("json-patch") or PUT ("replace")."""
    target = await resolve_path(session, ctx, path)
    if not target.single or target.prop is not None:
        raise StaError(405, "only a single entity can be updated, as in Things(1)")
    entity_set, entity_id = target.entity_set, target.entity_id
    assert entity_id is not None
    if mode == "json-patch":
        current = await current_document(session, ctx, entity_set, entity_id)
        try:
            patched = jsonpatch.apply_patch(current, body)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, ValueError) as error:
            raise StaError(400, f"the JSON Patch cannot be applied: {error}") from None
        body = {key: value for key, value in patched.items() if current.get(key, _MISSING) != value}
        for key in current.keys() - patched.keys():
            body[key] = None
        body = {key: value for key, value in body.items() if not key.startswith("@iot.") and "@iot." not in key}
    if not isinstance(body, dict):
        raise StaError(400, f"the update of a {entity_set.singular} must be a JSON object")
    check_keys(entity_set, body)
    if mode == "replace":
        for prop in entity_set.properties:
            if not prop.read_only and prop.name not in body and not prop.required:
                body[prop.name] = None
    if mode == "merge" and isinstance(body.get("properties"), dict) and "properties" in entity_set.by_name:
        # JSON Merge Patch (RFC 7396) down into `properties`: what the PATCH leaves out is kept.
        stored = await session.scalar(select(entity_set.table.c.properties).where(entity_set.table.c.id == entity_id))
        body = {**body, "properties": merge_patch(stored, body["properties"])}
    columns = await column_values(session, ctx, entity_set, body, creating=mode == "replace")
    before = await _readings_touched(session, ctx, entity_set.name, entity_id)
    for nav in entity_set.navigations:
        value = body.get(nav.name)
        if value is None:
            continue
        target_set = ENTITY_SETS[nav.target]
        if not nav.to_many:
            assert nav.source_key is not None
            columns[nav.source_key] = await check_linked(session, ctx, target_set, _update_link(nav.name, value))
        elif entity_set.name == "Things" and nav.name == "Locations":
            await _replace_thing_locations(session, ctx, entity_id, value)
        else:
            back = next(
                (each.name for each in target_set.navigations if not each.to_many and each.target == entity_set.name),
                None,
            )
            where = f"; link each from its side ({target_set.singular}.{back})" if back else ""
            raise StaError(400, f"{entity_set.singular}.{nav.name} cannot be changed in an update{where}")
    if entity_set.name == "Observations":
        await _relink_observation(session, columns)
    if columns:
        await session.execute(update(entity_set.table).where(entity_set.table.c.id == entity_id).values(**columns))
    datastream_id = multi_datastream_id = None
    if entity_set.name == "Observations":
        row = (
            await session.execute(
                select(
                    OBSERVATIONS.c.phenomenon_time_start,
                    OBSERVATIONS.c.phenomenon_time_end,
                    OBSERVATIONS.c.result_time,
                    OBSERVATIONS.c.feature_of_interest_id,
                    OBSERVATIONS.c.datastream_id,
                    OBSERVATIONS.c.multi_datastream_id,
                    OBSERVATIONS.c.result_type,
                    OBSERVATIONS.c.result_json,
                ).where(OBSERVATIONS.c.id == entity_id)
            )
        ).one()
        datastream_id, multi_datastream_id = row.datastream_id, row.multi_datastream_id
        span = (row[0], row[1] or row[0], row[2], row[2], {row[3]})
        if datastream_id is not None:
            await extend_datastream(session, datastream_id, *span)
        else:
            assert multi_datastream_id is not None
            size = (await multi.result_sizes(session, {multi_datastream_id}))[multi_datastream_id]
            problem = multi.result_problem(row.result_type, row.result_json, size)
            if problem is not None:
                raise StaError(400, problem)
            await multi.extend(session, multi_datastream_id, *span)
        if before is not None and ctx.bus is not None:  # the reading as it was and as it is now
            after = await readings_spans(session, entity_set.name, entity_id)
            for key, (first, last) in after.items():
                known = before.get(key)
                before[key] = (first, last) if known is None else (min(known[0], first), max(known[1], last))
            await announce_spans(session, ctx.bus, before)
    if entity_set.name == "MultiDatastreams":
        await multi.check_multi_datastream(session, entity_id)
    await queue_change(
        session,
        ctx,
        entity_set,
        entity_id,
        "update",
        datastream_id=datastream_id,
        multi_datastream_id=multi_datastream_id,
    )
    return await current_document(session, ctx, entity_set, entity_id)


async def _relink_observation(session: AsyncSession, columns: dict[str, Any]) -> None:
    """An Observation linked anew: to a Datastream or to a MultiDatastream (the other link is dropped), and the new
    parents locked `FOR KEY SHARE` until the commit, as the store locks a new Observation's (PostgreSQL's table has
    no foreign keys: a FeatureOfInterest deleted meanwhile would leave it pointing at nothing)."""
    if columns.get("datastream_id") is not None and columns.get("multi_datastream_id") is not None:
        raise StaError(400, "an Observation belongs to a Datastream or to a MultiDatastream, not to both")
    if columns.get("datastream_id") is not None:
        columns["multi_datastream_id"] = None
    elif columns.get("multi_datastream_id") is not None:
        columns["datastream_id"] = None
    datastreams, features = await lock_observation_parents(
        session,
        [columns["datastream_id"]] if columns.get("datastream_id") is not None else [],
        [columns["feature_of_interest_id"]] if "feature_of_interest_id" in columns else [],
    )
    if datastreams:
        raise StaError(400, f"Datastream({datastreams[0]}) does not exist")
    if features:
        raise StaError(400, f"FeatureOfInterest({features[0]}) does not exist")
    if columns.get("multi_datastream_id") is not None:
        await multi.lock(session, {columns["multi_datastream_id"]})


_MISSING = object()


async def _readings_touched(
    session: AsyncSession, ctx: Context, entity_set: str, entity_id: int
) -> dict[int, tuple[Any, Any]] | None:
    """The readings an update or deletion of this entity changes, when someone hears of it (the indicators'
    rollups): None otherwise, and nothing is read."""
    if ctx.bus is None or not ctx.bus.hears_changed_readings:
        return None
    return await readings_spans(session, entity_set, entity_id)


def _update_link(navigation: str, value: Any) -> int:
    """An update links related entities by id only (18-088, 10.3): new ones are created by a POST first."""
    linked = link_id(value)
    if linked is None:
        raise StaError(
            400,
            f"{navigation}: an update links existing entities by @iot.id only; create new ones with a POST first",
        )
    return linked


async def _replace_thing_locations(session: AsyncSession, ctx: Context, thing_id: int, value: Any) -> None:
    if not isinstance(value, list):
        raise StaError(400, "Thing.Locations must be a list")
    location_ids = [
        await check_linked(session, ctx, ENTITY_SETS["Locations"], _update_link("Locations", item)) for item in value
    ]
    await session.execute(delete(THING_LOCATIONS).where(THING_LOCATIONS.c.thing_id == thing_id))
    if location_ids:
        await session.execute(
            insert(THING_LOCATIONS), [{"thing_id": thing_id, "location_id": lid} for lid in dict.fromkeys(location_ids)]
        )
    await record_historical_location(session, ctx, thing_id)


async def delete_entity(session: AsyncSession, ctx: Context, path: str) -> None:
    """DELETE with the cascades of 18-088: a Thing takes its Datastreams (and their Observations) and
    HistoricalLocations, a (Multi)Datastream its Observations, a Sensor or ObservedProperty its (Multi)Datastreams, a
    FeatureOfInterest its Observations, a Location the HistoricalLocations that pointed at it."""
    target = await resolve_path(session, ctx, path)
    if not target.single or target.prop is not None:
        raise StaError(405, "only a single entity can be deleted, as in Things(1)")
    entity_set, entity_id = target.entity_set, target.entity_id
    assert entity_id is not None
    event = await change_event(session, ctx, entity_set, entity_id, "delete")
    gone = await _readings_touched(session, ctx, entity_set.name, entity_id)
    if gone and ctx.bus is not None:
        await announce_spans(session, ctx.bus, gone)
    if entity_set.name == "Locations":
        await session.execute(
            delete(HISTORICAL_LOCATIONS).where(
                HISTORICAL_LOCATIONS.c.id.in_(
                    select(HISTORICAL_LOCATION_LOCATIONS.c.historical_location_id).where(
                        HISTORICAL_LOCATION_LOCATIONS.c.location_id == entity_id
                    )
                )
            )
        )
    if entity_set.name == "ObservedProperties":
        # A MultiDatastream cannot lose one of its ObservedProperties (its results hold a value for each): it goes
        # with it, as a Datastream goes with its ObservedProperty.
        multi_table = ENTITY_SETS["MultiDatastreams"].table
        await session.execute(
            delete(multi_table).where(
                multi_table.c.id.in_(
                    select(MULTI_OBSERVED_PROPERTIES.c.multi_datastream_id).where(
                        MULTI_OBSERVED_PROPERTIES.c.observed_property_id == entity_id
                    )
                )
            )
        )
    await session.execute(delete(entity_set.table).where(entity_set.table.c.id == entity_id))
    await publish_changes(session, ctx, [event])
