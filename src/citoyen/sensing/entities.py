"""The SensorThings entity model as the API sees it: entity sets, their JSON properties and navigation
properties, how each maps to tables, how a row becomes JSON, and the `$filter`/`$orderby` resolver."""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, Table, select
from sqlalchemy.engine import RowMapping

from citoyen.sensing.models import (
    Datastream,
    FeatureOfInterest,
    HistoricalLocation,
    HistoricalLocationLocation,
    Location,
    MultiDatastream,
    MultiDatastreamObservedProperty,
    Observation,
    ObservedProperty,
    ResultType,
    Sensor,
    Thing,
    ThingLocation,
)
from citoyen.sensing.query import QueryError, ResolvedProperty
from citoyen.sensing.query_navigation import Navigated

API_PATH = "/sta/v1.1"

Kind = Literal["number", "string", "datetime", "boolean", "json", "geometry"]


@dataclass(frozen=True)
class Property:
    """A JSON property of an entity: where it lives and how it is read back."""

    name: str
    column: str  # the column (for intervals, the start column)
    kind: Kind
    required: bool = False
    interval_end: str | None = None  # the end column of a time interval (phenomenonTime, validTime, ...)
    # Set when the server maintains the value (Datastream.phenomenonTime): clients cannot write it.
    read_only: bool = False


@dataclass(frozen=True)
class Navigation:
    """A navigation property. `to_many` ones go either by a foreign key on the target (`target_key`) or
    through a link table (`link`, `link_source`, `link_target`); to-one ones by a key on the source."""

    name: str
    target: str  # entity set name
    to_many: bool
    source_key: str | None = None  # to-one: the column on the source holding the target's id
    target_key: str | None = None  # to-many by foreign key: the column on the target holding the source's id
    link: Table | None = None
    link_source: str | None = None
    link_target: str | None = None
    required: bool = False  # to-one links a new entity must have (a Datastream's Thing, ...)
    # A to-one whose key may be NULL and is still read as a semi-join in `$filter` (an Observation's Datastream,
    # absent when it belongs to a MultiDatastream): a row without the link matches no condition through it.
    semi_join: bool = False
    # A link table's column that orders the members (a MultiDatastream's ObservedProperties), when no $orderby does.
    link_order: str | None = None


@dataclass(frozen=True)
class EntitySet:
    name: str  # "Things"
    singular: str  # "Thing"
    table: Table
    properties: tuple[Property, ...]
    navigations: tuple[Navigation, ...]
    by_name: Mapping[str, Property] = field(default_factory=dict)
    navigation_by_name: Mapping[str, Navigation] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {prop.name: prop for prop in self.properties})
        object.__setattr__(self, "navigation_by_name", {nav.name: nav for nav in self.navigations})

    def columns(self) -> list[Any]:
        """Everything a row needs for serialisation and for following its to-one navigations."""
        names = {"id"}
        for prop in self.properties:
            names.add(prop.column)
            if prop.interval_end:
                names.add(prop.interval_end)
        for nav in self.navigations:
            if nav.source_key:
                names.add(nav.source_key)
        names |= EXTRA_COLUMNS.get(self.name, set())
        return [self.table.c[name] for name in sorted(names)]


def _t(model: Any) -> Table:
    table: Table = model.__table__
    return table


THING_LOCATIONS = _t(ThingLocation)
HISTORICAL_LOCATION_LOCATIONS = _t(HistoricalLocationLocation)
MULTI_OBSERVED_PROPERTIES = _t(MultiDatastreamObservedProperty)

EXTRA_COLUMNS: dict[str, set[str]] = {
    "Things": {"access", "owner_person_id", "kind"},
    "Observations": {"result_type", "result_number", "result_string", "result_boolean", "result_json"},
}

ENTITY_SETS: dict[str, EntitySet] = {
    entity_set.name: entity_set
    for entity_set in (
        EntitySet(
            "Things",
            "Thing",
            _t(Thing),
            (
                Property("name", "name", "string", required=True),
                Property("description", "description", "string", required=True),
                Property("properties", "properties", "json"),
            ),
            (
                Navigation(
                    "Locations",
                    "Locations",
                    True,
                    link=THING_LOCATIONS,
                    link_source="thing_id",
                    link_target="location_id",
                ),
                Navigation("HistoricalLocations", "HistoricalLocations", True, target_key="thing_id"),
                Navigation("Datastreams", "Datastreams", True, target_key="thing_id"),
                Navigation("MultiDatastreams", "MultiDatastreams", True, target_key="thing_id"),
            ),
        ),
        EntitySet(
            "Locations",
            "Location",
            _t(Location),
            (
                Property("name", "name", "string", required=True),
                Property("description", "description", "string", required=True),
                Property("encodingType", "encoding_type", "string", required=True),
                Property("location", "location", "geometry", required=True),
                Property("properties", "properties", "json"),
            ),
            (
                Navigation(
                    "Things", "Things", True, link=THING_LOCATIONS, link_source="location_id", link_target="thing_id"
                ),
                Navigation(
                    "HistoricalLocations",
                    "HistoricalLocations",
                    True,
                    link=HISTORICAL_LOCATION_LOCATIONS,
                    link_source="location_id",
                    link_target="historical_location_id",
                ),
            ),
        ),
        EntitySet(
            "HistoricalLocations",
            "HistoricalLocation",
            _t(HistoricalLocation),
            (Property("time", "time", "datetime", required=True),),
            (
                Navigation("Thing", "Things", False, source_key="thing_id", required=True),
                Navigation(
                    "Locations",
                    "Locations",
                    True,
                    link=HISTORICAL_LOCATION_LOCATIONS,
                    link_source="historical_location_id",
                    link_target="location_id",
                ),
            ),
        ),
        EntitySet(
            "Sensors",
            "Sensor",
            _t(Sensor),
            (
                Property("name", "name", "string", required=True),
                Property("description", "description", "string", required=True),
                Property("encodingType", "encoding_type", "string", required=True),
                Property("metadata", "metadata", "json", required=True),
                Property("properties", "properties", "json"),
            ),
            (
                Navigation("Datastreams", "Datastreams", True, target_key="sensor_id"),
                Navigation("MultiDatastreams", "MultiDatastreams", True, target_key="sensor_id"),
            ),
        ),
        EntitySet(
            "ObservedProperties",
            "ObservedProperty",
            _t(ObservedProperty),
            (
                Property("name", "name", "string", required=True),
                Property("definition", "definition", "string", required=True),
                Property("description", "description", "string", required=True),
                Property("properties", "properties", "json"),
            ),
            (
                Navigation("Datastreams", "Datastreams", True, target_key="observed_property_id"),
                Navigation(
                    "MultiDatastreams",
                    "MultiDatastreams",
                    True,
                    link=MULTI_OBSERVED_PROPERTIES,
                    link_source="observed_property_id",
                    link_target="multi_datastream_id",
                ),
            ),
        ),
        EntitySet(
            "Datastreams",
            "Datastream",
            _t(Datastream),
            (
                Property("name", "name", "string", required=True),
                Property("description", "description", "string", required=True),
                Property("unitOfMeasurement", "unit_of_measurement", "json", required=True),
                Property("observationType", "observation_type", "string", required=True),
                Property("observedArea", "observed_area", "geometry", read_only=True),
                Property(
                    "phenomenonTime",
                    "phenomenon_time_start",
                    "datetime",
                    interval_end="phenomenon_time_end",
                    read_only=True,
                ),
                Property("resultTime", "result_time_start", "datetime", interval_end="result_time_end", read_only=True),
                Property("properties", "properties", "json"),
            ),
            (
                Navigation("Thing", "Things", False, source_key="thing_id", required=True),
                Navigation("Sensor", "Sensors", False, source_key="sensor_id", required=True),
                Navigation(
                    "ObservedProperty", "ObservedProperties", False, source_key="observed_property_id", required=True
                ),
                Navigation("Observations", "Observations", True, target_key="datastream_id"),
            ),
        ),
        EntitySet(
            "MultiDatastreams",
            "MultiDatastream",
            _t(MultiDatastream),
            (
                Property("name", "name", "string", required=True),
                Property("description", "description", "string", required=True),
                Property("unitOfMeasurements", "unit_of_measurements", "json", required=True),
                Property("observationType", "observation_type", "string", required=True),
                Property("multiObservationDataTypes", "multi_observation_data_types", "json", required=True),
                Property("observedArea", "observed_area", "geometry", read_only=True),
                Property(
                    "phenomenonTime",
                    "phenomenon_time_start",
                    "datetime",
                    interval_end="phenomenon_time_end",
                    read_only=True,
                ),
                Property("resultTime", "result_time_start", "datetime", interval_end="result_time_end", read_only=True),
                Property("properties", "properties", "json"),
            ),
            (
                Navigation("Thing", "Things", False, source_key="thing_id", required=True),
                Navigation("Sensor", "Sensors", False, source_key="sensor_id", required=True),
                Navigation(
                    "ObservedProperties",
                    "ObservedProperties",
                    True,
                    link=MULTI_OBSERVED_PROPERTIES,
                    link_source="multi_datastream_id",
                    link_target="observed_property_id",
                    link_order="position",
                ),
                Navigation("Observations", "Observations", True, target_key="multi_datastream_id"),
            ),
        ),
        EntitySet(
            "FeaturesOfInterest",
            "FeatureOfInterest",
            _t(FeatureOfInterest),
            (
                Property("name", "name", "string", required=True),
                Property("description", "description", "string", required=True),
                Property("encodingType", "encoding_type", "string", required=True),
                Property("feature", "feature", "geometry", required=True),
                Property("properties", "properties", "json"),
            ),
            (Navigation("Observations", "Observations", True, target_key="feature_of_interest_id"),),
        ),
        EntitySet(
            "Observations",
            "Observation",
            _t(Observation),
            (
                Property("phenomenonTime", "phenomenon_time_start", "datetime", interval_end="phenomenon_time_end"),
                Property("resultTime", "result_time", "datetime"),
                Property("result", "result_number", "number", required=True),
                Property("resultQuality", "result_quality", "json"),
                Property("validTime", "valid_time_start", "datetime", interval_end="valid_time_end"),
                Property("parameters", "parameters", "json"),
            ),
            (
                Navigation("Datastream", "Datastreams", False, source_key="datastream_id", semi_join=True),
                Navigation(
                    "MultiDatastream", "MultiDatastreams", False, source_key="multi_datastream_id", semi_join=True
                ),
                Navigation("FeatureOfInterest", "FeaturesOfInterest", False, source_key="feature_of_interest_id"),
            ),
        ),
    )
}
# "Datastream" -> "Datastreams": entity sets are addressed by plural, navigation results carry singulars.
BY_SINGULAR = {entity_set.singular: entity_set for entity_set in ENTITY_SETS.values()}


# --- JSON values ------------------------------------------------------------------------------------------


def format_time(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z: whole seconds, milliseconds or microseconds, whichever is exact."""
    if value is None:
        return None
    microsecond = value.microsecond
    timespec = "seconds" if not microsecond else "milliseconds" if microsecond % 1000 == 0 else "microseconds"
    # isoformat ends in +00:00 for UTC; it is much faster than strftime on big collections.
    return value.astimezone(UTC).isoformat(timespec=timespec)[:-6] + "Z"


def format_interval(start: datetime | None, end: datetime | None) -> str | None:
    """An instant, or `start/end` when the value is an interval."""
    if start is None:
        return None
    if end is None:
        return format_time(start)
    return f"{format_time(start)}/{format_time(end)}"


def format_time_range(start: datetime | None, end: datetime | None) -> str | None:
    """A Datastream's phenomenonTime/resultTime: always an interval (18-088 Table 10)."""
    if start is None:
        return None
    return f"{format_time(start)}/{format_time(end or start)}"


def result_value(row: Mapping[Any, Any]) -> Any:
    kind = row["result_type"]
    if kind == ResultType.FLOAT:
        return row["result_number"]
    if kind == ResultType.INTEGER:
        return int(row["result_number"])
    if kind == ResultType.STRING:
        return row["result_string"]
    if kind == ResultType.BOOLEAN:
        return bool(row["result_boolean"])
    if kind == ResultType.JSON:
        return row["result_json"]
    return None


def _geometry(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def property_value(entity_set: EntitySet, prop: Property, row: Mapping[Any, Any]) -> Any:
    """A property's JSON value from a row holding `entity_set.columns()`."""
    return _reader(entity_set.name, prop)(row)


Reader = Callable[[Mapping[Any, Any]], Any]
_READERS: dict[str, tuple[tuple[Property, Reader], ...]] = {}


def _readers(entity_set: EntitySet) -> tuple[tuple[Property, Reader], ...]:
    readers = _READERS.get(entity_set.name)
    if readers is None:
        readers = _READERS[entity_set.name] = tuple((p, _reader(entity_set.name, p)) for p in entity_set.properties)
    return readers


def _reader(entity_set_name: str, prop: Property) -> Reader:
    """How to read `prop` from a row, decided once per property rather than for every row (a collection
    of a thousand Datastreams reads tens of thousands of values)."""
    column, end = prop.column, prop.interval_end
    if prop.name == "result":
        return result_value
    if end:
        if entity_set_name in ("Datastreams", "MultiDatastreams"):
            return lambda row: format_time_range(row[column], row[end])
        return lambda row: format_interval(row[column], row[end])
    if prop.kind == "datetime":
        return lambda row: format_time(row[column])
    if prop.kind == "geometry":
        return lambda row: _geometry(row[column])
    return operator.itemgetter(column)


def thing_settings(row: Mapping[Any, Any]) -> dict[str, Any]:
    """Citoyen's settings of a Thing, as instance annotations beside its properties (which hold only what its
    clients wrote) and written the same way."""
    settings: dict[str, Any] = {"@citoyen.access": str(row["access"]), "@citoyen.kind": str(row["kind"])}
    if row["owner_person_id"] is not None:
        settings["@citoyen.owner"] = row["owner_person_id"]
    return settings


def self_link(base: str, entity_set: EntitySet, entity_id: int) -> str:
    return f"{base}{API_PATH}/{entity_set.name}({entity_id})"


def serialize(
    base: str,
    entity_set: EntitySet,
    row: Mapping[Any, Any],
    select: tuple[tuple[str, ...], ...] = (),
) -> dict[str, Any]:
    """The JSON of one entity (without expansions), honouring `$select`."""
    entity_id = row["id"]
    link = self_link(base, entity_set, entity_id)
    selected = {path[0] for path in select}
    everything = not selected
    document: dict[str, Any] = {}
    if everything or "id" in selected:
        document["@iot.id"] = entity_id
    if everything or "selfLink" in selected:
        document["@iot.selfLink"] = link
    if everything and entity_set.name == "Things":
        document.update(thing_settings(row))
    for prop, read in _readers(entity_set):
        if everything or prop.name in selected:
            value = read(row)
            # Unset optional properties are left out, as FROST-Server does (its clients expect that);
            # an Observation's result is always written, null included.
            if value is not None or prop.name == "result":
                document[prop.name] = value
    for nav in entity_set.navigations:
        if everything or nav.name in selected:
            # An Observation links its Datastream or its MultiDatastream, never both: no link that leads nowhere.
            if nav.semi_join and nav.source_key and row[nav.source_key] is None:
                continue
            document[f"{nav.name}@iot.navigationLink"] = f"{link}/{nav.name}"
    return document


def check_select(entity_set: EntitySet, select: tuple[tuple[str, ...], ...]) -> None:
    for path in select:
        name = path[0]
        if len(path) > 1 or (
            name not in entity_set.by_name
            and name not in entity_set.navigation_by_name
            and name not in ("id", "selfLink")
        ):
            raise QueryError(f"{entity_set.singular} has no property {'/'.join(path)!r}", None, "$select")


# --- $filter / $orderby ------------------------------------------------------------------------------------


# The rows of an entity set (as a table or an alias) a viewer may read: `sensing.access.visibility` for one viewer.
Visibility = Callable[["EntitySet", Any], ColumnElement[bool] | None]


class Resolver:
    """Property paths of one entity set, as SQL on `table` (the set's table, or an alias of it).

    To-one navigation paths (`Datastream/Thing/name`) become correlated scalar subqueries. A condition through a
    to-many navigation property (`Datastreams/name eq 'x'` on Things) is an any-match semi-join (`navigate`),
    offered only when `visible` says which related rows the viewer may read; elsewhere (`$orderby`, or mixed in one
    comparison with other paths) such a path is refused with a clear message."""

    def __init__(self, entity_set: EntitySet, table: Any = None, visible: Visibility | None = None) -> None:
        self.entity_set = entity_set
        self.table = table if table is not None else entity_set.table
        self.visible = visible

    def navigate(self, head: str) -> Navigated | None:
        """A to-one navigation property whose key is NOT NULL, or a to-many one, for `$filter` to read as a
        semi-join."""
        nav = self.entity_set.navigation_by_name.get(head)
        if nav is None:
            return None
        target = ENTITY_SETS[nav.target]
        inner = target.table.alias()
        resolver = Resolver(target, inner, self.visible)
        if nav.to_many:
            if self.visible is None:
                return None
            visible = self.visible(target, inner)
            if nav.target_key:
                return Navigated(self.table.c.id, inner.c[nav.target_key], resolver, visible=visible)
            assert nav.link is not None and nav.link_source and nav.link_target
            link = nav.link.alias()
            joined = link.join(inner, link.c[nav.link_target] == inner.c.id)
            return Navigated(self.table.c.id, link.c[nav.link_source], resolver, joined, visible)
        if nav.source_key is None:
            return None
        key = self.table.c[nav.source_key]
        if key.nullable and not nav.semi_join:
            return None
        return Navigated(key, inner.c.id, resolver)

    def resolve(self, path: tuple[str | int, ...]) -> ResolvedProperty:
        if not path or not isinstance(path[0], str):
            raise QueryError("a property name is expected")
        head = path[0]
        entity_set, table = self.entity_set, self.table
        if head == "id":
            if len(path) > 1:
                raise QueryError("'id' has no sub-properties")
            return ResolvedProperty(table.c.id, "number")
        nav = entity_set.navigation_by_name.get(head)
        if nav is not None:
            if nav.to_many:
                raise QueryError(
                    f"{head!r} holds many entities: compare its properties in a condition of their own "
                    f"({head}/name eq 'x' keeps the entities that have one such), not in $orderby or beside other paths"
                )
            if len(path) == 1:
                raise QueryError(f"{head!r} is an entity, not a value: name one of its properties")
            target = ENTITY_SETS[nav.target]
            inner = target.table.alias()
            assert nav.source_key is not None
            source_key: str = nav.source_key
            resolved = Resolver(target, inner).resolve(path[1:])

            def correlate(expression: ColumnElement[Any]) -> ColumnElement[Any]:
                return select(expression).where(inner.c.id == table.c[source_key]).correlate(table).scalar_subquery()

            return ResolvedProperty(
                correlate(resolved.expression),
                resolved.kind,
                {kind: correlate(form) for kind, form in resolved.alternatives.items()},
                correlate(resolved.interval_end) if resolved.interval_end is not None else None,
                resolved.json_path,
            )
        prop = entity_set.by_name.get(head)
        if prop is None:
            raise QueryError(f"{entity_set.singular} has no property {head!r}")
        if len(path) > 1 and prop.kind != "json":
            raise QueryError(f"{head!r} has no sub-properties")
        if prop.name == "result":
            return ResolvedProperty(
                table.c.result_number,
                "number",
                {"string": table.c.result_string, "boolean": table.c.result_boolean, "json": table.c.result_json},
            )
        interval_end = table.c[prop.interval_end] if prop.interval_end else None
        return ResolvedProperty(table.c[prop.column], prop.kind, {}, interval_end, tuple(path[1:]))


RowSerializer = Callable[[RowMapping], dict[str, Any]]


def base_select(entity_set: EntitySet) -> Select[Any]:
    return select(*entity_set.columns())
