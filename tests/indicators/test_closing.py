"""The median time to close a report, per category and in all, in a quartier beside the city, over the last 90
complete days, read through the reports service (duplicates left out)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.indicators import views
from citoyen.reports.models import CloseReason, ReportStatus
from citoyen.territory import service as territory
from tests.reports.helpers import EAST, WEST, create_reports_world, file_report

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


async def test_median_time_to_close_per_category_beside_the_city(session: AsyncSession) -> None:
    world = await create_reports_world(session)
    ids = {n.name: n.id for n in await territory.list_neighbourhoods(session)}

    async def closed(where: tuple[float, float], category: str, days: float, reason: CloseReason) -> None:
        report = await file_report(session, world, where, category)
        report.requested_at = NOW - timedelta(days=20)
        report.status = ReportStatus.CLOSED
        report.close_reason = reason
        report.closed_at = report.requested_at + timedelta(days=days)

    for days in (1, 2, 9):
        await closed(WEST, "streetlight", days, CloseReason.FIXED)
    await closed(WEST, "pothole", 4, CloseReason.NOT_FOUND)
    await closed(WEST, "pothole", 0.5, CloseReason.DUPLICATE)  # not handling: left out
    await closed(EAST, "streetlight", 6, CloseReason.FIXED)
    await file_report(session, world, WEST, "streetlight")  # still open
    await session.flush()

    rows = await views.closing_times(session, ids["Ouest"], NOW)
    # All categories first, then by the number closed.
    assert [(row.name_en, row.closed) for row in rows] == [(None, 4), ("Street light out", 3), ("Pothole", 1)]
    everything, lights, potholes = rows
    assert everything.median_hours == pytest.approx(24 * 3)  # 1, 2, 4, 9 days
    assert everything.city_closed == 5 and everything.city_median_hours == pytest.approx(24 * 4)
    assert lights.median_hours == pytest.approx(48) and lights.city_median_hours == pytest.approx(24 * 4)
    assert potholes.median_hours == pytest.approx(96)
    # Closed more than 90 days before: out of the period.
    assert await views.closing_times(session, ids["Ouest"], NOW + timedelta(days=120)) == ()
