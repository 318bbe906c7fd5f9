"""GET: an entity, a collection page, a property or a raw value, with $filter, $orderby, $top, $skip,
$count, $select, $expand and the dataArray format, bounded by `AnswerLimits` while the answer is built.

The statements here are tuned for the read benchmarks (LATERAL pages per parent on PostgreSQL,
partition bounds from the Datastreams' times): change them with `bench/sta_queries.py` at hand.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy import BigInteger, Column, ColumnElement, Select, bindparam, func, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from citoyen.sensing.access import visibility, where_visible
from citoyen.sensing.addressing import resolve_path
from citoyen.sensing.context import Access, Context, StaError
from citoyen.sensing.entities import (
    API_PATH,
    ENTITY_SETS,
    EntitySet,
    Navigation,
    Resolver,
    base_select,
    check_select,
    property_value,
    self_link,
    serialize,
)
from citoyen.sensing.query import ExpandItem, QueryError, QueryOptions, compile_filter, compile_order_by


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


def _filtered(
    query: Select[Any], entity_set: EntitySet, table: Any, options: QueryOptions, dialect: str, access: Access
) -> Any:
    if options.filter is None:
        return query

    def visible(related: EntitySet, alias: Any) -> ColumnElement[bool] | None:
        return visibility(related, alias, access)

    return query.where(compile_filter(options.filter, Resolver(entity_set, table, visible), dialect))


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
    """GET: an entity, a collection page, a property ({"name": value}), a raw value ($value, as text), NO_CONTENT
    for a property whose value is null (204, as the standard says), or the links of an entity or a page ($ref).

    Refuses (400) an answer that would exceed `limits`, as soon as a query brings the rows that exceed them."""
    budget = _Budget(limits)
    target = await resolve_path(session, ctx, path, reading=True)
    entity_set = target.entity_set
    dialect = session.get_bind().dialect.name
    check_select(entity_set, options.select)
    check_expand(entity_set, options.expand)
    if target.ref and (options.select or options.expand or options.result_format):
        raise QueryError("$select, $expand and $resultFormat do not apply to $ref (links only)", None, "$ref")
    if target.single:
        row = (await session.execute(base_select(entity_set).where(*target.conditions))).mappings().one()
        if target.prop is not None:
            value = row["id"] if target.prop.name == "id" else property_value(entity_set, target.prop, row)
            if value is None:
                return NO_CONTENT
            if target.raw_value:
                return RawValue(value)
            return {target.prop.name: value}
        if target.ref:
            return {"@iot.selfLink": self_link(ctx.base_url, entity_set, row["id"])}
        budget.take([row])
        document = serialize(ctx.base_url, entity_set, row, options.select)
        await expand(session, ctx, entity_set, [row], [document], options.expand, budget)
        return document

    table = entity_set.table
    query = where_visible(base_select(entity_set).where(*target.conditions), entity_set, table, ctx.access)
    if (
        entity_set.name == "Observations"
        and target.parent is not None
        and target.parent[0].name in ("Datastreams", "MultiDatastreams")
    ):
        streams = target.parent[0].table
        parent = (
            (
                await session.execute(
                    select(streams.c.phenomenon_time_start, streams.c.phenomenon_time_end).where(
                        streams.c.id == target.parent[1]
                    )
                )
            )
            .mappings()
            .one()
        )
        bounds = _observation_bounds([parent])
        if bounds is not None:
            query = query.where(table.c.phenomenon_time_start.between(*bounds))
    query = _filtered(query, entity_set, table, options, dialect, ctx.access)
    top, skip = _top(ctx, options), options.skip or 0
    order = _order(entity_set, table, options, dialect)
    if target.parent is not None and target.parent[2].link_order and not options.orderby:
        order.insert(0, _link_position(target.parent[2], table, target.parent[1]))
    page = (await session.execute(query.order_by(*order).offset(skip).limit(top + 1))).mappings().all()
    more = len(page) > top
    rows = list(page[:top])
    budget.take(rows)
    result: dict[str, Any] = {}
    if options.count:
        result["@iot.count"] = (
            await session.execute(select(func.count()).select_from(query.order_by(None).subquery()))
        ).scalar_one()
    if target.ref:
        result["value"] = [{"@iot.selfLink": self_link(ctx.base_url, entity_set, row["id"])} for row in rows]
    elif options.result_format == "dataArray":
        if entity_set.name != "Observations":
            raise QueryError("only Observations can be served as a dataArray", None, "$resultFormat")
        result["value"] = data_array(ctx, rows, options.select)
    else:
        documents: list[dict[str, Any]] = []
        pacer = _Pacer()
        for row in rows:
            await pacer.built(len(documents))
            documents.append(serialize(ctx.base_url, entity_set, row, options.select))
        await expand(session, ctx, entity_set, rows, documents, options.expand, budget)
        result["value"] = documents
    if more and top > 0:  # $top=0 asks for the count alone: a next page of none would lead nowhere
        result["@iot.nextLink"] = _next_link(ctx, path, params, top, skip)
    return result


def _link_position(nav: Navigation, table: Any, source_id: int) -> Any:
    """The position of each member in the link table that orders them (a MultiDatastream's ObservedProperties)."""
    assert nav.link is not None and nav.link_source and nav.link_target and nav.link_order
    return (
        select(func.min(nav.link.c[nav.link_order]))
        .where(nav.link.c[nav.link_source] == source_id, nav.link.c[nav.link_target] == table.c.id)
        .scalar_subquery()
    )


# A property whose value is null: the answer is 204 No Content (section 9.2.4 of the standard).
NO_CONTENT = object()


@dataclass(frozen=True)
class RawValue:
    value: Any

    def text(self) -> str:
        return self.value if isinstance(self.value, str) else json.dumps(self.value)


DATA_ARRAY_COMPONENTS = ("id", "phenomenonTime", "result", "resultTime", "resultQuality", "validTime", "parameters")


# Building a large answer is pure Python on the event loop: every this many entities it lets the loop serve
# the other requests (the health probe above all) instead of holding it for the whole answer.
ENTITIES_BETWEEN_YIELDS = 256


class _Pacer:
    """Counts the entities built and yields to the event loop every ENTITIES_BETWEEN_YIELDS of them."""

    def __init__(self) -> None:
        self.next_yield = ENTITIES_BETWEEN_YIELDS

    async def built(self, count: int) -> None:
        if count >= self.next_yield:
            self.next_yield = count + ENTITIES_BETWEEN_YIELDS
            await asyncio.sleep(0)


def data_array(ctx: Context, rows: Sequence[RowMapping], select_paths: tuple[tuple[str, ...], ...]) -> list[Any]:
    """The Data Array extension's form: one block per Datastream, one array per Observation."""
    components = [path[0] for path in select_paths] or list(DATA_ARRAY_COMPONENTS)
    observations = ENTITY_SETS["Observations"]
    for name in components:
        if name != "id" and name not in observations.by_name:
            raise QueryError(f"{name!r} cannot be a dataArray component", None, "$select")
    # One block per Datastream, or per MultiDatastream (14.4: the same form, which names it instead).
    blocks: dict[tuple[str, int], list[list[Any]]] = defaultdict(list)
    for row in rows:
        stream = (
            ("Datastream", row["datastream_id"])
            if row["datastream_id"] is not None
            else ("MultiDatastream", row["multi_datastream_id"])
        )
        blocks[stream].append(
            [
                row["id"] if name == "id" else property_value(observations, observations.by_name[name], row)
                for name in components
            ]
        )
    return [
        {
            f"{singular}@iot.navigationLink": self_link(ctx.base_url, ENTITY_SETS[f"{singular}s"], stream_id),
            "components": components,
            "dataArray@iot.count": len(arrays),
            "dataArray": arrays,
        }
        for (singular, stream_id), arrays in blocks.items()
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
    query = where_visible(base_select(target).where(target.table.c.id.in_(ids)), target, target.table, ctx.access)
    query = _filtered(query, target, target.table, options, dialect, ctx.access)
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
    if nav.link is not None and nav.link_order and not options.orderby:
        order.insert(0, nav.link.c[nav.link_order])  # the link table is joined below
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
    base = _filtered(where_visible(base, target, table, ctx.access), target, table, options, dialect, ctx.access)
    if source.name in ("Datastreams", "MultiDatastreams") and target.name == "Observations":
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
    pacer = _Pacer()
    pacer = _Pacer()
    for row, document in zip(rows, documents, strict=True):
        page = grouped.get(row["id"], [])
        if budget is not None:
            budget.take(page[:top])
        serialized = []
        await pacer.built(len(child_documents))
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


async def current_document(
    session: AsyncSession, ctx: Context, entity_set: EntitySet, entity_id: int
) -> dict[str, Any]:
    row = (await session.execute(base_select(entity_set).where(entity_set.table.c.id == entity_id))).mappings().one()
    return serialize(ctx.base_url, entity_set, row)
