"""What the reports domain publishes as open data: its public rows, in batches read by id
(`citoyen.db.keyset_batches`: constant memory however many reports), and the counts of reporters per cell that
the open-data privacy layer releases.

Published rows hold only what the public reports map and Open311 show about the problem and its place, less the
free-text description (a reporter may write who they are in it): never who reported, followed or supported.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import String, case, cast, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import keyset_batches
from citoyen.reports.models import Category, CloseReason, Report, ReportContact

PUBLICATION_BATCH = 5000


async def public_reports(session: AsyncSession, batch: int = PUBLICATION_BATCH) -> AsyncIterator[list[dict[str, Any]]]:
    """Every report as the public sees it, in batches of `batch` rows ordered by id."""
    columns = (
        Report.id,
        Category.code,
        Category.name,
        Category.name_en,
        Report.status,
        Report.close_reason,
        Report.neighbourhood_id,
        Report.lon,
        Report.lat,
        Report.address,
        Report.requested_at,
        Report.updated_at,
        Report.closed_at,
        Report.status_notes,
        Report.supports,
        Report.duplicate_of_id,
    )
    query = select(*columns).join(Category, Category.id == Report.category_id)
    async for rows in keyset_batches(session, query, Report.id, batch):
        yield [
            {
                "id": row[0],
                "category": row[1],
                "category_name": row[2],
                "category_name_en": row[3] or row[2],
                "status": row[4].value,
                "close_reason": row[5].value if row[5] is not None else None,
                "neighbourhood_id": row[6],
                "lon": row[7],
                "lat": row[8],
                "address": row[9],
                "requested_at": row[10],
                "updated_at": row[11],
                "closed_at": row[12],
                "public_answer": row[13],
                "supports": row[14],
                "duplicate_of": row[15],
            }
            for row in rows
        ]


async def closing_times(
    session: AsyncSession, start: datetime, end: datetime, neighbourhood_id: int | None = None
) -> list[tuple[int | None, str, str, str, float]]:
    """Reports closed in [start, end) (of a neighbourhood, or all), duplicates left out (closing one is not
    handling a problem): (neighbourhood id, category code, name, English name, hours from filing to closing).
    What the indicators' median time to close reads; public facts about public reports."""
    query = (
        select(
            Report.neighbourhood_id,
            Category.code,
            Category.name,
            Category.name_en,
            Report.requested_at,
            Report.closed_at,
        )
        .join(Category, Category.id == Report.category_id)
        .where(
            Report.closed_at.is_not(None),
            Report.closed_at >= start,
            Report.closed_at < end,
            or_(Report.close_reason.is_(None), Report.close_reason != CloseReason.DUPLICATE),
        )
    )
    if neighbourhood_id is not None:
        query = query.where(Report.neighbourhood_id == neighbourhood_id)
    return [
        (row[0], row[1], row[2], row[3] or row[2], max(0.0, (row[5] - row[4]).total_seconds() / 3600))
        for row in (await session.execute(query)).all()
        if row[5] is not None
    ]


def week_of(moment: datetime) -> date:
    """The Monday (UTC) that starts `moment`'s ISO week: the time bucket of the weekly counts."""
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


async def reporter_counts(
    session: AsyncSession, start: datetime, end: datetime, max_cells_per_person: int, batch: int = PUBLICATION_BATCH
) -> dict[tuple[int, int, date], int]:
    """People who filed reports per (neighbourhood id, category id, week) for reports filed in [start, end).

    Bounded for the privacy layer: a person counts once per cell however many reports they filed there, and
    in at most `max_cells_per_person` cells (those of their earliest reports). A person is their account, else
    the e-mail address they left (lower-cased). Reports that name nobody (left without contact, or whose
    reporter erased their account) are not counted: nothing bounds how many of them one person files, and
    leaving them out makes an erasure remove a person from the counts exactly as differential privacy assumes.
    Reports outside any neighbourhood are not counted. Reporters are read in order: memory holds one's cells."""
    reporter = case(
        (ReportContact.person_id.is_not(None), literal("p") + cast(ReportContact.person_id, String)),
        else_=literal("e") + func.lower(ReportContact.email),
    ).label("reporter")
    query = (
        select(reporter, Report.neighbourhood_id, Report.category_id, Report.requested_at)
        .join(ReportContact, ReportContact.report_id == Report.id)
        .where(
            Report.requested_at >= start,
            Report.requested_at < end,
            Report.neighbourhood_id.is_not(None),
            or_(ReportContact.person_id.is_not(None), ReportContact.email != ""),
        )
        .order_by(reporter, Report.requested_at, Report.id)
        .execution_options(yield_per=batch)
    )
    counts: dict[tuple[int, int, date], int] = {}
    current: str | None = None
    cells: set[tuple[int, int, date]] = set()
    result = await session.stream(query)
    async for key, neighbourhood_id, category_id, requested_at in result:
        if key != current:
            current, cells = key, set()
        cell = (neighbourhood_id, category_id, week_of(requested_at))
        if cell in cells or len(cells) >= max_cells_per_person:
            continue
        cells.add(cell)
        counts[cell] = counts.get(cell, 0) + 1
    return counts


async def category_codes(session: AsyncSession) -> dict[int, str]:
    """Every category's code by id (inactive ones too: their reports are still published)."""
    return {row[0]: row[1] for row in (await session.execute(select(Category.id, Category.code))).all()}
