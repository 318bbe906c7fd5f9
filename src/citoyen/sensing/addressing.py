"""Resource paths (`Things(1)/Datastreams`, `Datastreams(2)/Thing/name/$value`) resolved to a `Target`:
the entity set, the conditions that select it, and the 404 or 403 when the viewer may not reach it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.sensing.access import visibility
from citoyen.sensing.context import Context, StaError
from citoyen.sensing.entities import ENTITY_SETS, EntitySet, Navigation, Property
from citoyen.sensing.models import ThingAccess
from citoyen.sensing.repository import thing_access_of
from citoyen.sensing.validation import id_in_range

SEGMENT = re.compile(r"^(?P<name>[A-Za-z]+|\$value|\$ref)(?:\((?P<id>[^)]*)\))?$")


@dataclass
class Target:
    """What a resource path designates."""

    entity_set: EntitySet
    conditions: list[ColumnElement[bool]]
    entity_id: int | None = None  # set when the path ends at one entity
    prop: Property | None = None
    raw_value: bool = False
    # `.../$ref`: the entity's or the collection's links only (usage 7 of the URL conventions).
    ref: bool = False
    # The single entity the last navigation started from, and the navigation (for POST into it).
    parent: tuple[EntitySet, int, Navigation] | None = None

    @property
    def single(self) -> bool:
        return self.entity_id is not None


def _parse_id(text: str | None, segment: str) -> int | None:
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise StaError(400, f"{segment!r}: ids are integers, as in Things(1)") from None
    if not id_in_range(value):
        # Beyond what a BIGINT holds: no such entity, on either database.
        raise StaError(404, f"{segment} not found")
    return value


def _related(nav: Navigation, target: EntitySet, source: EntitySet, source_id: int) -> ColumnElement[bool]:
    table = target.table
    if not nav.to_many:
        assert nav.source_key is not None
        return table.c.id == (
            select(source.table.c[nav.source_key]).where(source.table.c.id == source_id).scalar_subquery()
        )
    if nav.target_key:
        return table.c[nav.target_key] == source_id
    assert nav.link is not None and nav.link_source and nav.link_target
    return table.c.id.in_(select(nav.link.c[nav.link_target]).where(nav.link.c[nav.link_source] == source_id))


async def _existing_id(
    session: AsyncSession, ctx: Context, entity_set: EntitySet, conditions: list[ColumnElement[bool]], label: str
) -> int:
    query = select(entity_set.table.c.id).where(*conditions)
    condition = visibility(entity_set, entity_set.table, ctx.access, addressing=True)
    if condition is not None:
        query = query.where(condition)
    found = (await session.execute(query.limit(1))).scalar()
    if found is None:
        raise StaError(404, f"{label} not found")
    return int(found)


async def resolve_path(
    session: AsyncSession, ctx: Context, path: str, *, reading: bool = False, linking: bool = False
) -> Target:
    """Follow a resource path such as `Things(1)/Datastreams`, `Datastreams(2)/Thing/name/$value`. `$ref` paths
    are for reading, and for linking and unlinking (`links.py`)."""
    segments = [segment for segment in path.split("/") if segment]
    if not segments:
        raise StaError(404, "no entity set named")
    target: Target | None = None
    for segment in segments:
        match = SEGMENT.match(segment)
        if match is None:
            raise StaError(404, f"{segment!r} is not a valid path segment")
        name, entity_id = match["name"], _parse_id(match["id"], segment)
        if target is None:
            entity_set = ENTITY_SETS.get(name)
            if entity_set is None:
                known = ", ".join(ENTITY_SETS)
                raise StaError(404, f"no entity set named {name!r} (known: {known})")
            target = Target(entity_set, [])
        elif target.raw_value or target.ref:
            raise StaError(404, f"nothing follows {'$value' if target.raw_value else '$ref'} ({segment!r})")
        elif name == "$ref":
            if entity_id is not None or target.prop is not None:
                raise StaError(404, f"$ref follows an entity or a collection, not {segment!r}")
            if not reading and not linking:
                raise StaError(405, "$ref links with POST, PUT and DELETE; it is not created, updated or deleted")
            target.ref = True
            continue
        elif target.prop is not None:
            if name != "$value" or entity_id is not None:
                raise StaError(404, f"only $value may follow a property, not {segment!r}")
            target.raw_value = True
            continue
        elif target.entity_id is None:
            raise StaError(404, f"{segment!r} must follow a single entity, as in {target.entity_set.name}(1)/...")
        else:
            source = target.entity_set
            nav = source.navigation_by_name.get(name)
            prop = source.by_name.get(name) or (Property("id", "id", "number") if name == "id" else None)
            if nav is None and prop is not None and entity_id is None:
                target.prop = prop
                continue
            if nav is None:
                raise StaError(404, f"{source.singular} has no property or navigation property {name!r}")
            entity_set = ENTITY_SETS[nav.target]
            parent = (source, target.entity_id, nav)
            target = Target(entity_set, [_related(nav, entity_set, source, target.entity_id)], parent=parent)
            if not nav.to_many:
                target.entity_id = await _existing_id(session, ctx, entity_set, target.conditions, name)
                target.conditions = [entity_set.table.c.id == target.entity_id]
                continue
        if entity_id is not None:
            target.conditions = [*target.conditions, target.entity_set.table.c.id == entity_id]
            target.entity_id = await _existing_id(
                session, ctx, target.entity_set, target.conditions, f"{target.entity_set.singular}({entity_id})"
            )
    assert target is not None
    await _refuse_restricted_observations(session, ctx, target)
    return target


async def _refuse_restricted_observations(session: AsyncSession, ctx: Context, target: Target) -> None:
    """403 for raw Observations of a restricted Thing, asked for by their (Multi)Datastream or by id."""
    if target.entity_set.name != "Observations" or ctx.access.is_staff:
        return
    if target.entity_id is not None:
        found = await thing_access_of(session, target.entity_set, target.entity_id)
    elif target.parent is not None and target.parent[0].name in ("Datastreams", "MultiDatastreams"):
        found = await thing_access_of(session, target.parent[0], target.parent[1])
    else:
        return
    if found[0] == ThingAccess.RESTRICTED.value:
        raise StaError(403, "the raw Observations of this Thing are not public; its aggregates are published instead")
