"""Searching the catalogue as CKAN's package_search does: full text (French and English, see `textsearch`),
filters in CKAN's `fq` syntax, facets with counts, sort and pagination.

The database is asked only which datasets hold the words, and how well they match (one statement over the words'
index: FTS5 on SQLite, `opendata_dataset_words` on PostgreSQL, both holding nothing but the words); visibility,
filters, the count, the facets and a page in order of relevance or time are worked out over the process's
catalogue index (`search_index`, read again only when the catalogue's version moves); only the page's datasets
are loaded (three statements). docs/search.md says where the time goes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Float,
    Integer,
    bindparam,
    desc,
    func,
    literal_column,
    select,
)
from sqlalchemy import text as sql_text
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import one_of
from citoyen.opendata import search_index, vocabularies
from citoyen.opendata.catalog import DatasetView, load_views
from citoyen.opendata.errors import invalid
from citoyen.opendata.models import (
    Dataset,
    DatasetGroup,
    DatasetTag,
    Group,
    Organization,
    Resource,
    Tag,
)
from citoyen.opendata.search_index import CatalogueIndex, Mask
from citoyen.textsearch import postgres_query, sqlite_match

FACET_FIELDS = ("organization", "groups", "tags", "res_format", "license_id")
MAX_ROWS = 1000
DEFAULT_SORT = "score desc, metadata_modified desc"
SORT_FIELDS = ("score", "metadata_modified", "metadata_created", "name", "title_string")
FQ_FIELDS = ("organization", "owner_org", "tags", "groups", "res_format", "license_id", "name", "id", "source")
_CLAUSE = re.compile(r'\s*(?:(?:AND|&&)\s+)?([+-]?)([A-Za-z_]+):("(?:[^"\\]|\\.)*"|[^\s"()]+)\s*')


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


class WholeCatalogueCache:
    """One process's index of the catalogue (`search_index.CatalogueIndex`), kept while the catalogue's version
    is the same: one look-up by key tells whether it holds, in every process. The CKAN API and the catalogue's
    pages share it (`catalogue_cache`)."""

    def __init__(self) -> None:
        self._index: tuple[int, CatalogueIndex] | None = None
        # The whole catalogue's facets (a search without words or filters: the first page of /data, harvesters
        # paging through the catalogue), by the facets' options, at the index's version.
        self._whole: dict[tuple[Any, ...], dict[str, list[FacetItem]]] = {}

    async def index(self, session: AsyncSession, version: int) -> CatalogueIndex:
        """The index at `version`, read again when it moved."""
        if self._index is not None and self._index[0] == version:
            return self._index[1]
        index = await search_index.read_index(session)
        self._index = (version, index)
        self._whole = {}
        return index

    def whole_facets(
        self, index: CatalogueIndex, query: SearchQuery, count: Callable[[], dict[str, list[FacetItem]]]
    ) -> dict[str, list[FacetItem]]:
        """The facets of the whole catalogue (as `query` asks for them), counted once per version."""
        key = (query.include_private, query.facet_fields, query.facet_limit, query.facet_mincount)
        if self._index is None or self._index[1] is not index:
            return count()
        facets = self._whole.get(key)
        if facets is None:
            facets = self._whole[key] = count()
        return facets


def catalogue_cache(state: Any) -> WholeCatalogueCache:
    """The process's index of the catalogue, kept on the app's state: the CKAN API and the catalogue's pages
    share it."""
    cache: WholeCatalogueCache | None = getattr(state, "opendata_catalogue_cache", None)
    if cache is None:
        cache = state.opendata_catalogue_cache = WholeCatalogueCache()
    return cache


# Sort keys a page is put in order by over the index (names and titles follow the database's collation).
_INDEX_SORTABLE = ("score", "metadata_modified", "metadata_created")
_TSQUERY = "websearch_to_tsquery('french'::regconfig, {words}) || websearch_to_tsquery('english'::regconfig, {words})"


async def _match(session: AsyncSession, text: str, ranked: bool) -> tuple[list[int], list[float] | None]:
    """The ids of the datasets holding every word of `text` (as itself or its stem), with how well each matches
    when `ranked` (higher better: PostgreSQL's ts_rank, titles weighted A and descriptions B; SQLite's bm25 with
    titles weighted 10), in one row: two arrays rather than thousands of rows."""
    if session.get_bind().dialect.name == "postgresql":
        score = "ts_rank(vector, words.query)" if ranked else "NULL::real"
        statement = sql_text(
            f"SELECT array_agg(dataset_id), array_agg({score}) FROM opendata_dataset_words, "  # noqa: S608
            f"(SELECT {_TSQUERY.format(words=':words')} AS query) AS words WHERE vector @@ words.query"
        ).bindparams(
            # Sent as a literal: with a parameter, a prepared statement's generic plan cannot tell a rare word
            # from a common one. The words are only word characters (postgres_query).
            bindparam("words", postgres_query(text), literal_execute=True)
        )
        ids, scores = (await session.execute(statement)).one()
        return list(ids or []), (list(scores or []) if ranked else None)
    fts = "opendata_datasets_fts"
    score = f"-bm25({fts}, 10.0, 1.0)" if ranked else "NULL"
    # FTS5's auxiliary functions are not allowed inside an aggregate: the subquery (kept whole by LIMIT -1) ranks.
    statement = sql_text(
        "SELECT json_group_array(id), json_group_array(score) FROM "  # noqa: S608 (the code's own names)
        f"(SELECT rowid AS id, {score} AS score FROM {fts} WHERE {fts} MATCH :match LIMIT -1)"
    )
    ids, scores = (await session.execute(statement, {"match": sqlite_match(text)})).one()
    return json.loads(ids), (json.loads(scores) if ranked else None)


async def search(session: AsyncSession, query: SearchQuery, cache: WholeCatalogueCache | None = None) -> SearchResult:
    """One page of the datasets matching the query, their count and the facets.

    The words are matched once (`_match`: ids and scores); visibility, the filters, the count and the facets are
    worked out over `cache`'s catalogue index, and a page sorted by relevance or time is cut there too, so that
    only the page's datasets are loaded. Without a `cache` (tests, one-off calls) a fresh one is read."""
    cache = cache if cache is not None else WholeCatalogueCache()
    text = query.q.strip()
    if text in ("*:*", "*"):
        text = ""
    postgres = session.get_bind().dialect.name == "postgresql"
    if text and not (postgres_query(text) if postgres else sqlite_match(text)):
        return SearchResult(0, [], {name: [] for name in query.facet_fields})
    sort = tuple((name, descending) for name, descending in query.sort if name != "score" or text)
    version = await search_index.version(session)
    scores: list[float] | None = None
    matched: list[int] = []
    if text:
        matched, scores = await _match(session, text, any(name == "score" for name, _ in sort))
    index = await cache.index(session, version)
    mask = index.visible(query.include_private)
    rows, held = index.rows(matched)
    if text:
        mask = mask & index.mask(rows)
    for item in query.fq:
        mask = mask & await _filter_mask(session, index, item)
    if text or query.fq:
        facets = _facets(index, mask, query)
    else:
        facets = cache.whole_facets(index, query, lambda: _facets(index, mask, query))
    datasets: list[Dataset] = []
    if query.rows and all(name in _INDEX_SORTABLE for name, _ in sort):
        score = np.zeros(len(index.ids))
        if scores is not None:
            # The scores of the matches the index holds, in the order of `rows` (matches it lacks are dropped).
            score[rows] = np.asarray(scores, dtype=np.float64)[held]
        datasets = await _load(session, _page_ids(index, mask, score, sort, query))
    elif query.rows:
        datasets = await _page_in_database(session, index, mask, matched, scores, sort, query)
    return SearchResult(int(mask.sum()), await load_views(session, datasets), facets)


async def _filter_mask(session: AsyncSession, index: CatalogueIndex, item: Filter) -> Mask:
    """The datasets an `fq` clause keeps, from the index; names, ids and sources from the database."""
    value = item.value
    if item.field in ("organization", "owner_org"):
        wanted = (
            index.named("organization", value) if item.field == "organization" else index.organization_uuids.get(value)
        )
        mask = index.organization == (-2 if wanted is None else wanted)
    elif item.field in ("tags", "groups"):
        mask = index.having(item.field, index.named(item.field, value))
    elif item.field == "res_format":
        mask = index.having("res_format", value.upper())
    elif item.field == "license_id":
        code = index.licences.index(value) if value in index.licences else -2
        mask = index.licence == code
    else:
        ids = (await session.execute(select(Dataset.id).where(_filter_condition(Filter(item.field, value))))).scalars()
        mask = index.mask(index.rows(list(ids))[0])
    kept: Mask = ~mask if item.negated else mask
    return kept


def _page_ids(
    index: CatalogueIndex,
    mask: Mask,
    score: npt.NDArray[np.float64],
    sort: tuple[tuple[str, bool], ...],
    query: SearchQuery,
) -> list[int]:
    """The page's dataset ids in the order the database would give (`_ordered`): ties by id the way of the
    query's last key."""
    candidates = np.flatnonzero(mask)
    keys: dict[str, Any] = {"score": score, "metadata_modified": index.modified, "metadata_created": index.created}
    wanted = query.start + query.rows
    if sort and 0 < wanted < len(candidates):
        # Only the candidates whose first key is within the page's reach (ties included) need ordering.
        first = keys[sort[0][0]][candidates]
        first = -first if sort[0][1] else first
        candidates = candidates[first <= np.partition(first, wanted - 1)[wanted - 1]]
    last_descending = bool(query.sort and query.sort[-1][1])
    ordering = [-index.ids[candidates] if last_descending else index.ids[candidates]]
    for name, descending in reversed(sort):
        values = keys[name][candidates]
        ordering.append(-values if descending else values)
    order = np.lexsort(ordering)  # the last key sorts first
    return [int(i) for i in index.ids[candidates[order[query.start : query.start + query.rows]]]]


async def _load(session: AsyncSession, ids: list[int]) -> list[Dataset]:
    if not ids:
        return []
    loaded = {
        item.id: item
        for item in (await session.execute(select(Dataset).where(one_of(session, Dataset.id, ids)))).scalars()
    }
    return [loaded[identifier] for identifier in ids if identifier in loaded]


async def _page_in_database(
    session: AsyncSession,
    index: CatalogueIndex,
    mask: Mask,
    matched: list[int],
    scores: list[float] | None,
    sort: tuple[tuple[str, bool], ...],
    query: SearchQuery,
) -> list[Dataset]:
    """A page by name or title (the database's collation), among the datasets of `mask`; with words and a score
    among the keys, the scores go with the ids."""
    ids = [int(i) for i in index.ids[mask]]
    if not ids:
        return []
    score: Any = None
    statement = select(Dataset)
    if scores is not None:
        by_id = dict(zip(matched, scores, strict=True))
        pairs = [(identifier, by_id[identifier]) for identifier in ids]
        scored = _scored(session, pairs)
        statement = statement.join(scored, scored.c.id == Dataset.id)
        score = scored.c.score
    else:
        statement = statement.where(_among(session, Dataset.id, ids))
    return list((await session.execute(_ordered(statement, sort, score, query))).scalars())


def _scored(session: AsyncSession, pairs: list[tuple[int, float]]) -> Any:
    """(id, score) rows from the process: two arrays on PostgreSQL, one JSON text on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        unnested = func.unnest(
            bindparam("scored_ids", [pair[0] for pair in pairs], type_=ARRAY(Integer)),
            bindparam("scored_scores", [pair[1] for pair in pairs], type_=ARRAY(Float)),
        )
        return unnested.table_valued("id", "score").render_derived(name="scored")
    rows = func.json_each(json.dumps(pairs)).table_valued("value").alias("scored_rows")
    return (
        select(
            func.json_extract(rows.c.value, "$[0]").label("id"),
            func.json_extract(rows.c.value, "$[1]").label("score"),
        )
        .select_from(rows)
        .subquery("scored")
    )


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


def _among(session: AsyncSession, column: Any, ids: list[int]) -> ColumnElement[bool]:
    """`column IN ids` for thousands of ids: one array on PostgreSQL, one JSON text on SQLite (a list of
    thousands of parameters would be rendered and parsed on every search)."""
    if session.get_bind().dialect.name == "postgresql":
        return one_of(session, column, ids)
    listed: Any = select(literal_column("value")).select_from(func.json_each(json.dumps(ids)))
    among: ColumnElement[bool] = column.in_(listed)
    return among


def _facets(index: CatalogueIndex, mask: Mask, query: SearchQuery) -> dict[str, list[FacetItem]]:
    """Every facet asked for over the datasets of `mask`, counted over the index; then the top ones named."""
    names = dict(index.names)
    result = {}
    for name in query.facet_fields:
        counts = index.counts(name, mask)
        if name == "license_id":
            names[name] = _licence_names(counts)
        top = sorted(
            ((value, number) for value, number in counts.items() if number >= query.facet_mincount),
            key=lambda item: (-item[1], item[0]),
        )[: query.facet_limit]
        result[name] = _named(names.get(name, {}), top)
    return result


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
