"""Who may see what: the conditions that keep personal Things (and everything under them) to their owner
and staff, and the raw Observations of restricted Things out of listings.

Every read (`read.py`), address (`addressing.py`) and link to an existing entity (`create.py`) adds
these conditions to its statement, so visibility is decided in one place.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, Table, and_, func, or_, select, union_all

from citoyen.sensing.context import Access
from citoyen.sensing.entities import MULTI_OBSERVED_PROPERTIES, THING_LOCATIONS, EntitySet
from citoyen.sensing.models import ThingAccess
from citoyen.sensing.repository import DATASTREAMS, MULTI_DATASTREAMS, OBSERVATIONS, THINGS


def _hidden_things(access: Access) -> Select[Any]:
    condition = THINGS.c.access == ThingAccess.PERSONAL.value
    if access.person_id is not None:
        condition = and_(condition, func.coalesce(THINGS.c.owner_person_id, -1) != access.person_id)
    return select(THINGS.c.id).where(condition)


def _hidden_locations(access: Access) -> Select[Any]:
    """Locations of hidden Things that no visible Thing shares (a shared Location is as public as its most
    open Thing: the public Thing shows it anyway)."""
    hidden = _hidden_things(access)
    shared = select(THING_LOCATIONS.c.location_id).where(THING_LOCATIONS.c.thing_id.not_in(hidden))
    return select(THING_LOCATIONS.c.location_id).where(
        THING_LOCATIONS.c.thing_id.in_(hidden), THING_LOCATIONS.c.location_id.not_in(shared)
    )


def _used_by_visible_things(table: Table, key: str, access: Access) -> ColumnElement[bool]:
    """Sensors and ObservedProperties follow their (Multi)Datastreams' Things: one used only by hidden Things is
    hidden too (a household meter's Sensor names the household); unused ones stay visible."""
    hidden = _hidden_things(access)
    column = DATASTREAMS.c[key]
    multi_from: Any = MULTI_DATASTREAMS
    if key == "sensor_id":
        multi_column = MULTI_DATASTREAMS.c.sensor_id
    else:
        multi_column = MULTI_OBSERVED_PROPERTIES.c.observed_property_id
        multi_from = MULTI_DATASTREAMS.join(
            MULTI_OBSERVED_PROPERTIES, MULTI_OBSERVED_PROPERTIES.c.multi_datastream_id == MULTI_DATASTREAMS.c.id
        )

    def used(visible: bool) -> Any:
        def by(thing_id: Any) -> ColumnElement[bool]:
            condition: ColumnElement[bool] = thing_id.not_in(hidden) if visible else thing_id.in_(hidden)
            return condition

        return union_all(
            select(column).where(by(DATASTREAMS.c.thing_id)),
            select(multi_column).select_from(multi_from).where(by(MULTI_DATASTREAMS.c.thing_id)),
        )

    return or_(table.c.id.in_(used(visible=True)), table.c.id.not_in(used(visible=False)))


def _hidden_streams(access: Access) -> tuple[Select[Any], Select[Any]]:
    """The Datastreams and the MultiDatastreams of the Things hidden from the viewer."""
    hidden = _hidden_things(access)
    return (
        select(DATASTREAMS.c.id).where(DATASTREAMS.c.thing_id.in_(hidden)),
        select(MULTI_DATASTREAMS.c.id).where(MULTI_DATASTREAMS.c.thing_id.in_(hidden)),
    )


def _observations_outside(table: Table, streams: Select[Any], multi_streams: Select[Any]) -> ColumnElement[bool]:
    """Observations of none of `streams` nor `multi_streams`. An Observation has one of its two keys: the other is
    NULL, which `NOT IN` would make unknown, hence the coalesce (ids are positive)."""
    return and_(
        func.coalesce(table.c.datastream_id, -1).not_in(streams),
        func.coalesce(table.c.multi_datastream_id, -1).not_in(multi_streams),
    )


def _visible_features(table: Table, access: Access) -> ColumnElement[bool]:
    """A feature made from a Location follows that Location; one a client created follows the Things whose
    Observations it is the feature of: hidden when all of them are hidden."""
    hidden_streams, hidden_multi = _hidden_streams(access)
    observed = OBSERVATIONS.c.feature_of_interest_id == table.c.id
    seen_by_hidden = select(OBSERVATIONS.c.id).where(
        observed,
        or_(OBSERVATIONS.c.datastream_id.in_(hidden_streams), OBSERVATIONS.c.multi_datastream_id.in_(hidden_multi)),
    )
    seen_by_visible = select(OBSERVATIONS.c.id).where(
        observed, _observations_outside(OBSERVATIONS, hidden_streams, hidden_multi)
    )
    return and_(
        func.coalesce(table.c.generated_from_location_id, -1).not_in(_hidden_locations(access)),
        or_(
            # In this order: a public feature is settled by its first visible Observation, not a scan of all.
            table.c.generated_from_location_id.is_not(None),
            seen_by_visible.exists(),
            ~seen_by_hidden.exists(),
        ),
    )


def visibility(
    entity_set: EntitySet, table: Table, access: Access, *, addressing: bool = False
) -> ColumnElement[bool] | None:
    """The rows of `entity_set` (as `table`) the viewer may read; None means all of them.

    `addressing` keeps the Observations of restricted Things, so that asking for one by id gets a 403
    that says why rather than a 404."""
    name = entity_set.name
    if name == "Observations" and addressing:
        if access.is_staff:
            return None
        return _observations_outside(table, *_hidden_streams(access))
    if name == "Observations":
        # Raw Observations of restricted Things are never listed (aggregates are served elsewhere).
        closed = select(THINGS.c.id).where(THINGS.c.access == ThingAccess.RESTRICTED.value)
        if not access.is_staff:
            closed = closed.union(_hidden_things(access))  # type: ignore[assignment]
        return _observations_outside(
            table,
            select(DATASTREAMS.c.id).where(DATASTREAMS.c.thing_id.in_(closed)),
            select(MULTI_DATASTREAMS.c.id).where(MULTI_DATASTREAMS.c.thing_id.in_(closed)),
        )
    if access.is_staff:
        return None
    if name == "Things":
        return table.c.id.not_in(_hidden_things(access))
    if name in ("Datastreams", "MultiDatastreams", "HistoricalLocations"):
        return table.c.thing_id.not_in(_hidden_things(access))
    if name == "Locations":
        return table.c.id.not_in(_hidden_locations(access))
    if name == "FeaturesOfInterest":
        return _visible_features(table, access)
    if name == "Sensors":
        return _used_by_visible_things(table, "sensor_id", access)
    if name == "ObservedProperties":
        return _used_by_visible_things(table, "observed_property_id", access)
    return None


def where_visible(query: Select[Any], entity_set: EntitySet, table: Any, access: Access) -> Select[Any]:
    condition = visibility(entity_set, table, access)
    return query if condition is None else query.where(condition)
