"""The reports' queries that are tuned for speed: the filters a search, the map and Open311 share,
the Open311 rows read without the ORM, the version a cached answer checks, and the map's count
tables (kept by an upsert per filing or change of status, rebuilt after a bulk load). Rules stay in
the subject modules; these take the session and return rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVarTuple

from sqlalchemy import ColumnElement, Date, Select, String, cast, delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.reports.models import (
    CatalogRevision,
    Category,
    Report,
    ReportMapCount,
    ReportMapTotal,
    ReportPhoto,
    ReportStatus,
)
from citoyen.textsearch import has_words, words_match, words_rank

Columns = TypeVarTuple("Columns")


@dataclass
class ReportFilters:
    ids: list[int] | None = None
    category_codes: list[str] | None = None
    category_ids: list[int] | None = None
    statuses: list[ReportStatus] | None = None
    neighbourhood_id: int | None = None
    department_id: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    bbox: tuple[float, float, float, float] | None = None
    text: str = ""


def filtered(query: Select[*Columns], filters: ReportFilters) -> Select[*Columns]:
    if filters.ids is not None:
        query = query.where(Report.id.in_(filters.ids))
    if filters.category_codes:
        query = query.where(
            Report.category_id.in_(select(Category.id).where(Category.code.in_(filters.category_codes)))
        )
    if filters.category_ids is not None:
        query = query.where(Report.category_id.in_(filters.category_ids))
    if filters.statuses:
        query = query.where(Report.status.in_(filters.statuses))
    if filters.neighbourhood_id is not None:
        query = query.where(Report.neighbourhood_id == filters.neighbourhood_id)
    if filters.department_id is not None:
        query = query.where(Report.department_id == filters.department_id)
    if filters.start is not None:
        query = query.where(Report.requested_at >= filters.start)
    if filters.end is not None:
        query = query.where(Report.requested_at <= filters.end)
    if filters.bbox is not None:
        min_lon, min_lat, max_lon, max_lat = filters.bbox
        query = query.where(Report.lon.between(min_lon, max_lon), Report.lat.between(min_lat, max_lat))
    if has_words(filters.text):
        # Every word of the description or the address, in any order, accents and plurals folded, read from
        # the full-text index.
        query = query.where(words_match("reports", Report.id, filters.text))
    return query


# A search by words in relevance order ranks at most this many matches, the newest.
RANKED_AT_MOST = 1000

SORTS: dict[str, tuple[ColumnElement[Any], ...]] = {
    "newest": (Report.requested_at.desc(), Report.id.desc()),
    "oldest": (Report.requested_at.asc(), Report.id.asc()),
    "updated": (Report.updated_at.desc(), Report.id.desc()),
    "supports": (Report.supports.desc(), Report.requested_at.desc()),
}


async def search_reports(
    session: AsyncSession, filters: ReportFilters, limit: int = 50, offset: int = 0, sort: str = "newest"
) -> list[Report]:
    if sort == "relevance" and has_words(filters.text):
        # The best matches among the RANKED_AT_MOST newest: ranking every match of a common word would read and
        # score each of them.
        newest = filtered(select(Report.id), filters).order_by(*SORTS["newest"]).limit(RANKED_AT_MOST).subquery()
        best = select(Report).where(Report.id.in_(select(newest.c.id)))
        best = best.order_by(words_rank("reports", Report.id, filters.text), Report.id.desc())
        return list((await session.execute(best.offset(offset).limit(limit))).scalars())
    query = filtered(select(Report), filters).order_by(*SORTS.get(sort, SORTS["newest"])).offset(offset).limit(limit)
    return list((await session.execute(query)).scalars())


# What an Open311 service request shows of a report, read as plain rows: a thousand ORM objects (and
# their JSON attributes, which Open311 does not show) cost more than the query itself.
REQUEST_COLUMNS = (
    Report.id,
    Report.status,
    Report.status_notes,
    Report.category_id,
    Report.description,
    Report.department_id,
    Report.requested_at,
    Report.updated_at,
    Report.expected_at,
    Report.address,
    Report.address_id,
    Report.zipcode,
    Report.lat,
    Report.lon,
    Report.media_url,
)


async def request_rows(session: AsyncSession, filters: ReportFilters, limit: int) -> Sequence[Any]:
    """Newest first: the columns of `REQUEST_COLUMNS` and `has_photo`."""
    has_photo = select(ReportPhoto.id).where(ReportPhoto.report_id == Report.id).exists().label("has_photo")
    query = filtered(select(*REQUEST_COLUMNS, has_photo), filters).order_by(*SORTS["newest"]).limit(limit)
    return (await session.execute(query)).all()


async def data_version(session: AsyncSession) -> tuple[Any, ...]:
    """Changes whenever a report is filed or updated, or the catalog changes: what a cached answer checks
    (two index look-ups and one row)."""
    query = select(
        select(func.max(Report.id)).scalar_subquery(),
        select(func.max(Report.updated_at)).scalar_subquery(),
        select(CatalogRevision.revision).where(CatalogRevision.id == 1).scalar_subquery(),
    )
    return tuple((await session.execute(query)).one())


async def count_reports(session: AsyncSession, filters: ReportFilters) -> int:
    query = filtered(select(func.count()).select_from(Report), filters)
    return int((await session.execute(query)).scalar_one())


def month_of(moment: datetime) -> date:
    """The first day of `moment`'s month (UTC): the time bucket of the map counts."""
    moment = moment.astimezone(UTC)
    return date(moment.year, moment.month, 1)


def insert_for(session: AsyncSession) -> Any:
    bind = session.bind
    return pg_insert if bind is not None and bind.dialect.name == "postgresql" else sqlite_insert


async def count_in_map(session: AsyncSession, report: Report, status: ReportStatus, delta: int) -> None:
    """Add `delta` to the map counts (of its month, and of all time) of the report's cell, neighbourhood,
    category and `status`. Upserts: concurrent filings wait for each other only on the same cell's rows."""
    key: dict[str, Any] = {
        "h3_r8": report.h3_r8,
        "neighbourhood_id": report.neighbourhood_id or 0,
        "category_id": report.category_id,
        "status": status,
    }
    insert_into = insert_for(session)
    upserts = [
        insert_into(table)
        .values(**table_key, h3_r6=report.h3_r6, count=delta)
        .on_conflict_do_update(index_elements=list(table_key), set_={"count": table.count + delta})
        for table, table_key in (
            (ReportMapTotal, key),
            (ReportMapCount, {**key, "month": month_of(report.requested_at)}),
        )
    ]
    if insert_into is pg_insert:  # one round trip: the first upsert runs as a data-modifying WITH
        await session.execute(upserts[1].add_cte(upserts[0].cte("total_upsert")))
    else:
        for upsert in upserts:
            await session.execute(upsert)


async def rebuild_map_counts(session: AsyncSession) -> int:
    """Recompute every map count from the reports (after a bulk load that bypassed `create_report`).
    Returns the number of monthly count rows."""
    bind = session.bind
    if bind is not None and bind.dialect.name == "postgresql":
        month: ColumnElement[Any] = cast(func.date_trunc("month", func.timezone("UTC", Report.requested_at)), Date)
    else:  # SQLite keeps naive UTC text, "YYYY-MM-DD HH:MM:SS..."
        month = func.substr(cast(Report.requested_at, String), 1, 7).concat("-01")
    key = (Report.h3_r8, func.coalesce(Report.neighbourhood_id, 0), Report.category_id, Report.status)
    columns = ["h3_r8", "neighbourhood_id", "category_id", "status", "h3_r6", "count"]
    await session.execute(delete(ReportMapCount))
    await session.execute(delete(ReportMapTotal))
    monthly = select(month, *key, func.min(Report.h3_r6), func.count()).group_by(month, *key)
    await session.execute(insert(ReportMapCount).from_select(["month", *columns], monthly))
    summed = (
        ReportMapCount.h3_r8,
        ReportMapCount.neighbourhood_id,
        ReportMapCount.category_id,
        ReportMapCount.status,
    )
    totals = select(*summed, func.min(ReportMapCount.h3_r6), func.sum(ReportMapCount.count)).group_by(*summed)
    await session.execute(insert(ReportMapTotal).from_select(columns, totals))
    return int((await session.execute(select(func.count()).select_from(ReportMapCount))).scalar_one())
