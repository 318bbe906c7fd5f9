"""The map's pre-aggregated counts stay equal to counting the reports themselves, whatever happens to them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.people.models import Role
from citoyen.reports import service as reports
from citoyen.reports.models import CloseReason, Report, ReportMapCount, ReportMapTotal, ReportStatus
from tests.factories import create_person
from tests.reports.helpers import EAST, WEST, ReportsWorld, create_reports_world, file_report

CITY = (2.29, 48.84, 2.33, 48.87)


async def stored_counts(session: AsyncSession) -> tuple[dict[tuple[Any, ...], int], dict[tuple[Any, ...], int]]:
    """Both count tables as {key: count}, leaving out keys whose count went back to zero."""
    monthly = {
        (row.month, row.h3_r8, row.neighbourhood_id, row.category_id, row.status, row.h3_r6): row.count
        for row in (await session.execute(select(ReportMapCount).execution_options(populate_existing=True))).scalars()
        if row.count
    }
    totals = {
        (row.h3_r8, row.neighbourhood_id, row.category_id, row.status, row.h3_r6): row.count
        for row in (await session.execute(select(ReportMapTotal).execution_options(populate_existing=True))).scalars()
        if row.count
    }
    return monthly, totals


async def assert_counts_match_the_reports(session: AsyncSession) -> None:
    kept = await stored_counts(session)
    await reports.rebuild_map_counts(session)
    assert kept == await stored_counts(session)


async def map_total(session: AsyncSession, filters: reports.ReportFilters, zoom: int = 14) -> int:
    layer = await reports.map_layer(session, filters, zoom)
    assert layer["kind"] == "cells"
    return sum(cell["count"] for cell in layer["cells"])


async def file_at(session: AsyncSession, world: ReportsWorld, moment: datetime, where: tuple[float, float]) -> Report:
    new = reports.NewReport(category_code="streetlight", lon=where[0], lat=where[1])
    return await reports.create_report(session, world.index, new, now=moment)


async def test_counts_follow_filing_status_changes_and_merges(session: AsyncSession, settings: Settings) -> None:
    world = await create_reports_world(session)
    admin = await create_person(session, role=Role.ADMIN)
    west = await file_report(session, world, WEST)
    duplicate = await file_report(session, world, WEST)
    east = await file_report(session, world, EAST, "pothole")
    last_year = await file_at(session, world, datetime.now(UTC) - timedelta(days=400), EAST)
    await assert_counts_match_the_reports(session)
    assert await map_total(session, reports.ReportFilters()) == 4

    await reports.update_report(
        session, settings, admin, west, reports.StaffUpdate(status=ReportStatus.IN_PROGRESS, internal_note="x")
    )
    await reports.update_report(
        session,
        settings,
        admin,
        last_year,
        reports.StaffUpdate(status=ReportStatus.CLOSED, close_reason=CloseReason.FIXED),
    )
    # A change that is not about the status moves no count.
    await reports.update_report(session, settings, admin, east, reports.StaffUpdate(public_answer="Vu."))
    await reports.merge_into(session, settings, admin, duplicate, west)
    await assert_counts_match_the_reports(session)

    closed = reports.ReportFilters(statuses=[ReportStatus.CLOSED])
    assert await map_total(session, closed) == 2
    assert await map_total(session, reports.ReportFilters(statuses=[ReportStatus.OPEN])) == 1
    assert await map_total(session, reports.ReportFilters(category_codes=["pothole"])) == 1
    assert await map_total(session, reports.ReportFilters(neighbourhood_id=east.neighbourhood_id), zoom=11) == 2
    assert await map_total(session, reports.ReportFilters(statuses=[ReportStatus.ACKNOWLEDGED])) == 0


async def test_a_rebuild_counts_reports_loaded_without_the_service(session: AsyncSession) -> None:
    world = await create_reports_world(session)
    report = await file_report(session, world, WEST)
    # What a bulk load does: rows written directly, the counts left behind.
    session.add(
        Report(
            category_id=report.category_id,
            status=ReportStatus.CLOSED,
            lon=report.lon,
            lat=report.lat,
            neighbourhood_id=None,
            h3_r6=report.h3_r6,
            h3_r8=report.h3_r8,
            h3_r10=report.h3_r10,
            token="loaded-1",
            requested_at=datetime(2025, 12, 31, 23, 30, tzinfo=UTC),
        )
    )
    await session.flush()
    assert await map_total(session, reports.ReportFilters()) == 1
    rows = await reports.rebuild_map_counts(session)
    assert rows == 2
    monthly, totals = await stored_counts(session)
    assert {key[0] for key in monthly} == {reports.month_of(report.requested_at), datetime(2025, 12, 1).date()}
    assert sum(totals.values()) == 2 and any(key[1] == 0 for key in totals)  # no neighbourhood: under 0
    assert await map_total(session, reports.ReportFilters()) == 2
    # Rebuilding again changes nothing.
    await assert_counts_match_the_reports(session)


async def test_periods_add_whole_months_and_the_days_at_either_end(session: AsyncSession) -> None:
    world = await create_reports_world(session)
    moments = [
        datetime(2026, 1, 3, 12, tzinfo=UTC),
        datetime(2026, 1, 20, tzinfo=UTC),
        datetime(2026, 2, 1, tzinfo=UTC),  # the first instant of February
        datetime(2026, 2, 14, tzinfo=UTC),
        datetime(2026, 3, 31, 23, 59, tzinfo=UTC),
        datetime(2026, 4, 2, tzinfo=UTC),
        datetime(2026, 4, 25, tzinfo=UTC),
    ]
    for position, moment in enumerate(moments):
        await file_at(session, world, moment, WEST if position % 2 else EAST)
    periods = [
        (None, None),
        (datetime(2026, 1, 10, tzinfo=UTC), None),
        (None, datetime(2026, 2, 1, tzinfo=UTC)),
        (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 4, 2, tzinfo=UTC)),
        (datetime(2026, 1, 20, tzinfo=UTC), datetime(2026, 4, 10, tzinfo=UTC)),
        (datetime(2026, 2, 2, tzinfo=UTC), datetime(2026, 2, 20, tzinfo=UTC)),  # within one month
        (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)),  # exactly February
        (datetime(2026, 5, 1, tzinfo=UTC), None),
    ]
    for start, end in periods:
        filters = reports.ReportFilters(start=start, end=end)
        expected = sum(1 for m in moments if (start is None or m >= start) and (end is None or m <= end))
        assert await map_total(session, filters) == expected, (start, end)
        assert await reports.count_reports(session, filters) == expected


async def test_the_view_draws_the_cells_that_reach_into_it(session: AsyncSession) -> None:
    world = await create_reports_world(session)
    await file_report(session, world, WEST)
    await file_report(session, world, EAST)
    assert await map_total(session, reports.ReportFilters(bbox=CITY)) == 2
    # A view far to the north holds no cell.
    assert await map_total(session, reports.ReportFilters(bbox=(2.29, 49.5, 2.33, 49.6))) == 0
    # A view just west of the western report still shows its cell (cut by the view's edge).
    west_of_west = (WEST[0] - 0.002, WEST[1] - 0.001, WEST[0] - 0.0005, WEST[1] + 0.001)
    assert await map_total(session, reports.ReportFilters(bbox=west_of_west)) >= 1
