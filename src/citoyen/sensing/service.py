"""SensorThings API rules: addressing, reading with query options, deep insert, update, delete, access.

Routes in `api.py` parse the HTTP request and call one function here; every change happens in the
request's transaction (the session dependency commits, or rolls back on any error), and events go out
on the bus only after the commit (`events.queue_events`).

Access (Citoyen's addition to the standard): a Thing is public, restricted (its metadata is public but
its raw Observations are not served: 403) or personal (it and everything under it, its Locations,
HistoricalLocations, Datastreams, Observations and the features made from its Locations, are visible
only to its owner and to staff). Writes need an API token with the `sensing:write` scope.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

import jsonpatch
import shapely
from shapely.geometry import mapping, shape
from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    DateTime,
    Select,
    Table,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from citoyen.db import UTCDateTime, utcnow
from citoyen.i18n import N_
from citoyen.people import service as people
from citoyen.people.models import Person
from citoyen.people.registry import PersonalDataProvider, PersonalDataRegistry
from citoyen.sensing.entities import (
    API_PATH,
    ENTITY_SETS,
    HISTORICAL_LOCATION_LOCATIONS,
    THING_LOCATIONS,
    EntitySet,
    Navigation,
    Property,
    Resolver,
    base_select,
    check_select,
    format_interval,
    format_time,
    property_value,
    result_value,
    self_link,
    serialize,
)
from citoyen.sensing.events import SensingEvent, SensingEventBus, queue_events
from citoyen.sensing.models import ResultType, ThingAccess, ThingKind
from citoyen.sensing.query import ExpandItem, QueryError, QueryOptions, compile_filter, compile_order_by
from citoyen.sensing.validation import Limits, check_geometry, check_json_size, check_text, id_in_range
from citoyen.territory.service import TerritoryIndexCache, locate_id


class StaError(Exception):
    """An answer other than success, in the SensorThings error format: {"code", "type": "error", "message"}."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Access:
    """Who is asking: a signed-in person (owner of personal Things) or staff, who see everything."""

    person_id: int | None = None
    is_staff: bool = False


@dataclass
class Context:
    """What a request's service call needs besides the session."""

    access: Access
    base_url: str  # "http://host:port", no trailing slash
    default_top: int = 100
    max_top: int = 10_000
    bus: SensingEventBus | None = None
    territory: TerritoryIndexCache | None = None
    events: list[SensingEvent] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)  # sizes of what a client may write
    max_observations: int = 50_000  # Observations one CreateObservations request may carry


# --- Visibility -------------------------------------------------------------------------------------------

THINGS = ENTITY_SETS["Things"].table
DATASTREAMS = ENTITY_SETS["Datastreams"].table
OBSERVATIONS = ENTITY_SETS["Observations"].table
LOCATIONS = ENTITY_SETS["Locations"].table
FEATURES = ENTITY_SETS["FeaturesOfInterest"].table
HISTORICAL_LOCATIONS = ENTITY_SETS["HistoricalLocations"].table


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
    """Sensors and ObservedProperties follow their Datastreams' Things: one used only by hidden Things is
    hidden too (a household meter's Sensor names the household); unused ones stay visible."""
    hidden = _hidden_things(access)
    column = DATASTREAMS.c[key]
    return or_(
        table.c.id.in_(select(column).where(DATASTREAMS.c.thing_id.not_in(hidden))),
        table.c.id.not_in(select(column).where(DATASTREAMS.c.thing_id.in_(hidden))),
    )


def _visible_features(table: Table, access: Access) -> ColumnElement[bool]:
    """A feature made from a Location follows that Location; one a client created follows the Things whose
    Observations it is the feature of: hidden when all of them are hidden."""
    hidden_streams = select(DATASTREAMS.c.id).where(DATASTREAMS.c.thing_id.in_(_hidden_things(access)))
    observed = OBSERVATIONS.c.feature_of_interest_id == table.c.id
    seen_by_hidden = select(OBSERVATIONS.c.id).where(observed, OBSERVATIONS.c.datastream_id.in_(hidden_streams))
    seen_by_visible = select(OBSERVATIONS.c.id).where(observed, OBSERVATIONS.c.datastream_id.not_in(hidden_streams))
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
        return table.c.datastream_id.not_in(
            select(DATASTREAMS.c.id).where(DATASTREAMS.c.thing_id.in_(_hidden_things(access)))
        )
    if name == "Observations":
        # Raw Observations of restricted Things are never listed (aggregates are served elsewhere).
        closed = select(THINGS.c.id).where(THINGS.c.access == ThingAccess.RESTRICTED.value)
        if not access.is_staff:
            closed = closed.union(_hidden_things(access))  # type: ignore[assignment]
        return table.c.datastream_id.not_in(select(DATASTREAMS.c.id).where(DATASTREAMS.c.thing_id.in_(closed)))
    if access.is_staff:
        return None
    if name == "Things":
        return table.c.id.not_in(_hidden_things(access))
    if name in ("Datastreams", "HistoricalLocations"):
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


def _where_visible(query: Select[Any], entity_set: EntitySet, table: Any, access: Access) -> Select[Any]:
    condition = visibility(entity_set, table, access)
    return query if condition is None else query.where(condition)


async def thing_access_of_datastream(session: AsyncSession, datastream_id: int) -> tuple[str, int | None] | None:
    row = (
        await session.execute(
            select(THINGS.c.access, THINGS.c.owner_person_id)
            .join(DATASTREAMS, DATASTREAMS.c.thing_id == THINGS.c.id)
            .where(DATASTREAMS.c.id == datastream_id)
        )
    ).first()
    return None if row is None else (str(row[0]), row[1])


# --- Addressing ---------------------------------------------------------------------------------------------

SEGMENT = re.compile(r"^(?P<name>[A-Za-z]+|\$value|\$ref)(?:\((?P<id>[^)]*)\))?$")


@dataclass
class Target:
    """What a resource path designates."""

    entity_set: EntitySet
    conditions: list[ColumnElement[bool]]
    entity_id: int | None = None  # set when the path ends at one entity
    prop: Property | None = None
    raw_value: bool = False
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


async def resolve_path(session: AsyncSession, ctx: Context, path: str) -> Target:
    """Follow a resource path such as `Things(1)/Datastreams`, `Datastreams(2)/Thing/name/$value`."""
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
        elif target.raw_value:
            raise StaError(404, f"nothing follows $value ({segment!r})")
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
                if name == "$ref":
                    raise StaError(400, "$ref is not supported")
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
    """403 for raw Observations of a restricted Thing, asked for by their Datastream or by id."""
    if target.entity_set.name != "Observations" or ctx.access.is_staff:
        return
    datastream_id: int | None = None
    if target.entity_id is not None:
        datastream_id = (
            await session.execute(select(OBSERVATIONS.c.datastream_id).where(OBSERVATIONS.c.id == target.entity_id))
        ).scalar()
    elif target.parent is not None and target.parent[0].name == "Datastreams":
        datastream_id = target.parent[1]
    if datastream_id is None:
        return
    found = await thing_access_of_datastream(session, datastream_id)
    if found is not None and found[0] == ThingAccess.RESTRICTED.value:
        raise StaError(403, "the raw Observations of this Thing are not public; its aggregates are published instead")


# --- Reading ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerLimits:
    """The most one GET may hold: entities (top level and expanded together) and bytes of JSON
    (settings `sta_max_entities`, `sta_max_response_bytes`)."""

    entities: int = 20_000
    bytes: int = 25_000_000

    def too_large(self, size: int) -> StaError:
        return StaError(
            400,
            f"the answer would be larger than {self.bytes:,} bytes, the most this server sends in one answer:"
            " ask for fewer entities ($top, $filter), fewer properties ($select) or a smaller $expand",
        )


# The keys and links (@iot.selfLink, navigation links) that each serialized entity carries besides its values.
_ENTITY_OVERHEAD_BYTES = 300


class _Budget:
    """What an answer has used of its limits so far, counted while it is built: a request beyond them stops
    at the first query that crosses one, not once everything is in memory."""

    def __init__(self, limits: AnswerLimits) -> None:
        self.limits = limits
        self.entities = 0
        self.bytes = 0

    @property
    def entities_left(self) -> int:
        return max(self.limits.entities - self.entities, 0)

    def refuse_entities(self) -> StaError:
        return StaError(
            400,
            f"the answer would hold more than {self.limits.entities:,} entities (top level and expanded together),"
            " the most this server sends in one answer: ask for fewer with $top or $filter, or expand less",
        )

    def take(self, rows: Sequence[Mapping[Any, Any]]) -> None:
        self.entities += len(rows)
        if self.entities > self.limits.entities:
            raise self.refuse_entities()
        for row in rows:
            self.bytes += _ENTITY_OVERHEAD_BYTES + sum(
                len(value) if isinstance(value, str | bytes) else 8 for value in row.values()
            )
        if self.bytes > self.limits.bytes:
            raise self.limits.too_large(self.bytes)


def _top(ctx: Context, options: QueryOptions) -> int:
    top = ctx.default_top if options.top is None else options.top
    return min(top, ctx.max_top)


def _index_friendly(clause: Any) -> Any:
    """`x DESC NULLS LAST` on a column that is never NULL is `x DESC`, which an index scanned backwards
    delivers already sorted (the latest Observation per Datastream is then one index probe, not a sort)."""
    if isinstance(clause, UnaryExpression) and clause.modifier in (operators.nulls_last_op, operators.nulls_first_op):
        inner = clause.element
        target = inner.element if isinstance(inner, UnaryExpression) else inner
        if isinstance(target, Column) and not target.nullable:
            return inner
    return clause


def _order(entity_set: EntitySet, table: Any, options: QueryOptions, dialect: str) -> list[Any]:
    clauses = (
        [_index_friendly(clause) for clause in compile_order_by(options.orderby, Resolver(entity_set, table), dialect)]
        if options.orderby
        else []
    )
    # The id makes the order total, so $skip pages neither repeat nor lose rows.
    clauses.append(table.c.id.desc() if options.orderby and options.orderby[-1].descending else table.c.id.asc())
    return clauses


def _filtered(query: Select[Any], entity_set: EntitySet, table: Any, options: QueryOptions, dialect: str) -> Any:
    if options.filter is None:
        return query
    return query.where(compile_filter(options.filter, Resolver(entity_set, table), dialect))


def _observation_bounds(datastreams: Sequence[Mapping[Any, Any]]) -> tuple[datetime, datetime] | None:
    """The span of phenomenon times the Datastreams' Observations lie in (kept up to date on every write),
    so PostgreSQL reads only the monthly partitions concerned; None when they have no Observation."""
    starts = [row["phenomenon_time_start"] for row in datastreams if row["phenomenon_time_start"] is not None]
    ends = [row["phenomenon_time_end"] for row in datastreams if row["phenomenon_time_end"] is not None]
    if not starts or not ends:
        return None
    return min(starts), max(ends)


def _next_link(ctx: Context, path: str, params: Mapping[str, str], top: int, skip: int) -> str:
    kept = [(key, value) for key, value in params.items() if key.lower() not in ("$top", "$skip")]
    kept += [("$top", str(top)), ("$skip", str(skip + top))]
    return f"{ctx.base_url}{API_PATH}/{path.strip('/')}?{urlencode(kept, safe='$(),/:;', quote_via=quote)}"


async def read(
    session: AsyncSession,
    ctx: Context,
    path: str,
    options: QueryOptions,
    params: Mapping[str, str],
    limits: AnswerLimits = AnswerLimits(),
) -> Any:
    """GET: an entity, a collection page, a property ({"name": value}) or a raw value ($value, as text).

    Refuses (400) an answer that would exceed `limits`, as soon as a query brings the rows that exceed them."""
    budget = _Budget(limits)
    target = await resolve_path(session, ctx, path)
    entity_set = target.entity_set
    dialect = session.get_bind().dialect.name
    check_select(entity_set, options.select)
    check_expand(entity_set, options.expand)
    if target.single:
        row = (await session.execute(base_select(entity_set).where(*target.conditions))).mappings().one()
        if target.prop is not None:
            value = row["id"] if target.prop.name == "id" else property_value(entity_set, target.prop, row)
            if target.raw_value:
                return RawValue(value)
            return {target.prop.name: value}
        budget.take([row])
        document = serialize(ctx.base_url, entity_set, row, options.select)
        await expand(session, ctx, entity_set, [row], [document], options.expand, budget)
        return document

    table = entity_set.table
    query = _where_visible(base_select(entity_set).where(*target.conditions), entity_set, table, ctx.access)
    if entity_set.name == "Observations" and target.parent is not None and target.parent[0].name == "Datastreams":
        parent = (
            (
                await session.execute(
                    select(DATASTREAMS.c.phenomenon_time_start, DATASTREAMS.c.phenomenon_time_end).where(
                        DATASTREAMS.c.id == target.parent[1]
                    )
                )
            )
            .mappings()
            .one()
        )
        bounds = _observation_bounds([parent])
        if bounds is not None:
            query = query.where(table.c.phenomenon_time_start.between(*bounds))
    query = _filtered(query, entity_set, table, options, dialect)
    top, skip = _top(ctx, options), options.skip or 0
    page = (
        (
            await session.execute(
                query.order_by(*_order(entity_set, table, options, dialect)).offset(skip).limit(top + 1)
            )
        )
        .mappings()
        .all()
    )
    more = len(page) > top
    rows = list(page[:top])
    budget.take(rows)
    result: dict[str, Any] = {}
    if options.count:
        result["@iot.count"] = (
            await session.execute(select(func.count()).select_from(query.order_by(None).subquery()))
        ).scalar_one()
    if options.result_format == "dataArray":
        if entity_set.name != "Observations":
            raise QueryError("only Observations can be served as a dataArray", None, "$resultFormat")
        result["value"] = data_array(ctx, rows, options.select)
    else:
        documents = [serialize(ctx.base_url, entity_set, row, options.select) for row in rows]
        await expand(session, ctx, entity_set, rows, documents, options.expand, budget)
        result["value"] = documents
    if more:
        result["@iot.nextLink"] = _next_link(ctx, path, params, top, skip)
    return result


@dataclass(frozen=True)
class RawValue:
    value: Any

    def text(self) -> str:
        return self.value if isinstance(self.value, str) else json.dumps(self.value)


DATA_ARRAY_COMPONENTS = ("id", "phenomenonTime", "result", "resultTime", "resultQuality", "validTime", "parameters")


def data_array(ctx: Context, rows: Sequence[RowMapping], select_paths: tuple[tuple[str, ...], ...]) -> list[Any]:
    """The Data Array extension's form: one block per Datastream, one array per Observation."""
    components = [path[0] for path in select_paths] or list(DATA_ARRAY_COMPONENTS)
    observations = ENTITY_SETS["Observations"]
    for name in components:
        if name != "id" and name not in observations.by_name:
            raise QueryError(f"{name!r} cannot be a dataArray component", None, "$select")
    blocks: dict[int, list[list[Any]]] = defaultdict(list)
    for row in rows:
        blocks[row["datastream_id"]].append(
            [
                row["id"] if name == "id" else property_value(observations, observations.by_name[name], row)
                for name in components
            ]
        )
    datastreams = ENTITY_SETS["Datastreams"]
    return [
        {
            "Datastream@iot.navigationLink": self_link(ctx.base_url, datastreams, datastream_id),
            "components": components,
            "dataArray@iot.count": len(arrays),
            "dataArray": arrays,
        }
        for datastream_id, arrays in blocks.items()
    ]


def check_expand(entity_set: EntitySet, items: tuple[ExpandItem, ...]) -> None:
    """Refuse unknown navigation properties and $select names at every level, even when nothing is found."""
    for item in items:
        nav = entity_set.navigation_by_name.get(item.navigation)
        if nav is None:
            raise QueryError(f"{entity_set.singular} has no navigation property {item.navigation!r}", None, "$expand")
        target = ENTITY_SETS[nav.target]
        check_select(target, item.options.select)
        check_expand(target, item.options.expand)


async def expand(
    session: AsyncSession,
    ctx: Context,
    entity_set: EntitySet,
    rows: Sequence[Mapping[Any, Any]],
    documents: list[dict[str, Any]],
    items: tuple[ExpandItem, ...],
    budget: _Budget | None = None,
) -> None:
    """Inline related entities, one query per navigation property and level (never one per entity).

    With a `budget`, every expanded entity counts against it, and a query never fetches more rows than
    the budget has left (plus what it takes to see that it is exceeded)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    for item in items:
        nav = entity_set.navigation_by_name.get(item.navigation)
        if nav is None:
            raise QueryError(f"{entity_set.singular} has no navigation property {item.navigation!r}", None, "$expand")
        target = ENTITY_SETS[nav.target]
        options = item.options
        check_select(target, options.select)
        if not nav.to_many:
            await _expand_to_one(session, ctx, nav, target, rows, documents, options, dialect, budget)
        else:
            await _expand_to_many(session, ctx, entity_set, nav, target, rows, documents, options, dialect, budget)


async def _expand_to_one(
    session: AsyncSession,
    ctx: Context,
    nav: Navigation,
    target: EntitySet,
    rows: Sequence[Mapping[Any, Any]],
    documents: list[dict[str, Any]],
    options: QueryOptions,
    dialect: str,
    budget: _Budget | None,
) -> None:
    assert nav.source_key is not None
    ids = {row[nav.source_key] for row in rows if row[nav.source_key] is not None}
    query = _where_visible(base_select(target).where(target.table.c.id.in_(ids)), target, target.table, ctx.access)
    query = _filtered(query, target, target.table, options, dialect)
    found = {row["id"]: row for row in (await session.execute(query)).mappings()}
    children: list[Mapping[Any, Any]] = []
    child_documents: list[dict[str, Any]] = []
    for row, document in zip(rows, documents, strict=True):
        child = found.get(row[nav.source_key])
        if child is None:
            document[nav.name] = None
            continue
        if budget is not None:  # each parent gets its own copy of a shared child
            budget.take([child])
        child_document = serialize(ctx.base_url, target, child, options.select)
        document[nav.name] = child_document
        children.append(child)
        child_documents.append(child_document)
    await expand(session, ctx, target, children, child_documents, options.expand, budget)


async def _expand_to_many(
    session: AsyncSession,
    ctx: Context,
    source: EntitySet,
    nav: Navigation,
    target: EntitySet,
    rows: Sequence[Mapping[Any, Any]],
    documents: list[dict[str, Any]],
    options: QueryOptions,
    dialect: str,
    budget: _Budget | None,
) -> None:
    table = target.table
    parent_ids = [row["id"] for row in rows]
    top, skip = _top(ctx, options), options.skip or 0
    order = _order(target, table, options, dialect)
    if nav.target_key:
        key = table.c[nav.target_key]
        base = base_select(target).add_columns(key.label("parent_key"))
    else:
        assert nav.link is not None and nav.link_source and nav.link_target
        key = nav.link.c[nav.link_source]
        base = (
            base_select(target)
            .add_columns(key.label("parent_key"))
            .join_from(table, nav.link, nav.link.c[nav.link_target] == table.c.id)
        )
    base = _filtered(_where_visible(base, target, table, ctx.access), target, table, options, dialect)
    if source.name == "Datastreams" and target.name == "Observations":
        bounds = _observation_bounds(rows)
        if bounds is None:  # none of these Datastreams has an Observation yet
            for document in documents:
                document[nav.name] = []
                if options.count:
                    document[f"{nav.name}@iot.count"] = 0
            return
        base = base.where(table.c.phenomenon_time_start.between(*bounds))

    if dialect == "postgresql":
        # One LATERAL subquery per parent: each reads only its first rows by index (the latest Observation
        # of 1,000 Datastreams is 1,000 index probes, not a sort of all their Observations).
        # The ids travel as one array parameter: the statement compiles once and stays in the cache.
        ids = bindparam("parent_ids", parent_ids, type_=ARRAY(BigInteger))
        parents = func.unnest(ids).table_valued("parent_id").render_derived(name="parents")
        inner = base.where(key == parents.c.parent_id).order_by(*order).offset(skip).limit(top + 1).lateral("page")
        query: Select[Any] = select(inner).select_from(parents.join(inner, true()))
        fetched = (await session.execute(_bounded(query, budget, len(parent_ids)))).mappings().all()
    else:
        numbered = base.where(key.in_(parent_ids)).add_columns(
            func.row_number().over(partition_by=key, order_by=order).label("position_in_parent")
        )
        ranked = numbered.subquery()
        query = (
            select(ranked)
            .where(ranked.c["position_in_parent"] > skip, ranked.c["position_in_parent"] <= skip + top + 1)
            .order_by(ranked.c["parent_key"], ranked.c["position_in_parent"])
        )
        fetched = (await session.execute(_bounded(query, budget, len(parent_ids)))).mappings().all()
    if budget is not None and len(fetched) > budget.entities_left + len(parent_ids):
        raise budget.refuse_entities()

    grouped: dict[int, list[RowMapping]] = defaultdict(list)
    for child in fetched:
        grouped[child["parent_key"]].append(child)
    counts: dict[int, int] = {}
    if options.count:
        count_query = base.with_only_columns(key, func.count()).where(key.in_(parent_ids)).group_by(key)
        counts = {parent: count for parent, count in (await session.execute(count_query)).all()}
    children: list[Mapping[Any, Any]] = []
    child_documents: list[dict[str, Any]] = []
    for row, document in zip(rows, documents, strict=True):
        page = grouped.get(row["id"], [])
        if budget is not None:
            budget.take(page[:top])
        serialized = []
        for child in page[:top]:
            child_document = serialize(ctx.base_url, target, child, options.select)
            serialized.append(child_document)
            children.append(child)
            child_documents.append(child_document)
        document[nav.name] = serialized
        if options.count:
            document[f"{nav.name}@iot.count"] = counts.get(row["id"], 0)
        if len(page) > top:
            link = self_link(ctx.base_url, source, row["id"])
            document[f"{nav.name}@iot.nextLink"] = f"{link}/{nav.name}?$top={top}&$skip={skip + top}"
    await expand(session, ctx, target, children, child_documents, options.expand, budget)


def _bounded(query: Select[Any], budget: _Budget | None, parents: int) -> Select[Any]:
    """At most the rows the budget has left, plus one per parent (the row that tells a page has more) and one
    more: a query that brings all of them proves the budget exceeded, without fetching the rest."""
    return query if budget is None else query.limit(budget.entities_left + parents + 1)


# --- Writing: values ----------------------------------------------------------------------------------------------


def parse_time(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise StaError(400, f"{name} must be an ISO 8601 date-time string")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise StaError(400, f"{name}: {value!r} is not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise StaError(400, f"{name}: {value!r} needs a time zone (such as Z or +01:00)")
    return parsed


def parse_time_or_interval(value: Any, name: str) -> tuple[datetime, datetime | None]:
    """An instant, or `start/end` (end after start)."""
    if isinstance(value, str) and "/" in value:
        start_text, _, end_text = value.partition("/")
        start, end = parse_time(start_text, name), parse_time(end_text, name)
        if end < start:
            raise StaError(400, f"{name}: the interval ends before it starts")
        return start, end
    return parse_time(value, name), None


def typed_result(value: Any) -> tuple[int, float | None, str | None, bool | None, Any]:
    """(result_type, number, string, boolean, json): one typed column per kind of JSON value."""
    if value is None:
        return ResultType.NULL, None, None, None, None
    if isinstance(value, bool):
        return ResultType.BOOLEAN, None, None, value, None
    if isinstance(value, int):
        if abs(value) <= 2**53:
            return ResultType.INTEGER, float(value), None, None, None
        return ResultType.JSON, None, None, None, value
    if isinstance(value, float):
        return ResultType.FLOAT, value, None, None, None
    if isinstance(value, str):
        return ResultType.STRING, None, value, None, None
    return ResultType.JSON, None, None, None, value


def _geojson(value: Any, name: str) -> tuple[str, float | None, float | None]:
    """The GeoJSON as stored (text) and a representative point; 400 when it is not GeoJSON."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise StaError(400, f"{name} must be a GeoJSON object") from None
    try:
        geom = check_geometry(value, name)
    except ValueError as error:
        raise StaError(400, str(error)) from None
    point = geom if geom.geom_type == "Point" else geom.representative_point()
    return json.dumps(value), float(point.x), float(point.y)


async def _thing_columns(session: AsyncSession, value: Any) -> dict[str, Any]:
    if value is None:
        return {"properties": None}
    if not isinstance(value, dict):
        raise StaError(400, "properties must be a JSON object")
    properties = dict(value)
    columns: dict[str, Any] = {}
    citoyen = properties.pop("citoyen", None)
    if citoyen is not None:
        if not isinstance(citoyen, dict):
            raise StaError(400, "properties.citoyen must be an object with access, kind and owner")
        if "access" in citoyen:
            try:
                columns["access"] = ThingAccess(citoyen["access"]).value
            except ValueError:
                allowed = ", ".join(access.value for access in ThingAccess)
                raise StaError(400, f"properties.citoyen.access must be one of {allowed}") from None
        if "kind" in citoyen:
            try:
                columns["kind"] = ThingKind(citoyen["kind"]).value
            except ValueError:
                allowed = ", ".join(kind.value for kind in ThingKind)
                raise StaError(400, f"properties.citoyen.kind must be one of {allowed}") from None
        if "owner" in citoyen:
            owner = citoyen["owner"]
            if owner is not None and (not isinstance(owner, int) or isinstance(owner, bool)):
                raise StaError(400, "properties.citoyen.owner must be a person's id")
            if owner is not None and (not id_in_range(owner) or await people.get_person(session, owner) is None):
                raise StaError(400, f"properties.citoyen.owner: there is no person {owner}")
            columns["owner_person_id"] = owner
    columns["properties"] = properties
    return columns


async def column_values(
    session: AsyncSession, ctx: Context, entity_set: EntitySet, body: Mapping[str, Any], *, creating: bool
) -> dict[str, Any]:
    """Column values for the plain properties in `body` (navigation properties are handled elsewhere)."""
    if creating:
        missing = [
            prop.name
            for prop in entity_set.properties
            if prop.required and body.get(prop.name) is None and not (prop.name == "result" and "result" in body)
        ]
        if missing:
            raise StaError(400, f"{entity_set.singular} is missing required properties: {', '.join(missing)}")
    columns: dict[str, Any] = {}
    for name, value in body.items():
        prop = entity_set.by_name.get(name)
        if prop is None or name in entity_set.navigation_by_name:
            continue
        if prop.read_only:
            continue  # computed by the server from the Observations (18-088 allows ignoring them)
        if value is None and prop.required and name != "result":
            raise StaError(400, f"{entity_set.singular}.{name} cannot be null")
        _check_size(entity_set, prop, value, ctx.limits)
        if name == "properties" and entity_set.name == "Things":
            columns.update(await _thing_columns(session, value))
        elif name == "properties" and value is not None and not isinstance(value, dict):
            raise StaError(400, "properties must be a JSON object")
        elif name == "result":
            kind, number, text, boolean, document = typed_result(value)
            columns.update(
                result_type=int(kind),
                result_number=number,
                result_string=text,
                result_boolean=boolean,
                result_json=document,
            )
        elif prop.interval_end and entity_set.name == "Observations":
            if value is None:
                if name == "phenomenonTime":
                    raise StaError(400, "phenomenonTime cannot be null")
                columns[prop.column], columns[prop.interval_end] = None, None
            else:
                columns[prop.column], columns[prop.interval_end] = parse_time_or_interval(value, name)
        elif prop.kind == "datetime":
            columns[prop.column] = None if value is None else parse_time(value, name)
        elif prop.kind == "geometry":
            text, lon, lat = _geojson(value, name)
            columns[prop.column] = text
            if entity_set.name in ("Locations", "FeaturesOfInterest"):
                columns["lon"], columns["lat"] = lon, lat
                if entity_set.name == "Locations":
                    columns["neighbourhood_id"] = (
                        await locate_id(session, ctx.territory, lon, lat)
                        if ctx.territory is not None and lon is not None and lat is not None
                        else None
                    )
        elif name == "unitOfMeasurement" and not isinstance(value, dict):
            raise StaError(400, "unitOfMeasurement must be an object with name, symbol and definition")
        elif prop.kind == "string" and not isinstance(value, str):
            raise StaError(400, f"{entity_set.singular}.{name} must be a string")
        else:
            columns[prop.column] = value
    if creating and entity_set.name == "Observations" and "phenomenon_time_start" not in columns:
        # 18-088: without a phenomenonTime the server uses the time it received the Observation.
        columns["phenomenon_time_start"] = utcnow()
    return columns


# Multi-line text may hold tabs and line breaks; every other string property is one line.
_MULTILINE = frozenset({"description", "metadata"})


def _check_size(entity_set: EntitySet, prop: Property, value: Any, limits: Limits) -> None:
    """Caps on what one property may hold (a 10 MB description would be served by every later page), and
    no control characters in text."""
    label = f"{entity_set.singular}.{prop.name}"
    try:
        if isinstance(value, str) and prop.kind in ("string", "json"):
            length = getattr(entity_set.table.c[prop.column].type, "length", None)
            if prop.name == "name":
                limit = min(limits.name_chars, length or limits.name_chars)
            else:
                limit = length or limits.text_chars
            if prop.name == "result":
                check_json_size(value, label, limits.json_bytes)
            else:
                check_text(value, label, limit, multiline=prop.name in _MULTILINE)
        elif value is not None and prop.kind in ("json", "number", "geometry"):
            check_json_size(value, label, limits.json_bytes)
    except ValueError as error:
        raise StaError(400, str(error)) from None


def _check_keys(entity_set: EntitySet, body: Mapping[str, Any]) -> None:
    for key in body:
        if key in ("@iot.id", "@iot.selfLink") or key.endswith("@iot.navigationLink"):
            continue
        if key not in entity_set.by_name and key not in entity_set.navigation_by_name:
            raise StaError(400, f"{entity_set.singular} has no property {key!r}")


# --- Writing: create (deep insert) ----------------------------------------------------------------------------------


def _link_id(value: Any) -> int | None:
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


async def _linked(session: AsyncSession, ctx: Context, entity_set: EntitySet, entity_id: int) -> int:
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
    existing = _link_id(body)
    if existing is not None:
        return await _linked(session, ctx, entity_set, existing)
    _check_keys(entity_set, body)
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
    if entity_set.name == "Locations" and any(key.startswith("link:thing_locations") for key in fixed):
        await _record_historical_location(session, ctx, fixed["link:thing_locations:thing_id:location_id"])
    await _queue(session, ctx, entity_set, entity_id, "create")
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
        for child in children:
            if nav.target_key:
                await create(session, ctx, target, child, {nav.target_key: entity_id})
                continue
            assert nav.link is not None and nav.link_source and nav.link_target
            child_id = _link_id(child)
            if child_id is not None:
                await _linked(session, ctx, target, child_id)
                await session.execute(insert(nav.link).values({nav.link_source: entity_id, nav.link_target: child_id}))
            else:
                child_id = await create(session, ctx, target, child)
                await session.execute(insert(nav.link).values({nav.link_source: entity_id, nav.link_target: child_id}))
        if entity_set.name == "Things" and nav.name == "Locations" and children:
            await _record_historical_location(session, ctx, entity_id)
        if entity_set.name == "Locations" and nav.name == "Things":
            for thing_id in (
                await session.execute(
                    select(THING_LOCATIONS.c.thing_id).where(THING_LOCATIONS.c.location_id == entity_id)
                )
            ).scalars():
                await _record_historical_location(session, ctx, thing_id)


async def _record_historical_location(session: AsyncSession, ctx: Context, thing_id: int) -> None:
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
    await _queue(session, ctx, ENTITY_SETS["HistoricalLocations"], historical_id, "create")


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
    made = {
        row.generated_from_location_id: row.id
        for row in (
            await session.execute(
                select(FEATURES.c.generated_from_location_id, func.min(FEATURES.c.id).label("id"))
                .where(FEATURES.c.generated_from_location_id.in_(set(locations.values())))
                .group_by(FEATURES.c.generated_from_location_id)
            )
        ).all()
    }
    for location_id in sorted(set(locations.values()) - made.keys()):
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
    return {
        datastream_id: made[locations[datastream_id]] if datastream_id in locations else None
        for datastream_id in datastream_ids
    }


async def _create_observation(
    session: AsyncSession, ctx: Context, body: Mapping[str, Any], fixed: dict[str, int]
) -> int:
    observations = ENTITY_SETS["Observations"]
    columns = await column_values(session, ctx, observations, body, creating=True)
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
    await _queue(session, ctx, observations, entity_id, "create", datastream_id=columns["datastream_id"])
    return entity_id


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


# --- Writing: update and delete -----------------------------------------------------------------------------------


async def update_entity(session: AsyncSession, ctx: Context, path: str, body: Any, *, mode: str) -> dict[str, Any]:
    """PATCH (JSON merge, mode "merge"), PATCH with a JSON Patch document ("json-patch") or PUT ("replace")."""
    target = await resolve_path(session, ctx, path)
    if not target.single or target.prop is not None:
        raise StaError(405, "only a single entity can be updated, as in Things(1)")
    entity_set, entity_id = target.entity_set, target.entity_id
    assert entity_id is not None
    if mode == "json-patch":
        current = await _current_document(session, ctx, entity_set, entity_id)
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
    _check_keys(entity_set, body)
    if mode == "replace":
        for prop in entity_set.properties:
            if not prop.read_only and prop.name not in body and not prop.required:
                body[prop.name] = None
    columns = await column_values(session, ctx, entity_set, body, creating=mode == "replace")
    if entity_set.name == "Things" and "properties" in body and body["properties"] is not None:
        citoyen = body["properties"].get("citoyen")
        if citoyen is None:
            for key in ("access", "kind", "owner_person_id"):
                columns.pop(key, None)
    for nav in entity_set.navigations:
        value = body.get(nav.name)
        if value is None:
            continue
        target_set = ENTITY_SETS[nav.target]
        if not nav.to_many:
            assert nav.source_key is not None
            linked = _link_id(value)
            columns[nav.source_key] = (
                await _linked(session, ctx, target_set, linked)
                if linked is not None
                else await create(session, ctx, target_set, value)
            )
        elif entity_set.name == "Things" and nav.name == "Locations":
            await _replace_thing_locations(session, ctx, entity_id, value)
        else:
            fixed = {nav.target_key: entity_id} if nav.target_key else {}
            if not isinstance(value, list):
                raise StaError(400, f"{entity_set.singular}.{nav.name} must be a list")
            for child in value:
                await create(session, ctx, target_set, child, fixed)
    if columns:
        await session.execute(update(entity_set.table).where(entity_set.table.c.id == entity_id).values(**columns))
    datastream_id = None
    if entity_set.name == "Observations":
        datastream_id = (
            await session.execute(select(OBSERVATIONS.c.datastream_id).where(OBSERVATIONS.c.id == entity_id))
        ).scalar()
        row = (
            await session.execute(
                select(
                    OBSERVATIONS.c.phenomenon_time_start,
                    OBSERVATIONS.c.phenomenon_time_end,
                    OBSERVATIONS.c.result_time,
                    OBSERVATIONS.c.feature_of_interest_id,
                ).where(OBSERVATIONS.c.id == entity_id)
            )
        ).one()
        assert datastream_id is not None
        await extend_datastream(session, datastream_id, row[0], row[1] or row[0], row[2], row[2], {row[3]})
    await _queue(session, ctx, entity_set, entity_id, "update", datastream_id=datastream_id)
    return await _current_document(session, ctx, entity_set, entity_id)


_MISSING = object()


async def _current_document(
    session: AsyncSession, ctx: Context, entity_set: EntitySet, entity_id: int
) -> dict[str, Any]:
    row = (await session.execute(base_select(entity_set).where(entity_set.table.c.id == entity_id))).mappings().one()
    return serialize(ctx.base_url, entity_set, row)


async def _replace_thing_locations(session: AsyncSession, ctx: Context, thing_id: int, value: Any) -> None:
    if not isinstance(value, list):
        raise StaError(400, "Thing.Locations must be a list")
    location_ids = []
    for item in value:
        linked = _link_id(item)
        location_ids.append(
            await _linked(session, ctx, ENTITY_SETS["Locations"], linked)
            if linked is not None
            else await create(session, ctx, ENTITY_SETS["Locations"], item)
        )
    await session.execute(delete(THING_LOCATIONS).where(THING_LOCATIONS.c.thing_id == thing_id))
    if location_ids:
        await session.execute(
            insert(THING_LOCATIONS), [{"thing_id": thing_id, "location_id": lid} for lid in dict.fromkeys(location_ids)]
        )
    await _record_historical_location(session, ctx, thing_id)


async def delete_entity(session: AsyncSession, ctx: Context, path: str) -> None:
    """DELETE with the cascades of 18-088: a Thing takes its Datastreams (and their Observations) and
    HistoricalLocations, a Datastream its Observations, a Sensor or ObservedProperty its Datastreams, a
    FeatureOfInterest its Observations, a Location the HistoricalLocations that pointed at it."""
    target = await resolve_path(session, ctx, path)
    if not target.single or target.prop is not None:
        raise StaError(405, "only a single entity can be deleted, as in Things(1)")
    entity_set, entity_id = target.entity_set, target.entity_id
    assert entity_id is not None
    event = await _event(session, ctx, entity_set, entity_id, "delete")
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
    await session.execute(delete(entity_set.table).where(entity_set.table.c.id == entity_id))
    _publish(session, ctx, [event])


# --- Events ---------------------------------------------------------------------------------------------------


async def _access_of(session: AsyncSession, entity_set: EntitySet, entity_id: int) -> tuple[str, int | None]:
    """The access of the Thing an entity belongs to (the most closed one for a shared Location)."""
    thing_ids: Any
    if entity_set.name == "Things":
        thing_ids = select(literal(entity_id))
    elif entity_set.name in ("Datastreams", "HistoricalLocations"):
        thing_ids = select(entity_set.table.c.thing_id).where(entity_set.table.c.id == entity_id)
    elif entity_set.name == "Observations":
        thing_ids = (
            select(DATASTREAMS.c.thing_id)
            .join(OBSERVATIONS, OBSERVATIONS.c.datastream_id == DATASTREAMS.c.id)
            .where(OBSERVATIONS.c.id == entity_id)
        )
    elif entity_set.name == "Locations":
        thing_ids = select(THING_LOCATIONS.c.thing_id).where(THING_LOCATIONS.c.location_id == entity_id)
    else:
        return ThingAccess.PUBLIC.value, None
    rows = (
        await session.execute(select(THINGS.c.access, THINGS.c.owner_person_id).where(THINGS.c.id.in_(thing_ids)))
    ).all()
    rank = {ThingAccess.PUBLIC.value: 0, ThingAccess.RESTRICTED.value: 1, ThingAccess.PERSONAL.value: 2}
    if not rows:
        return ThingAccess.PUBLIC.value, None
    access, owner = max(((str(a), o) for a, o in rows), key=lambda item: rank[item[0]])
    return access, owner


async def _event(
    session: AsyncSession,
    ctx: Context,
    entity_set: EntitySet,
    entity_id: int,
    kind: Any,
    datastream_id: int | None = None,
) -> SensingEvent:
    payload = {} if kind == "delete" else await _current_document(session, ctx, entity_set, entity_id)
    access, owner = await _access_of(session, entity_set, entity_id)
    if entity_set.name == "Datastreams":
        datastream_id = entity_id
    return SensingEvent(
        kind,
        entity_set.name,
        entity_id,
        f"{API_PATH}/{entity_set.name}({entity_id})",
        payload,
        access,
        datastream_id,
        owner,
    )


async def _queue(
    session: AsyncSession,
    ctx: Context,
    entity_set: EntitySet,
    entity_id: int,
    kind: str,
    datastream_id: int | None = None,
) -> None:
    if ctx.bus is None or not ctx.bus.has_subscribers:
        return
    _publish(session, ctx, [await _event(session, ctx, entity_set, entity_id, kind, datastream_id)])


def _publish(session: AsyncSession, ctx: Context, events: list[SensingEvent]) -> None:
    if ctx.bus is not None and ctx.bus.has_subscribers:
        queue_events(session, ctx.bus, events)


async def created_document(
    session: AsyncSession, ctx: Context, entity_set: EntitySet, entity_id: int
) -> dict[str, Any]:
    return await _current_document(session, ctx, entity_set, entity_id)


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
        elif nav.link is not None and source.name == "Things" and nav.name == "Locations":
            fixed["link:thing_locations:thing_id:location_id"] = source_id
        else:
            raise StaError(405, f"entities cannot be created under {source.singular}/{nav.name}")
    if isinstance(body, dict) and "@iot.id" in body:
        raise StaError(400, "@iot.id is assigned by the server")
    entity_id = await create(session, ctx, target.entity_set, body, fixed)
    return target.entity_set, entity_id


__all__ = [
    "Access",
    "Context",
    "RawValue",
    "StaError",
    "create_at",
    "created_document",
    "delete_entity",
    "extend_datastream",
    "feature_for_thing_location",
    "format_time",
    "parse_time",
    "parse_time_or_interval",
    "read",
    "result_value",
    "typed_result",
    "update_entity",
]


# --- Personal data -------------------------------------------------------------------------------------------


def _record_time(value: datetime | None) -> str | None:
    return format_time(value)


async def export_personal_data(session: AsyncSession, person: Person) -> dict[str, list[dict[str, Any]]]:
    """A person's personal Things (a household meter...), where they are, their Datastreams and readings."""
    things = (
        (
            await session.execute(
                select(THINGS).where(
                    THINGS.c.owner_person_id == person.id, THINGS.c.access == ThingAccess.PERSONAL.value
                )
            )
        )
        .mappings()
        .all()
    )
    thing_ids = [thing["id"] for thing in things]
    locations = (
        (
            await session.execute(
                select(LOCATIONS, THING_LOCATIONS.c.thing_id)
                .join(THING_LOCATIONS, THING_LOCATIONS.c.location_id == LOCATIONS.c.id)
                .where(THING_LOCATIONS.c.thing_id.in_(thing_ids))
            )
        )
        .mappings()
        .all()
    )
    datastreams = (
        (await session.execute(select(DATASTREAMS).where(DATASTREAMS.c.thing_id.in_(thing_ids)))).mappings().all()
    )
    datastream_ids = [datastream["id"] for datastream in datastreams]
    observations = (
        (
            await session.execute(
                select(OBSERVATIONS)
                .where(OBSERVATIONS.c.datastream_id.in_(datastream_ids))
                .order_by(OBSERVATIONS.c.datastream_id, OBSERVATIONS.c.phenomenon_time_start)
            )
        )
        .mappings()
        .all()
    )
    return {
        "sensing_things": [
            {
                "id": thing["id"],
                "name": thing["name"],
                "description": thing["description"],
                "kind": str(thing["kind"]),
                "properties": thing["properties"],
            }
            for thing in things
        ],
        "sensing_locations": [
            {"thing_id": row["thing_id"], "name": row["name"], "location": row["location"]} for row in locations
        ],
        "sensing_datastreams": [
            {
                "id": datastream["id"],
                "thing_id": datastream["thing_id"],
                "name": datastream["name"],
                "unit": datastream["unit_of_measurement"],
            }
            for datastream in datastreams
        ],
        "sensing_observations": [
            {
                "datastream_id": row["datastream_id"],
                "phenomenon_time": format_interval(row["phenomenon_time_start"], row["phenomenon_time_end"]),
                "result_time": _record_time(row["result_time"]),
                "result": result_value(row),
            }
            for row in observations
        ],
    }


async def erase_personal_data(session: AsyncSession, person: Person) -> None:
    """Delete a person's personal Things with everything under them (Datastreams, Observations, the
    Locations only they used and the features made from those); other Things they owned are detached."""
    thing_ids = select(THINGS.c.id).where(
        THINGS.c.owner_person_id == person.id, THINGS.c.access == ThingAccess.PERSONAL.value
    )
    shared = select(THING_LOCATIONS.c.location_id).where(THING_LOCATIONS.c.thing_id.not_in(thing_ids))
    own_locations = list(
        (
            await session.execute(
                select(THING_LOCATIONS.c.location_id).where(
                    THING_LOCATIONS.c.thing_id.in_(thing_ids), THING_LOCATIONS.c.location_id.not_in(shared)
                )
            )
        ).scalars()
    )
    await session.execute(delete(THINGS).where(THINGS.c.id.in_(thing_ids)))
    if own_locations:
        await session.execute(delete(FEATURES).where(FEATURES.c.generated_from_location_id.in_(own_locations)))
        await session.execute(delete(LOCATIONS).where(LOCATIONS.c.id.in_(own_locations)))
    await session.execute(update(THINGS).where(THINGS.c.owner_person_id == person.id).values(owner_person_id=None))


def register_personal_data(registry: PersonalDataRegistry) -> None:
    registry.register(
        PersonalDataProvider(
            domain="sensing",
            description=N_("your personal sensors (such as a home energy meter), where they are and their readings"),
            export=export_personal_data,
            erase=erase_personal_data,
        )
    )
