"""Searching the catalogue as CKAN's package_search does: full text (French and English, see `textsearch`),
filters in CKAN's `fq` syntax, facets with counts, sort and pagination. The words are matched once (one
statement reads the matching datasets' ids, publishers, licences and, when the order needs them, scores and
times); the count, the publisher and licence facets and a page by relevance or time come from those rows, the
themes, tags and formats from the process's facet index (every dataset's values, read again only when the
catalogue's version moves); only the page's datasets are loaded whole (three queries)."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    cast,
    column,
    desc,
    func,
    literal,
    literal_column,
    null,
    select,
    table,
    type_coerce,
    union_all,
)
from sqlalchemy import text as sql_text
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import one_of
from citoyen.opendata import vocabularies
from citoyen.opendata.catalog import DatasetView, load_views, visible
from citoyen.opendata.errors import invalid
from citoyen.opendata.models import (
    CatalogueVersion,
    Dataset,
    DatasetGroup,
    DatasetTag,
    Group,
    Organization,
    Resource,
    Tag,
)
from citoyen.opendata.textsearch import POSTGRES_VECTOR
from citoyen.textsearch import postgres_query, sqlite_match

FACET_FIELDS = ("organization", "groups", "tags", "res_format", "license_id")
MAX_ROWS = 1000
DEFAULT_SORT = "score desc, metadata_modified desc"
SORT_FIELDS = ("score", "metadata_modified", "metadata_created", "name", "title_string")
FQ_FIELDS = ("organization", "owner_org", "tags", "groups", "res_format", "license_id", "name", "id", "source")
_CLAUSE = re.compile(r'\s*(?:(?:AND|&&)\s+)?([+-]?)([A-Za-z_]+):("(?:[^"\\]|\\.)*"|[^\s"()]+)\s*')
_fts = table("opendata_datasets_fts", column("rowid"))


@dataclass(frozen=True)
class Filter:
    field: str
    value: str
    negated: bool = False


@dataclass(frozen=True)
class SearchQuery:
    q: str = ""
    fq: tuple[Filter, ...] = ()
    rows: int = 10
    start: int = 0
    sort: tuple[tuple[str, bool], ...] = (("score", True), ("metadata_modified", True))  # (field, descending)
    facet_fields: tuple[str, ...] = FACET_FIELDS
    facet_limit: int = 50
    facet_mincount: int = 1
    include_private: bool = False


@dataclass
class FacetItem:
    name: str
    display_name: str
    count: int


@dataclass
class SearchResult:
    count: int
    datasets: list[DatasetView]
    facets: dict[str, list[FacetItem]] = field(default_factory=dict)


def parse_fq(fq: str) -> tuple[Filter, ...]:
    """CKAN's filter query: `field:value` clauses (value quoted if it has spaces), all of which must hold;
    `-field:value` excludes. Fields: organization, owner_org, tags, groups, res_format, license_id, name, id,
    source. Anything else is a Validation Error naming `fq`."""
    filters = []
    position = 0
    text = fq.strip()
    while position < len(text):
        match = _CLAUSE.match(text, position)
        if match is None:
            raise invalid(
                "fq", f"Cannot parse the filter query near {text[position : position + 40]!r}: use field:value"
            )
        sign, name, value = match.groups()
        if name not in FQ_FIELDS:
            raise invalid("fq", f"Unknown filter field {name!r}: use one of {', '.join(FQ_FIELDS)}")
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        filters.append(Filter(name, value, sign == "-"))
        position = match.end()
    return tuple(filters)


def parse_sort(sort: str) -> tuple[tuple[str, bool], ...]:
    """`field direction[, field direction]`, fields among SORT_FIELDS, directions asc or desc."""
    parts = []
    for clause in (sort or DEFAULT_SORT).split(","):
        words = clause.split()
        if not words:
            continue
        if len(words) > 2 or words[0] not in SORT_FIELDS or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise invalid(
                "sort", f"Cannot sort by {clause.strip()!r}: use one of {', '.join(SORT_FIELDS)} with asc or desc"
            )
        parts.append((words[0], len(words) == 2 and words[1] == "desc"))
    if not parts:
        raise invalid("sort", "Missing value")
    return tuple(parts)


def parse_facet_fields(value: Any) -> tuple[str, ...]:
    """`facet.field` as CKAN takes it: a JSON list of field names."""
    if value in (None, ""):
        return FACET_FIELDS
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise invalid("facet.field", 'Must be a JSON list, e.g. ["tags", "organization"]') from None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid("facet.field", 'Must be a JSON list, e.g. ["tags", "organization"]')
    unknown = [item for item in value if item not in FACET_FIELDS]
    if unknown:
        raise invalid("facet.field", f"Unknown facet {unknown[0]!r}: use {', '.join(FACET_FIELDS)}")
    return tuple(dict.fromkeys(value))


def _filter_condition(item: Filter) -> ColumnElement[bool]:
    value = item.value
    condition: ColumnElement[bool]
    if item.field == "organization":
        condition = Dataset.organization_id.in_(select(Organization.id).where(Organization.name == value))
    elif item.field == "owner_org":
        condition = Dataset.organization_id.in_(select(Organization.id).where(Organization.uuid == value))
    elif item.field == "tags":
        tagged = select(DatasetTag.dataset_id).join(Tag, Tag.id == DatasetTag.tag_id).where(Tag.name == value)
        condition = Dataset.id.in_(tagged)
    elif item.field == "groups":
        grouped = (
            select(DatasetGroup.dataset_id).join(Group, Group.id == DatasetGroup.group_id).where(Group.name == value)
        )
        condition = Dataset.id.in_(grouped)
    elif item.field == "res_format":
        condition = Dataset.id.in_(select(Resource.dataset_id).where(Resource.format == value.upper()))
    elif item.field == "license_id":
        condition = Dataset.license_id == value
    elif item.field == "name":
        condition = Dataset.name == value
    elif item.field == "id":
        condition = Dataset.uuid == value
    else:  # source
        condition = Dataset.source == value
    return ~condition if item.negated else condition


@dataclass(frozen=True)
class _FacetIndex:
    """Every dataset's themes, tags and formats as (facet, value) pairs, and the names of every publisher, theme
    and tag, as the catalogue stood at one version: the facets of any set of matching datasets are counted from
    it in the process, without sending their ids back to the database."""

    values: dict[int, tuple[tuple[str, Any], ...]]
    names: dict[str, dict[Any, tuple[str, str]]]


class WholeCatalogueCache:
    """One process's caches of the catalogue, kept while its version (`CatalogueVersion`, changed by every write
    to the catalogue in the writing transaction) is the same: the facet index (every dataset's themes, tags and
    formats, and the names of publishers, themes and tags) and the whole catalogue's count and facets (a search
    without words or filters: the catalogue's first page, harvesters paging through it). One look-up by key
    tells whether they hold, in every process."""

    MAX_ENTRIES = 64

    def __init__(self) -> None:
        self._entries: dict[tuple[Any, ...], tuple[int, int, dict[str, list[FacetItem]]]] = {}
        self._index: tuple[int, _FacetIndex] | None = None

    @staticmethod
    async def version(session: AsyncSession, index_only: bool = False) -> int:
        """The catalogue's version as this transaction sees it; with `index_only` (PostgreSQL), the same statement
        turns sequential scans off for the transaction, as `_execute` does (one round trip instead of two)."""
        statement = select(CatalogueVersion.version).where(CatalogueVersion.id == 1)
        if index_only:
            statement = statement.add_columns(func.set_config("enable_seqscan", "off", True))
        return int((await session.execute(statement)).one()[0])

    def get(self, key: tuple[Any, ...], version: int) -> tuple[int, dict[str, list[FacetItem]]] | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] != version:
            return None
        return entry[1], entry[2]

    def put(self, key: tuple[Any, ...], version: int, count: int, facets: dict[str, list[FacetItem]]) -> None:
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (version, count, facets)

    async def facet_index(self, session: AsyncSession, version: int) -> _FacetIndex:
        """The facet index at `version`, read again (two statements over the whole catalogue) when it moved."""
        if self._index is not None and self._index[0] == version:
            return self._index[1]
        pairs: dict[tuple[str, Any], tuple[str, Any]] = {}  # one tuple per pair, shared by the datasets
        values: dict[int, list[tuple[str, Any]]] = defaultdict(list)
        facet_values = union_all(
            select(literal("groups"), DatasetGroup.dataset_id, cast(DatasetGroup.group_id, String)),
            select(literal("tags"), DatasetTag.dataset_id, cast(DatasetTag.tag_id, String)),
            select(literal("res_format"), Resource.dataset_id, Resource.format)
            .where(Resource.format != "")
            .group_by(Resource.dataset_id, Resource.format),
        )
        for facet, dataset_id, value in (await session.execute(facet_values)).all():
            pair = (facet, value if facet == "res_format" else int(value))
            values[dataset_id].append(pairs.setdefault(pair, pair))
        names: dict[str, dict[Any, tuple[str, str]]] = {"organization": {}, "groups": {}, "tags": {}}
        named = union_all(
            select(literal("organization"), Organization.id, Organization.name, Organization.title),
            select(literal("groups"), Group.id, Group.name, Group.title),
            select(literal("tags"), Tag.id, Tag.name, Tag.name),
        )
        for facet, identifier, label, display in (await session.execute(named)).all():
            names[facet][identifier] = (label, display)
        index = _FacetIndex({key: tuple(items) for key, items in values.items()}, names)
        self._index = (version, index)
        return index


# Sort keys the page can be put in order by in Python, from what the matching statement reads anyway: numbers
# and times compare the same there as in the database (names and titles follow the database's collation).
_PYTHON_SORTABLE = ("score", "metadata_modified", "metadata_created")


@dataclass(frozen=True)
class _Matches:
    """The matching datasets, read once: their ids with what the count, the publisher and licence facets and a
    page sorted by score or time need. Rows are (id, organization_id, license_id, score, modified, created)."""

    rows: list[Any]

    @property
    def ids(self) -> list[int]:
        return [row[0] for row in self.rows]


def catalogue_cache(state: Any) -> WholeCatalogueCache:
    """The process's cache of the whole catalogue's count and facets, kept on the app's state: the CKAN API and
    the catalogue's pages share it."""
    cache: WholeCatalogueCache | None = getattr(state, "opendata_catalogue_cache", None)
    if cache is None:
        cache = state.opendata_catalogue_cache = WholeCatalogueCache()
    return cache


async def search(session: AsyncSession, query: SearchQuery, cache: WholeCatalogueCache | None = None) -> SearchResult:
    """One page of the datasets matching the query, their count and the facets.

    The words are matched once: one statement reads the matching datasets' ids (with score, publisher, licence
    and times); the count and the publisher and licence facets are counted from them, the themes, tags and
    formats from `cache`'s facet index, and a page sorted by relevance or time is cut from them in Python, so
    only the page's datasets are loaded. Without words or filters the count and facets come from `cache` while
    the catalogue's version holds. Without a `cache` (tests, one-off calls) a fresh one is read."""
    cache = cache if cache is not None else WholeCatalogueCache()
    conditions: list[Any] = [*visible(query.include_private), *(_filter_condition(item) for item in query.fq)]
    postgres = session.get_bind().dialect.name == "postgresql"
    score: Any = None  # without words to match, every dataset scores the same
    matched_score: Any = None
    index_only = False
    page = select(Dataset)
    text = query.q.strip()
    if text in ("*:*", "*"):
        text = ""
    matched = select(Dataset.id, Dataset.organization_id, Dataset.license_id)
    if text and postgres:
        words = postgres_query(text)
        if not words:
            return SearchResult(0, [], {name: [] for name in query.facet_fields})
        tsquery = func.websearch_to_tsquery(literal_column("'french'::regconfig"), words).op("||")(
            func.websearch_to_tsquery(literal_column("'english'::regconfig"), words)
        )
        vector: Any = literal_column(POSTGRES_VECTOR)
        # The matches' columns are read from the rows the full-text index finds, ranked only when the order needs
        # the rank; a page in an order Python cannot give joins the words matched alone, once (a materialised CTE).
        rank: Any = func.ts_rank(vector, tsquery) if any(name == "score" for name, _ in query.sort) else null()
        matched = matched.where(vector.op("@@")(tsquery))
        matched_score = rank
        ranked: Any = (
            select(Dataset.id.label("id"), rank.label("score"))
            .where(vector.op("@@")(tsquery))
            .cte("matching_words")
            .prefix_with("MATERIALIZED")
        )
        page = page.join(ranked, ranked.c.id == Dataset.id)
        score = ranked.c.score
        index_only = True
    elif text:
        match = sqlite_match(text)
        if not match:
            return SearchResult(0, [], {name: [] for name in query.facet_fields})
        fts: Any = literal_column("opendata_datasets_fts")
        # The words are matched in a subquery that LIMIT -1 keeps whole (SQLite does not flatten it into the
        # join): the full-text table is read once, instead of probed with the match for every visible dataset.
        ranked = (
            select(_fts.c.rowid.label("id"), (-func.bm25(fts, 10.0, 1.0)).label("score"))
            .where(fts.op("MATCH")(match))
            .limit(-1)
            .subquery("matching_words")
        )
        page = page.join(ranked, ranked.c.id == Dataset.id)
        matched = matched.join(ranked, ranked.c.id == Dataset.id)
        score = matched_score = ranked.c.score
    sort = tuple((name, descending) for name, descending in query.sort if name != "score" or score is not None)
    in_python = all(name in _PYTHON_SORTABLE for name, _descending in sort)
    whole = not text and not query.fq
    key = (query.include_private, query.facet_fields, query.facet_limit, query.facet_mincount)
    version = await cache.version(session, index_only)
    cached = cache.get(key, version) if whole else None
    matches: _Matches | None = None
    if cached is not None:
        count, facets = cached
    else:
        wanted = {name for name, _descending in sort} if in_python else set()
        # Times as the database stores them (ISO text on SQLite, a timestamp on PostgreSQL): they sort as in
        # the database, without making thousands of datetimes of which the page keeps ten.
        matched = matched.add_columns(
            matched_score if "score" in wanted else literal_column("NULL"),
            type_coerce(Dataset.modified_at, String) if "metadata_modified" in wanted else literal_column("NULL"),
            type_coerce(Dataset.created_at, String) if "metadata_created" in wanted else literal_column("NULL"),
        )
        matches = _Matches(list((await session.execute(matched.where(*conditions))).all()))
        if index_only:  # sequential scans were turned off with the version
            await session.execute(sql_text("RESET enable_seqscan"))
        count = len(matches.rows)
        index = await cache.facet_index(session, version) if query.facet_fields else _FacetIndex({}, {})
        facets = _facets(index, matches, query)
        if whole:
            cache.put(key, version, count, facets)
    datasets: list[Dataset] = []
    if query.rows and matches is not None and in_python:
        datasets = await _page_of(session, matches, sort, query)
    elif query.rows and matches is not None and all(name != "score" for name, _ in sort):
        # The page by name or title among the matches' ids, without matching the words again.
        among = select(Dataset).where(_among(session, Dataset.id, matches.ids))
        datasets = list((await session.execute(_ordered(among, sort, score, query))).scalars())
    elif query.rows:
        ordered = _ordered(page.where(*conditions), sort, score, query)
        datasets = list((await _execute(session, ordered, index_only)).scalars())
    return SearchResult(count, await load_views(session, datasets), facets)


async def _execute(session: AsyncSession, statement: Any, index_only: bool) -> Any:
    """Run a statement; with `index_only`, on PostgreSQL, through the full-text index. The planner prices a
    sequential scan's match below the GIN index's, not counting that it must decompress every dataset's tsvector
    to test it (10,000 datasets, a common word: 141 ms against 20 ms through the index, EXPLAIN ANALYZE)."""
    if not index_only:
        return await session.execute(statement)
    await session.execute(sql_text("SET LOCAL enable_seqscan = off"))
    result = await session.execute(statement)  # (a failure ends the transaction, and the setting with it)
    await session.execute(sql_text("RESET enable_seqscan"))
    return result


def _ordered(page: Any, sort: tuple[tuple[str, bool], ...], score: Any, query: SearchQuery) -> Any:
    order = []
    for name, descending in sort:
        expression: Any = {
            "score": score,
            "metadata_modified": Dataset.modified_at,
            "metadata_created": Dataset.created_at,
            "name": Dataset.name,
            "title_string": func.lower(Dataset.title),
        }[name]
        order.append(desc(expression) if descending else expression)
    # Ties go the way of the last key, so that an index of (..., key, id) serves the whole order.
    order.append(Dataset.id.desc() if query.sort and query.sort[-1][1] else Dataset.id)
    return page.order_by(*order).limit(query.rows).offset(query.start)


async def _page_of(
    session: AsyncSession, matches: _Matches, sort: tuple[tuple[str, bool], ...], query: SearchQuery
) -> list[Dataset]:
    """The page cut from the matches in the order the database would give (`_ordered`): stable sorts from the
    last key to the first, ties by id the way of the query's last key."""
    rows = list(matches.rows)
    rows.sort(key=lambda row: row[0], reverse=bool(query.sort and query.sort[-1][1]))
    position = {"score": 3, "metadata_modified": 4, "metadata_created": 5}
    for name, descending in reversed(sort):
        index = position[name]
        rows.sort(key=lambda row: row[index], reverse=descending)
    ids = [row[0] for row in rows[query.start : query.start + query.rows]]
    if not ids:
        return []
    statement = select(Dataset).where(one_of(session, Dataset.id, ids))
    loaded = {item.id: item for item in (await session.execute(statement)).scalars()}
    return [loaded[identifier] for identifier in ids]


def _among(session: AsyncSession, column: Any, ids: list[int]) -> ColumnElement[bool]:
    """`column IN ids` for thousands of ids: one array on PostgreSQL, one JSON text on SQLite (a list of
    thousands of parameters would be rendered and parsed on every search)."""
    if session.get_bind().dialect.name == "postgresql":
        return one_of(session, column, ids)
    listed: Any = select(literal_column("value")).select_from(func.json_each(json.dumps(ids)))
    among: ColumnElement[bool] = column.in_(listed)
    return among


def _facets(index: _FacetIndex, matches: _Matches, query: SearchQuery) -> dict[str, list[FacetItem]]:
    """Every facet asked for over the matches: publishers and licences counted from the matches' rows, themes,
    tags and formats from the facet index; then the top ones named."""
    counts: dict[str, dict[Any, int]] = {name: {} for name in query.facet_fields}
    if "organization" in counts:
        counts["organization"] = dict(Counter(row[1] for row in matches.rows if row[1] is not None))
    if "license_id" in counts:
        counts["license_id"] = dict(Counter(row[2] for row in matches.rows if row[2]))
    if {"groups", "tags", "res_format"} & counts.keys():
        values = index.values
        for (facet, value), number in Counter(chain.from_iterable(values.get(i, ()) for i in matches.ids)).items():
            if facet in counts:
                counts[facet][value] = number
    names = index.names | {"license_id": _licence_names(counts.get("license_id", {}))}
    return {
        name: _named(
            names.get(name, {}),
            sorted(
                ((value, number) for value, number in counts[name].items() if number >= query.facet_mincount),
                key=lambda item: (-item[1], item[0]),
            )[: query.facet_limit],
        )
        for name in query.facet_fields
    }


def _licence_names(licences: dict[str, int]) -> dict[Any, tuple[str, str]]:
    return {key: (key, vocabularies.LICENCES[key].title.en) for key in licences if key in vocabularies.LICENCES}


def _named(names: dict[Any, tuple[str, str]], counts: list[tuple[Any, int]]) -> list[FacetItem]:
    """A facet's top counts (by key) with their names and display names, most frequent first, then by name."""
    items = []
    for identifier, number in counts:
        label, display = names.get(identifier, (str(identifier), str(identifier)))
        items.append(FacetItem(label, display, number))
    items.sort(key=lambda item: (-item.count, item.name))
    return items
