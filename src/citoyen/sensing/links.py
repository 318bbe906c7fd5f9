"""Linking and unlinking through `$ref` (OData 4.01 Part 1 §11.4.6, the URL conventions' usage 7 for writing):

- `POST Things(1)/Locations/$ref` with `{"@iot.id": 5}` (or `{"@iot.selfLink": ".../Locations(5)"}`, or OData's
  `{"@odata.id": ...}`) adds Location 5 to Thing 1's Locations; `DELETE Things(1)/Locations(5)/$ref` (or
  `DELETE Things(1)/Locations/$ref?$id=.../Locations(5)`) removes it. Where the collection is held by a key on its
  members (`Things(1)/Datastreams`), POST moves the member to this entity, as a PATCH of its own link would;
- `PUT Datastreams(1)/Sensor/$ref` with the new Sensor changes a to-one link.

Every link of the data model that is a foreign key is required (a Datastream always has a Thing, an Observation
always has a Datastream): removing one is a 400 that says what to do instead. Thing–Location changes record a
HistoricalLocation, as a PATCH of `Thing.Locations` does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import affected_rows
from citoyen.sensing.addressing import resolve_path
from citoyen.sensing.context import Context, StaError
from citoyen.sensing.create import check_linked, link_id, queue_change, record_historical_location
from citoyen.sensing.entities import ENTITY_SETS, MULTI_OBSERVED_PROPERTIES, THING_LOCATIONS, EntitySet, Navigation
from citoyen.sensing.update import update_entity
from citoyen.sensing.validation import id_in_range

_LINK = re.compile(r"(?:^|/)(?P<set>[A-Za-z]+)\((?P<id>\d+)\)/?$")


def is_ref(path: str) -> bool:
    return path.rstrip("/").endswith("$ref")


def _named(value: str, target: EntitySet, what: str) -> int:
    """The id in a link URL (`http://host/sta/v1.1/Locations(5)`, `../Locations(5)`, `Locations(5)`)."""
    match = _LINK.search(unquote(urlsplit(value).path))
    if match is None or match["set"] != target.name:
        raise StaError(400, f"{what} must name one of the {target.name}, as in {target.name}(1)")
    entity_id = int(match["id"])
    if not id_in_range(entity_id):
        raise StaError(400, f"{target.singular}({entity_id}) does not exist")
    return entity_id


def _linked_id(body: Any, target: EntitySet) -> int:
    if isinstance(body, dict):
        entity_id = link_id(body) if "@iot.id" in body else None
        if entity_id is not None:
            return entity_id
        for key in ("@iot.selfLink", "@odata.id"):
            if isinstance(body.get(key), str):
                return _named(body[key], target, key)
    raise StaError(400, f'name the {target.singular} to link: {{"@iot.id": 1}} or {{"@iot.selfLink": "..."}}')


def _back(nav: Navigation, source: EntitySet) -> Navigation | None:
    """The to-one navigation of the members of a to-many one held by a key (`Datastream.Thing` for
    `Thing.Datastreams`)."""
    return next(
        (
            each
            for each in ENTITY_SETS[nav.target].navigations
            if not each.to_many and each.source_key == nav.target_key and each.target == source.name
        ),
        None,
    )


async def write_link(
    session: AsyncSession, ctx: Context, method: str, path: str, body: Any, params: Mapping[str, str]
) -> None:
    """POST (link into a collection), PUT (change a to-one link) or DELETE (unlink) at a `.../$ref` path."""
    target = await resolve_path(session, ctx, path, linking=True)
    if target.parent is None:
        raise StaError(400, "$ref links an entity's navigation property, as in Things(1)/Locations/$ref")
    source, source_id, nav = target.parent
    member_set = ENTITY_SETS[nav.target]
    if nav.link is MULTI_OBSERVED_PROPERTIES:
        raise StaError(
            400,
            "a MultiDatastream's ObservedProperties are fixed with its units and data types (one each, in the order of "
            "its results): create a new MultiDatastream instead",
        )
    if method == "PUT":
        if nav.to_many:
            raise StaError(405, f"{source.singular}.{nav.name} is a collection: POST a link into it, DELETE one")
        member = await check_linked(session, ctx, member_set, _linked_id(body, member_set))
        await update_entity(session, ctx, f"{source.name}({source_id})", {nav.name: {"@iot.id": member}}, mode="merge")
        return
    if not nav.to_many:
        raise StaError(
            400,
            f"{source.singular}.{nav.name} is required: link another {member_set.singular} with PUT instead",
        )
    if method == "POST":
        if target.entity_id is not None:
            raise StaError(405, f"POST the link to the collection, as in {source.name}({source_id})/{nav.name}/$ref")
        member = await check_linked(session, ctx, member_set, _linked_id(body, member_set))
        await _link(session, ctx, source, source_id, nav, member)
        return
    member_id = target.entity_id
    if member_id is None:
        if "$id" not in params:
            raise StaError(400, f"name the link to remove: {source.name}({source_id})/{nav.name}(1)/$ref, or $id=")
        member_id = _named(params["$id"], member_set, "$id")
        await check_linked(session, ctx, member_set, member_id)
    await _unlink(session, ctx, source, source_id, nav, member_id)


async def _link(
    session: AsyncSession, ctx: Context, source: EntitySet, source_id: int, nav: Navigation, member_id: int
) -> None:
    if nav.target_key:
        back = _back(nav, source)
        if back is None:  # pragma: no cover - every key-held collection of the model has its to-one side
            raise StaError(400, f"{source.singular}.{nav.name} cannot be linked through $ref")
        await update_entity(
            session, ctx, f"{nav.target}({member_id})", {back.name: {"@iot.id": source_id}}, mode="merge"
        )
        return
    assert nav.link is not None and nav.link_source and nav.link_target
    row = {nav.link_source: source_id, nav.link_target: member_id}
    present = select(nav.link.c[nav.link_source]).where(*(nav.link.c[key] == value for key, value in row.items()))
    if (await session.execute(present)).first() is None:
        await session.execute(insert(nav.link).values(**row))
        await _linked_changed(session, ctx, source, source_id, nav, member_id)


async def _unlink(
    session: AsyncSession, ctx: Context, source: EntitySet, source_id: int, nav: Navigation, member_id: int
) -> None:
    if nav.target_key:
        back = _back(nav, source)
        name = back.name if back is not None else source.singular
        raise StaError(
            400,
            f"a {ENTITY_SETS[nav.target].singular} always has its {name}: link it to another one "
            f"(PUT {nav.target}({member_id})/{name}/$ref) or delete it",
        )
    assert nav.link is not None and nav.link_source and nav.link_target
    removed = await session.execute(
        delete(nav.link).where(nav.link.c[nav.link_source] == source_id, nav.link.c[nav.link_target] == member_id)
    )
    if not affected_rows(removed):
        raise StaError(404, f"{ENTITY_SETS[nav.target].singular}({member_id}) is not linked to this {source.singular}")
    await _linked_changed(session, ctx, source, source_id, nav, member_id)


async def _linked_changed(
    session: AsyncSession, ctx: Context, source: EntitySet, source_id: int, nav: Navigation, member_id: int
) -> None:
    """A Thing whose Locations changed records where it now is; the entities on both sides are told as updated."""
    if nav.link is THING_LOCATIONS:
        thing_id = source_id if source.name == "Things" else member_id
        await record_historical_location(session, ctx, thing_id)
    await queue_change(session, ctx, source, source_id, "update")
    await queue_change(session, ctx, ENTITY_SETS[nav.target], member_id, "update")
