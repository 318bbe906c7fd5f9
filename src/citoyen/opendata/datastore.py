"""The DataStore: the rows of every tabular resource (CSV/TSV uploads and the platform's own CSV files) in a
table of their own, searched as CKAN's `datastore_search` answers (`resource_id`, `q`, `filters`, `limit`,
`offset`, `sort`, `fields`, `include_total`, `distinct`, `records_format`).

One table per loaded file version, named `datastore_<resource uuid hex>_v<version>` (typed columns from the
version's Table Schema) or `..._v<version>t` when the typed load failed and every column was loaded as text
(a file whose cells PostgreSQL reads differently from frictionless, e.g. custom `trueValues`). Physical columns
are `c0, c1, …` in the file's column order plus `_id` (1, 2, … in file order, the primary key), so any header
(spaces, accents, 200 characters) works; the field names come from the version's Table Schema.

Loading happens in the transaction that stores the version (`files.create_resource`/`update_resource`, which
the auto-publication uses too): PostgreSQL COPYs the CSV file itself (its own parser, no Python per row),
SQLite inserts it in big batches. The new version's table is created beside the old one and the old one is
dropped in the same transaction, so a reader sees the old rows or the new ones, never half a table, and a
failed upload (rolled back) leaves the published table as it was. Versions stored before the DataStore existed
are loaded on their first search. Deleting a resource drops its tables; the upkeep drops any table left by a
deleted dataset.

These tables are made at run time, like CKAN's own DataStore: they are outside Alembic and the models
(`citoyen.migrations.UNMODELLED_TABLE` makes autogenerate ignore `datastore_%`), and the tests' schema reset
(DROP SCHEMA public CASCADE) removes them with the rest.

Speed: the columns filters use most (integers, text, dates, datetimes, booleans; the first INDEXED_COLUMNS of
them) get an index ending with `_id`, so "filter, then the first page in `_id` order" reads one index range and
stops at `limit`. `total` on a filter matching many rows is what costs: above `total_estimation_threshold`
PostgreSQL answers the planner's estimate and SQLite extrapolates from where the threshold-th match lies, and
the answer says `total_was_estimated: true` (as CKAN does with its threshold); under it PostgreSQL counts for at
most COUNT_BUDGET_MS (a table autovacuum has not yet visited, two filters no single index covers), then estimates.
See docs/datastore.md and bench/opendata_datastore.py.
"""

from __future__ import annotations

import asyncio
import csv
import json
import math
import re
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

from sqlalchemy import (
    ColumnElement,
    Executable,
    Select,
    Text,
    and_,
    bindparam,
    cast,
    column,
    func,
    literal,
    select,
    table,
    text,
)
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import STATEMENT_TIMEOUT
from citoyen.opendata.datastore_query import Query
from citoyen.opendata.datastore_query import parse_query as parse_query  # the route's: datastore.parse_query
from citoyen.opendata.errors import OpendataError, invalid, not_found
from citoyen.opendata.models import Resource, ResourceVersion

TABULAR = ("CSV", "TSV")
PREFIX = "datastore_"
# PostgreSQL counts under the threshold for at most this long, then answers the planner's estimate: counting 50,000
# rows spread over a 10-million-row table takes 20 ms once vacuumed (an index-only scan) but 1.7 s before.
COUNT_BUDGET_MS = 40
# ... and counts only when the planner's cost for it is under this (see _planner): otherwise the estimate at once.
COUNT_COST_LIMIT = 10_000.0
# SQLite, whose count ran past the budget, estimates from how many of the first rows match.
SAMPLE_ROWS = 20_000
# SQLite, two filters or more: when each indexed filter alone matches at least this many rows, counting them
# together reads at least as many rows from the table, one lookup each (about 10 µs on a quiet machine: 20,000
# take five times the budget), so the total is estimated at once instead of after a count that is sure to run out
# of its budget (40 ms lost per search: two filters at 10 million rows never counted within it).
SQLITE_LOOKUPS_IN_BUDGET = 20_000
# How many columns get an index (each costs load time: about 10 s per column at 10 million rows).
INDEXED_COLUMNS = 8
_BATCH = 20_000
_INDEXED_KINDS = ("int8", "text", "date", "timestamp", "bool")

Kind = Literal["int8", "float8", "bool", "date", "timestamp", "text"]
_KINDS: dict[str, Kind] = {
    "integer": "int8",
    "number": "float8",
    "boolean": "bool",
    "date": "date",
    "datetime": "timestamp",
}
_PG_TYPES = {
    "int8": "bigint",
    "float8": "double precision",
    "bool": "boolean",
    "date": "date",
    "timestamp": "timestamp with time zone",
    "text": "text",
}
_SQLITE_TYPES = {"int8": "INTEGER", "float8": "REAL", "bool": "INTEGER", "date": "TEXT", "timestamp": "TEXT"}
_TRUE = {"true", "True", "TRUE", "1"}
_FALSE = {"false", "False", "FALSE", "0"}


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    column: str  # c0, c1, ...


@dataclass(frozen=True)
class Table:
    """A loaded version: its table's name and fields (without `_id`)."""

    name: str
    fields: tuple[Field, ...]

    def field(self, name: str) -> Field | None:
        return next((item for item in self.fields if item.name == name), None)


def table_prefix(resource_uuid: str) -> str:
    return f"{PREFIX}{resource_uuid.replace('-', '').lower()}_v"


def _table_names(resource_uuid: str, number: int) -> tuple[str, str]:
    """The typed table's name and the all-text one's."""
    typed = f"{table_prefix(resource_uuid)}{number}"
    return typed, typed + "t"


def _fields(schema: dict[str, Any] | None, header: list[str], as_text: bool) -> tuple[Field, ...]:
    types = {
        item.get("name"): item.get("type")
        for item in (schema or {}).get("fields", [])
        if isinstance(item, dict) and not _custom_format(item)
    }
    return tuple(
        Field(name, "text" if as_text else _KINDS.get(str(types.get(name)), "text"), f"c{index}")
        for index, name in enumerate(header)
    )


def _custom_format(descriptor: dict[str, Any]) -> bool:
    """A field whose cells are not written the default way (a date format, decimal comma, own true values) is
    kept as its text: the loaders read the default forms only."""
    options = ("trueValues", "falseValues", "decimalChar", "groupChar", "bareNumber")
    return descriptor.get("format", "default") not in ("default", "any") or any(key in descriptor for key in options)


def _fields_of(schema: dict[str, Any] | None, as_text: bool) -> tuple[Field, ...]:
    names = [str(item.get("name")) for item in (schema or {}).get("fields", []) if isinstance(item, dict)]
    return _fields(schema, names, as_text)


def _quote(name: str) -> str:
    if not re.fullmatch(r"[a-z0-9_]+", name):  # our own names only: uuid hex, digits, c<N>
        raise ValueError(f"not a DataStore table or column name: {name!r}")
    return f'"{name}"'


# --- loading ------------------------------------------------------------------------------------------------


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def _driver(session: AsyncSession) -> Any:
    """The driver's own connection in the session's transaction (asyncpg's, or aiosqlite's), for COPY and
    executemany at their own speed."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


async def load_version(session: AsyncSession, directory: Path, resource: Resource, version: ResourceVersion) -> Table:
    """Load a tabular version's rows into its table (typed; all text if that fails) and drop the resource's other
    tables, in the session's transaction: the swap is seen whole at commit."""
    if resource.format not in TABULAR:
        raise ValueError(f"{resource.format} is not tabular")
    path = directory / version.path
    delimiter = "\t" if resource.format == "TSV" else ","
    header = await asyncio.to_thread(_header, path, delimiter)
    typed, as_text = _table_names(resource.uuid, version.number)
    loaded: Table | None = None
    try:
        async with session.begin_nested():
            loaded = Table(typed, _fields(version.table_schema, header, False))
            await _load(session, loaded, path, delimiter)
    except Exception:  # a cell the typed columns refuse: the rows are kept as text rather than not at all
        loaded = None
    if loaded is None:
        loaded = Table(as_text, _fields(version.table_schema, header, True))
        await _load(session, loaded, path, delimiter)
    for name in await tables_of(session, resource.uuid):
        if name != loaded.name:
            await session.execute(text(f"DROP TABLE IF EXISTS {_quote(name)}"))
    return loaded


def _header(path: Path, delimiter: str) -> list[str]:
    with path.open(encoding="utf-8", newline="") as stream:
        return next(csv.reader(stream, delimiter=delimiter), [])


async def _load(session: AsyncSession, loaded: Table, path: Path, delimiter: str) -> None:
    name = _quote(loaded.name)
    await session.execute(text(f"DROP TABLE IF EXISTS {name}"))
    columns = [item.column for item in loaded.fields]
    if _is_postgres(session):
        # A big file takes longer than a request's statement timeout; index builds get more memory.
        await session.execute(text("SET LOCAL statement_timeout = 0"))
        await session.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        definitions = ", ".join(f"{item.column} {_PG_TYPES[item.kind]}" for item in loaded.fields)
        await session.execute(text(f"CREATE TABLE {name} (_id bigint GENERATED BY DEFAULT AS IDENTITY, {definitions})"))
        driver = await _driver(session)
        # PostgreSQL parses the CSV itself; empty cells (quoted or not) are missing values, as Table Schema says.
        await driver.copy_to_table(
            loaded.name,
            source=str(path),
            columns=columns,
            format="csv",
            header=True,
            delimiter=delimiter,
            null="",
            force_null=columns,
            encoding="utf-8",
        )
        # The primary key and indexes are built once the rows are in: far quicker than row by row.
        await session.execute(text(f"ALTER TABLE {name} ADD PRIMARY KEY (_id)"))
        for item in _indexed(loaded):
            await session.execute(
                text(f"CREATE INDEX {_quote(loaded.name + '_' + item.column)} ON {name} ({item.column}, _id)")
            )
        await session.execute(text(f"ANALYZE {name}"))
        return
    definitions = ", ".join(f"{item.column} {_SQLITE_TYPES.get(item.kind, 'TEXT')}" for item in loaded.fields)
    await session.execute(text(f"CREATE TABLE {name} (_id INTEGER PRIMARY KEY, {definitions})"))
    driver = await _driver(session)
    # Our own table and column names (checked by _quote); the values are bound parameters.
    statement = f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"  # noqa: S608
    convert = _sqlite_converters(loaded.fields)
    batches = _batches(path, delimiter, convert)
    try:
        while batch := await asyncio.to_thread(next, batches, None):
            await driver.executemany(statement, batch)
    finally:
        batches.close()
    # SQLite's index entries end with the rowid (_id), so (column) alone serves "filter, then _id order". Run
    # through the driver: not subject to the request's statement timeout, which a 10-million-row index exceeds.
    for item in _indexed(loaded):
        await driver.execute(f"CREATE INDEX {_quote(loaded.name + '_' + item.column)} ON {name} ({item.column})")


def _indexed(loaded: Table) -> list[Field]:
    return [item for item in loaded.fields if item.kind in _INDEXED_KINDS][:INDEXED_COLUMNS]


def _canonical_moment(value: str) -> str:
    """A Table Schema datetime as SQLite keeps it: ISO 8601 in UTC with a Z, so text order is time order."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat().replace("+00:00", "Z")


def _boolean_cell(value: str) -> int | None:
    return 1 if value in _TRUE else 0 if value in _FALSE else None


def _sqlite_converters(fields: tuple[Field, ...]) -> list[Callable[[str], Any] | None]:
    """How each cell becomes a SQLite value (None: the text itself, which the column's affinity turns into an
    integer or real when it is one)."""
    converters: dict[str, Callable[[str], Any]] = {"bool": _boolean_cell, "timestamp": _canonical_moment}
    return [converters.get(item.kind) for item in fields]


def _batches(
    path: Path, delimiter: str, convert: list[Callable[[str], Any] | None]
) -> Generator[list[list[Any]], None, None]:
    with path.open(encoding="utf-8", newline="") as stream:
        rows = csv.reader(stream, delimiter=delimiter)
        next(rows, None)
        batch: list[list[Any]] = []
        plain = all(item is None for item in convert)
        for row in rows:
            if not row:
                continue
            if plain:
                batch.append([cell if cell != "" else None for cell in row])
            else:
                batch.append(
                    [
                        None if cell == "" else (cell if change is None else change(cell))
                        for cell, change in zip(row, convert, strict=False)
                    ]
                )
            if len(batch) >= _BATCH:
                yield batch
                batch = []
        if batch:
            yield batch


# --- tables, dropping -----------------------------------------------------------------------------------------


async def tables_of(session: AsyncSession, resource_uuid: str) -> list[str]:
    return await _tables_like(session, table_prefix(resource_uuid) + "%")


async def _tables_like(session: AsyncSession, pattern: str) -> list[str]:
    if _is_postgres(session):
        query = text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE :pattern")
    else:
        query = text("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE :pattern")
    names = (await session.execute(query, {"pattern": pattern})).scalars()
    # LIKE's _ matches any character: keep exactly ours.
    exact = re.compile(re.escape(pattern[:-1]) + ".*" if pattern.endswith("%") else re.escape(pattern))
    return sorted(name for name in names if exact.fullmatch(name))


async def _present(session: AsyncSession, names: tuple[str, ...]) -> set[str]:
    """Which of these tables exist (one cheap catalogue look-up: every search asks)."""
    if _is_postgres(session):
        found = (
            await session.execute(
                text("SELECT to_regclass(:a)::text, to_regclass(:b)::text"), dict(zip("ab", names, strict=True))
            )
        ).one()
        return {name.strip('"') for name in found if name}
    query = text("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (:a, :b)")
    return set((await session.execute(query, dict(zip("ab", names, strict=True)))).scalars())


async def drop_resource(session: AsyncSession, resource_uuid: str) -> None:
    """Drop every table of a resource (it was removed from the catalogue)."""
    for name in await tables_of(session, resource_uuid):
        await session.execute(text(f"DROP TABLE IF EXISTS {_quote(name)}"))


async def prune_tables(session: AsyncSession, current: set[tuple[str, int]]) -> int:
    """Drop the tables of versions that are not in `current` ((resource uuid, version number) of the current
    tabular versions of active datasets): a deleted dataset's, or a replaced version's left by a crash."""
    keep: set[str] = set()
    for resource_uuid, number in current:
        keep.update(_table_names(resource_uuid, number))
    dropped = 0
    for name in await _tables_like(session, PREFIX + "%"):
        if re.fullmatch(rf"{PREFIX}[0-9a-f]{{32}}_v\d+t?", name) and name not in keep:
            await session.execute(text(f"DROP TABLE IF EXISTS {_quote(name)}"))
            dropped += 1
    return dropped


async def loaded_table(session: AsyncSession, directory: Path, resource: Resource, version: ResourceVersion) -> Table:
    """The table of a version, loaded now if it was stored before the DataStore (or its table was lost)."""
    typed, as_text = _table_names(resource.uuid, version.number)
    present = await _present(session, (typed, as_text))
    if typed in present:
        return Table(typed, _fields_of(version.table_schema, False))
    if as_text in present:
        return Table(as_text, _fields_of(version.table_schema, True))
    if not (directory / version.path).is_file():
        raise not_found(f'Resource "{resource.uuid}" was not found')
    return await load_version(session, directory, resource, version)


# --- search -----------------------------------------------------------------------------------------------------


def _unknown(key: str, name: str) -> OpendataError:
    return invalid(key, f'field "{name}" not in datastore resource')


def _value(item: Field, value: Any, postgres: bool) -> Any:
    """A filter's value as the column holds it; a Validation Error names the field when it cannot be."""
    try:
        if item.kind == "int8":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if item.kind == "float8":
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if item.kind == "bool":
            if isinstance(value, bool):
                return value if postgres else int(value)
            if str(value) in _TRUE | _FALSE:
                return (str(value) in _TRUE) if postgres else int(str(value) in _TRUE)
            raise ValueError
        if item.kind == "date":
            day = date.fromisoformat(str(value))
            return day if postgres else day.isoformat()
        if item.kind == "timestamp":
            moment = datetime.fromisoformat(str(value))
            moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
            return moment if postgres else moment.isoformat().replace("+00:00", "Z")
    except (ValueError, OverflowError):
        raise invalid("filters", f'field "{item.name}": {value!r} is not a valid {item.kind}') from None
    return str(value)


def _output(kind: Kind) -> Callable[[Any], Any]:
    def number(value: Any) -> Any:
        if not isinstance(value, int | float):
            return None
        return float(value) if math.isfinite(value) else None

    def moment(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return value

    def day(value: Any) -> Any:
        return value.isoformat() if isinstance(value, date) else value

    def integer(value: Any) -> Any:
        return int(value) if isinstance(value, int | float) else value

    def boolean(value: Any) -> Any:
        return bool(value) if isinstance(value, int | bool) else value

    def plain(value: Any) -> Any:
        return value

    outputs: dict[str, Callable[[Any], Any]] = {
        "float8": number,
        "timestamp": moment,
        "date": day,
        "int8": integer,
        "bool": boolean,
    }
    return outputs.get(kind, plain)


def _like(expression: ColumnElement[Any], word: str, postgres: bool) -> ColumnElement[bool]:
    pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if postgres:
        return expression.ilike(pattern, escape="\\")
    return expression.like(pattern, escape="\\")  # SQLite's LIKE ignores ASCII case


async def search(
    session: AsyncSession, directory: Path, resource: Resource, version: ResourceVersion | None, query: Query
) -> dict[str, Any]:
    """A datastore_search answer (CKAN's `result`) over the resource's current `version` (the caller found the
    resource, refusing a draft's to who may not see it): Not Found for a resource that is not a table,
    Validation Error naming the field for an unknown field in filters, q, sort or fields."""
    version = _tabular(resource, version)
    if not _is_postgres(session):  # SQLite: a read transaction sees one snapshot, tables included
        return await _search(session, directory, resource, version, query)
    try:
        async with session.begin_nested():
            return await _search(session, directory, resource, version, query)
    except DBAPIError as error:
        # A new version committed between finding the table and reading it, and dropped it: read the new one.
        if "does not exist" not in str(error.orig):
            raise
    await session.refresh(resource)
    number = resource.current_version
    current = await session.scalar(
        select(ResourceVersion).where(ResourceVersion.resource_id == resource.id, ResourceVersion.number == number)
    )
    return await _search(session, directory, resource, _tabular(resource, current), query)


async def _search(
    session: AsyncSession, directory: Path, resource: Resource, version: ResourceVersion, query: Query
) -> dict[str, Any]:
    loaded = await loaded_table(session, directory, resource, version)
    postgres = _is_postgres(session)
    base = table(loaded.name, column("_id"), *[column(item.column) for item in loaded.fields])
    by_name = {item.name: item for item in loaded.fields}
    id_field = Field("_id", "int8", "_id")
    every = {"_id": id_field, **by_name}

    def known(key: str, name: str) -> Field:
        item = every.get(name)
        if item is None:
            raise _unknown(key, name)
        return item

    names = (
        query.fields if query.fields is not None else [name for name in every if not (query.distinct and name == "_id")]
    )
    selected = [known("fields", name) for name in names]
    conditions: list[ColumnElement[bool]] = []
    indexed = _indexed(loaded)
    indexed_filters: list[ColumnElement[bool]] = []  # the filters on an indexed column, each alone
    for name, values in query.filters.items():
        item = known("filters", name)
        converted = [_value(item, value, postgres) for value in values]
        target = base.c[item.column]
        conditions.append(target == converted[0] if len(converted) == 1 else target.in_(converted))
        if item in indexed:
            indexed_filters.append(conditions[-1])
    if isinstance(query.q, dict):
        for name, words in query.q.items():
            item = known("q", name)
            as_text = cast(base.c[item.column], Text)
            conditions.extend(_like(as_text, word, postgres) for word in words.split())
    elif query.q:
        row_text: ColumnElement[Any] = func.concat_ws(" ", *[cast(base.c[item.column], Text) for item in loaded.fields])
        if not postgres:  # SQLite has no concat_ws before 3.44
            row_text = literal("")
            for item in loaded.fields:
                row_text = row_text + " " + func.coalesce(cast(base.c[item.column], Text), "")
        conditions.extend(_like(row_text, word, postgres) for word in query.q.split())
    where = and_(*conditions) if conditions else None
    order = []
    for name, descending in query.sort:
        target = base.c[known("sort", name).column]
        order.append(target.desc() if descending else target.asc())
    columns = [base.c[item.column].label(item.column) for item in selected]
    statement: Select[Any] = select(*columns).select_from(base)
    if where is not None:
        statement = statement.where(where)
    if query.distinct:
        statement = statement.distinct()
        statement = statement.order_by(*order) if order else statement
    else:
        # _id last: a stable order for paging, and the one the (column, _id) indexes are built in.
        if not any(name == "_id" for name, _ in query.sort):
            order.append(base.c["_id"].asc())
        statement = statement.order_by(*order)
    statement = statement.limit(query.limit).offset(query.offset)
    rows = (await session.execute(statement)).all()
    outputs = [_output(item.kind) for item in selected]
    if query.records_format == "lists":
        records: list[Any] = [[out(value) for out, value in zip(outputs, row, strict=True)] for row in rows]
    else:
        records = [
            {item.name: out(value) for item, out, value in zip(selected, outputs, row, strict=True)} for row in rows
        ]
    result: dict[str, Any] = {
        "include_total": query.include_total,
        "resource_id": resource.uuid,
        "fields": [{"id": item.name, "type": "int" if item.name == "_id" else item.kind} for item in selected],
        "records_format": query.records_format,
        "records": records,
        "limit": query.limit,
        "_links": _links(query),
        "total_estimation_threshold": query.total_estimation_threshold,
    }
    if query.offset:
        result["offset"] = query.offset
    for key in ("q", "filters", "sort", "distinct"):
        if key in query.given:
            result[key] = query.given[key]
    if query.include_total:
        counted = select(*columns).select_from(base)
        if where is not None:
            counted = counted.where(where)
        if query.distinct:
            counted = counted.distinct()
        many = len(conditions) > 1 and await _each_matches_many(session, base, indexed_filters)
        total, estimated = await _total(session, base, counted, where, version, query, many)
        result["total"] = total
        result["total_was_estimated"] = estimated
    return result


def _tabular(resource: Resource, version: ResourceVersion | None) -> ResourceVersion:
    if resource.format not in TABULAR or version is None:
        raise not_found(f'Resource "{resource.uuid}" was not found')
    return version


async def _total(
    session: AsyncSession,
    base: Any,
    counted: Select[Any],
    where: ColumnElement[bool] | None,
    version: ResourceVersion,
    query: Query,
    many: bool = False,
) -> tuple[int, bool]:
    """The number of matching records: exact up to the threshold, estimated above it (and, on SQLite, at once
    when `many`: conditions that together cannot be counted within the budget)."""
    if where is None and not query.distinct and version.row_count is not None:
        return int(version.row_count), False  # every row: counted when the file was checked
    threshold = query.total_estimation_threshold
    if _is_postgres(session):
        counting = select(func.count()).select_from(counted.subquery())
        estimate, cost = await _planner(session, counting)
        if estimate > threshold or cost > COUNT_COST_LIMIT:
            return estimate, True
        exact = await _count_within(session, counting, COUNT_BUDGET_MS)
        return (exact, False) if exact is not None else (estimate, True)
    if query.distinct:
        exact = await session.scalar(select(func.count()).select_from(counted.subquery()))
        return int(exact or 0), False
    # SQLite: find the (threshold+1)-th match in _id order (OFFSET steps over index entries in the engine, about
    # three times quicker than counting them through a subquery); past the threshold, extrapolate from where it
    # lies among all the rows; else count the matches (fewer than the threshold) directly.
    highest = int(await session.scalar(select(func.max(base.c["_id"]))) or 0)
    row = None if many else await _sqlite_count_capped(session, base, where, threshold)
    if row is None:  # two filters no index covers: estimated from the first rows
        # NOT INDEXED: the first rows by _id (a short range of the table), not an index's way to the matches.
        condition = "1" if where is None else where.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        sample = f"SELECT count(*) FROM {_quote(base.name)} NOT INDEXED WHERE _id <= {SAMPLE_ROWS} AND ({condition})"  # noqa: S608
        matched = int(await session.scalar(text(sample)) or 0)
        return round(matched * highest / min(SAMPLE_ROWS, highest or 1)), True
    found, last = row
    if int(found) <= threshold or not last:
        return int(found), False
    return round(int(found) * (highest or int(last)) / int(last)), True


def _nth_match(base: Any, where: ColumnElement[bool] | None) -> Select[Any]:
    """SQLite: the `_id` of the match after the first :skip ones in _id order (NULL when there are not that many),
    found by OFFSET along the filter's index: no subquery row is made for the matches stepped over."""
    probe = select(base.c["_id"]).select_from(base)
    if where is not None:
        probe = probe.where(where)
    return select(probe.order_by(base.c["_id"]).limit(1).offset(bindparam("skip")).scalar_subquery())


async def _sqlite_count_capped(
    session: AsyncSession, base: Any, where: ColumnElement[bool] | None, threshold: int
) -> tuple[int, int] | None:
    """SQLite: (threshold + 1, the _id of that match) when more than `threshold` rows match, else (the exact
    count, 0); None when that does not fit in COUNT_BUDGET_MS (both steps together)."""
    started = time.perf_counter()
    beyond = await _sqlite_within(session, _nth_match(base, where), {"skip": threshold}, COUNT_BUDGET_MS)
    if beyond is None:
        return None
    if beyond[0] is not None:
        return threshold + 1, int(beyond[0])
    left = COUNT_BUDGET_MS - (time.perf_counter() - started) * 1000
    counting = select(func.count()).select_from(base)  # a count the index alone answers, no subquery
    if where is not None:
        counting = counting.where(where)
    counted = await _sqlite_within(session, counting, {}, max(1, round(left)))
    return None if counted is None else (int(counted[0]), 0)


async def _each_matches_many(session: AsyncSession, base: Any, indexed_filters: list[ColumnElement[bool]]) -> bool:
    """SQLite: whether several filters are given, at least one on an indexed column, and every such filter
    alone matches at least SQLITE_LOOKUPS_IN_BUDGET rows (each looked up in its index alone, stopping there)."""
    if _is_postgres(session) or not indexed_filters:
        return False
    for condition in indexed_filters:
        nth = await session.scalar(_nth_match(base, condition), {"skip": SQLITE_LOOKUPS_IN_BUDGET - 1})
        if nth is None:
            return False
    return True


async def _sqlite_within(
    session: AsyncSession, statement: Executable, params: dict[str, Any], milliseconds: int
) -> Any | None:
    """SQLite: the statement's one row, or None when it runs longer than `milliseconds` (the connection's
    statement deadline, `citoyen.db`'s progress handler, interrupts it; a read leaves the transaction as it was)."""
    connection = await session.connection()
    previous = (
        connection.sync_connection.get_execution_options().get(STATEMENT_TIMEOUT)
        if connection.sync_connection
        else None
    )
    budget = milliseconds / 1000 if not previous else min(previous, milliseconds / 1000)
    await connection.execution_options(**{STATEMENT_TIMEOUT: budget})
    try:
        return (await connection.execute(statement, params)).one()
    except OperationalError as error:
        if "interrupted" not in str(error.orig):
            raise
        return None
    finally:
        await connection.execution_options(**{STATEMENT_TIMEOUT: previous})


async def _count_within(session: AsyncSession, statement: Select[Any], milliseconds: int) -> int | None:
    """PostgreSQL: the count, or None when it takes longer than `milliseconds` (rows spread over many pages of a
    table not yet vacuumed, two filters with no index over both): the planner's estimate is answered instead."""
    try:
        async with session.begin_nested():  # a cancelled count rolls back to here; the transaction goes on
            await session.execute(text(f"SET LOCAL statement_timeout = {int(milliseconds)}"))
            counted = await session.scalar(statement)
            await session.execute(text("SET LOCAL statement_timeout TO DEFAULT"))  # the connection's own again
    except DBAPIError as error:
        if "statement timeout" not in str(error.orig):
            raise
        return None
    return int(counted or 0)


async def _planner(session: AsyncSession, counting: Select[Any]) -> tuple[int, float]:
    """PostgreSQL's own view of a count (EXPLAIN; nothing is read): how many rows it expects to count, and what
    counting them costs in its units (an index-only scan of 50,000 entries is about 1,700; the same rows read from
    the table's pages before it is vacuumed, or two filters combined from two indexes, tens of thousands)."""
    dialect = session.get_bind().dialect
    compiled = counting.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    arguments = [compiled.params[name] for name in (compiled.positiontup or [])]
    # A parallel plan's nodes count rows per worker: the plan of one process says the whole table's. (Nothing
    # this request runs after it needs parallel workers: the count is only made when it is cheap.)
    await session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    driver = await _driver(session)
    plan = await driver.fetchval("EXPLAIN (FORMAT JSON) " + str(compiled), *arguments)
    top = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    counted = top["Plans"][0] if top.get("Plans") else top  # what the Aggregate counts
    return int(counted["Plan Rows"]), float(top["Total Cost"])


def _links(query: Query) -> dict[str, str]:
    def encoded(extra: dict[str, Any]) -> str:
        pairs = []
        for key, value in {**query.given, **extra}.items():
            pairs.append((key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)))
        return urlencode(pairs)

    start = "/api/3/action/datastore_search?" + encoded({})
    following = "/api/3/action/datastore_search?" + encoded({"offset": query.offset + query.limit})
    return {"start": start, "next": following}


async def info(
    session: AsyncSession, directory: Path, resource: Resource, version: ResourceVersion | None
) -> dict[str, Any]:
    """datastore_info: the fields of a resource's table and its number of rows."""
    version = _tabular(resource, version)
    loaded = await loaded_table(session, directory, resource, version)
    count = version.row_count
    if count is None:
        count = await session.scalar(select(func.count()).select_from(table(loaded.name)))
    return {
        "meta": {"id": resource.uuid, "count": int(count or 0), "table_type": "BASE TABLE", "aliases": []},
        "fields": [{"id": "_id", "type": "int"}]
        + [
            {"id": item.name, "type": item.kind, "schema": {"is_index": item in _indexed(loaded)}}
            for item in loaded.fields
        ],
    }
