"""Searching the catalogue as CKAN's package_search does: full text (French and English, see `textsearch`),
filters in CKAN's `fq` syntax, facets with counts, sort and pagination. Facets are GROUP BY counts over the
matching datasets (one statement each), and the page's datasets are loaded whole in five queries: the cost
does not grow with the page's datasets one by one."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, column, desc, func, literal_column, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import one_of
from citoyen.opendata import vocabularies
from citoyen.opendata.catalog import DatasetView, load_views, visible
from citoyen.opendata.errors import invalid
from citoyen.opendata.models import Dataset, DatasetGroup, DatasetTag, Group, Organization, Resource, Tag
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


class WholeCatalogueCache:
    """One process's count and facets of the whole catalogue (a search without words or filters: the catalogue's
    first page, harvesters paging through it), kept while the catalogue is unchanged: every change to a dataset,
    its tags, themes or resources moves its `modified_at`, and a new dataset the count, so one look at the
    listing index tells whether they still hold, in every process."""

    MAX_ENTRIES = 64

    def __init__(self) -> None:
        self._entries: dict[tuple[Any, ...], tuple[tuple[Any, ...], int, dict[str, list[FacetItem]]]] = {}

    @staticmethod
    async def fingerprint(session: AsyncSession) -> tuple[Any, ...]:
        """The count, the last id and the sum of every dataset's modification time: any change to one moves it,
        whatever the clocks of the processes that made it (the listing index holds the three)."""
        if session.get_bind().dialect.name == "postgresql":
            times: Any = func.sum(func.extract("epoch", Dataset.modified_at))
        else:
            times = func.total(func.julianday(Dataset.modified_at))
        row = (await session.execute(select(func.count(), func.max(Dataset.id), times))).one()
        return tuple(row)

    def get(self, key: tuple[Any, ...], fingerprint: tuple[Any, ...]) -> tuple[int, dict[str, list[FacetItem]]] | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] != fingerprint:
            return None
        return entry[1], entry[2]

    def put(
        self, key: tuple[Any, ...], fingerprint: tuple[Any, ...], count: int, facets: dict[str, list[FacetItem]]
    ) -> None:
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (fingerprint, count, facets)


async def search(session: AsyncSession, query: SearchQuery, cache: WholeCatalogueCache | None = None) -> SearchResult:
    """One page of the datasets matching the query, their count and the facets (those of the whole catalogue
    from `cache` while it holds)."""
    conditions: list[Any] = [*visible(query.include_private), *(_filter_condition(item) for item in query.fq)]
    postgres = session.get_bind().dialect.name == "postgresql"
    score: Any = None  # without words to match, every dataset scores the same
    page = select(Dataset)
    text = query.q.strip()
    if text in ("*:*", "*"):
        text = ""
    if text and postgres:
        words = postgres_query(text)
        if not words:
            return SearchResult(0, [], {name: [] for name in query.facet_fields})
        tsquery = func.websearch_to_tsquery(literal_column("'french'::regconfig"), words).op("||")(
            func.websearch_to_tsquery(literal_column("'english'::regconfig"), words)
        )
        vector: Any = literal_column(POSTGRES_VECTOR)
        conditions.append(vector.op("@@")(tsquery))
        score = func.ts_rank(vector, tsquery)
        page = page.where(*conditions)
    elif text:
        match = sqlite_match(text)
        if not match:
            return SearchResult(0, [], {name: [] for name in query.facet_fields})
        fts: Any = literal_column("opendata_datasets_fts")
        # The page reads the full-text table itself (bm25 needs it in FROM); counts and facets only its ids.
        page = page.join(_fts, _fts.c.rowid == Dataset.id).where(fts.op("MATCH")(match), *conditions)
        score = -func.bm25(fts, 10.0, 1.0)
        conditions.append(Dataset.id.in_(select(_fts.c.rowid).where(fts.op("MATCH")(match))))
    else:
        page = page.where(*conditions)
    whole = cache is not None and not text and not query.fq
    key = (query.include_private, query.facet_fields, query.facet_limit, query.facet_mincount)
    fingerprint: tuple[Any, ...] = ()
    cached = None
    if whole and cache is not None:
        fingerprint = await cache.fingerprint(session)
        cached = cache.get(key, fingerprint)
    if cached is not None:
        count, facets = cached
    elif postgres and (text or query.fq) and query.facet_fields:
        # The matches once, then each facet over their ids (one array), instead of matching again per facet.
        ids = list((await session.execute(select(Dataset.id).where(*conditions))).scalars())
        count = len(ids)
        matched = [one_of(session, Dataset.id, ids)]
        facets = {name: await _facet(session, name, matched, query) for name in query.facet_fields}
    else:
        count = int(await session.scalar(select(func.count()).select_from(Dataset).where(*conditions)) or 0)
        facets = {name: await _facet(session, name, conditions, query) for name in query.facet_fields}
        if whole and cache is not None:
            cache.put(key, fingerprint, count, facets)
    order = []
    for name, descending in query.sort:
        if name == "score" and score is None:
            continue
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
    datasets = (
        list((await session.execute(page.order_by(*order).limit(query.rows).offset(query.start))).scalars())
        if query.rows
        else []
    )
    return SearchResult(count, await load_views(session, datasets), facets)


async def _facet(session: AsyncSession, name: str, conditions: list[Any], query: SearchQuery) -> list[FacetItem]:
    """One facet's counts over the matching datasets: grouped by integer ids where it can, named afterwards."""
    counted: Any = func.count()
    key: Any
    if name == "organization":
        key = Dataset.organization_id
        statement = select(key, counted).where(*conditions, key.is_not(None))
    elif name == "groups":
        key = DatasetGroup.group_id
        statement = select(key, counted).join(Dataset, Dataset.id == DatasetGroup.dataset_id).where(*conditions)
    elif name == "tags":
        key = DatasetTag.tag_id
        statement = select(key, counted).join(Dataset, Dataset.id == DatasetTag.dataset_id).where(*conditions)
    elif name == "res_format":
        key = Resource.format
        counted = func.count(Resource.dataset_id.distinct())
        statement = select(key, counted).join(Dataset, Dataset.id == Resource.dataset_id).where(*conditions, key != "")
    else:  # license_id
        key = Dataset.license_id
        statement = select(key, counted).where(*conditions, key != "")
    statement = (
        statement.group_by(key)
        .having(counted >= query.facet_mincount)
        .order_by(desc(counted), key)
        .limit(query.facet_limit)
    )
    counts = list((await session.execute(statement)).all())
    names: dict[Any, tuple[str, str]] = {}
    ids = [row[0] for row in counts]
    if name == "organization":
        rows = await session.execute(
            select(Organization.id, Organization.name, Organization.title).where(one_of(session, Organization.id, ids))
        )
        names = {row[0]: (row[1], row[2]) for row in rows.all()}
    elif name == "groups":
        rows = await session.execute(select(Group.id, Group.name, Group.title).where(one_of(session, Group.id, ids)))
        names = {row[0]: (row[1], row[2]) for row in rows.all()}
    elif name == "tags":
        rows = await session.execute(select(Tag.id, Tag.name).where(one_of(session, Tag.id, ids)))
        names = {row[0]: (row[1], row[1]) for row in rows.all()}
    elif name == "license_id":
        names = {key: (key, vocabularies.LICENCES[key].title.en) for key in ids if key in vocabularies.LICENCES}
    items = []
    for identifier, number in counts:
        label, display = names.get(identifier, (str(identifier), str(identifier)))
        items.append(FacetItem(label, display, number))
    items.sort(key=lambda item: (-item.count, item.name))
    return items
