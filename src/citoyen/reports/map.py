"""What the reports map draws: counts per H3 cell (whole months from the count tables, partial months
from the reports), points when close, crowded close-ups as ~100 m cells."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any

import h3
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.reports.models import Category, Report, ReportMapCount, ReportMapTotal, ReportStatus
from citoyen.reports.repository import ReportFilters, filtered, month_of
from citoyen.territory import maplayer

# Average H3 edge lengths in degrees of latitude (about 3.7 km and 0.53 km): a cell is drawn when its
# centre lies within the view widened by this much, so that cells cut by the view's edge still show.
CELL_MARGIN_DEG = {6: 3.72 / 111.32, 8: 0.53 / 111.32}


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _month_start(month: date) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=UTC)


def _counted_filters(filters: ReportFilters) -> bool:
    """Whether the map counts can answer: they know cells, neighbourhoods, categories, statuses and months."""
    return filters.ids is None and filters.department_id is None and not filters.text.strip()


async def _cell_counts(session: AsyncSession, filters: ReportFilters, resolution: int) -> dict[str, int]:
    """Reports per H3 cell: whole months from the map counts, the days of a partial month at either end of
    the period from the reports themselves (the requested_at index keeps those small)."""
    if not _counted_filters(filters):
        column = Report.h3_r6 if resolution == 6 else Report.h3_r8
        unbounded = ReportFilters(**{**filters.__dict__, "bbox": None})
        rows = (await session.execute(filtered(select(column, func.count()), unbounded).group_by(column))).all()
        return {cell: int(count) for cell, count in rows}
    first_full = None
    if filters.start is not None:
        first_full = month_of(filters.start)
        if _month_start(first_full) != filters.start:
            first_full = _next_month(first_full)
    after_full = month_of(filters.end) if filters.end is not None else None
    edges: list[tuple[datetime | None, datetime | None, bool]] = []  # [start, end] or [start, end)
    if first_full is not None and after_full is not None and first_full >= after_full:
        edges.append((filters.start, filters.end, True))
        first_full = after_full = None
    else:
        if first_full is not None and filters.start is not None and _month_start(first_full) != filters.start:
            edges.append((filters.start, _month_start(first_full), False))
        if after_full is not None and filters.end is not None:
            edges.append((_month_start(after_full), filters.end, True))

    counts: dict[str, int] = {}
    undated = filters.start is None and filters.end is None
    if first_full is not None or after_full is not None or undated:
        table: type[ReportMapCount] | type[ReportMapTotal] = ReportMapTotal if undated else ReportMapCount
        column = table.h3_r6 if resolution == 6 else table.h3_r8
        query = select(column, func.sum(table.count)).group_by(column)
        if filters.category_codes:
            query = query.where(
                table.category_id.in_(select(Category.id).where(Category.code.in_(filters.category_codes)))
            )
        if filters.statuses:
            query = query.where(table.status.in_(filters.statuses))
        if filters.neighbourhood_id is not None:
            query = query.where(table.neighbourhood_id == filters.neighbourhood_id)
        if first_full is not None:
            query = query.where(ReportMapCount.month >= first_full)
        if after_full is not None:
            query = query.where(ReportMapCount.month < after_full)
        for cell, count in (await session.execute(query)).all():
            counts[cell] = int(count)
    for start, end, end_included in edges:
        column = Report.h3_r6 if resolution == 6 else Report.h3_r8
        edge = ReportFilters(
            category_codes=filters.category_codes,
            statuses=filters.statuses,
            neighbourhood_id=filters.neighbourhood_id,
            start=start,
            end=end if end_included else None,
        )
        query = filtered(select(column, func.count()), edge).group_by(column)
        if end is not None and not end_included:
            query = query.where(Report.requested_at < end)
        for cell, count in (await session.execute(query)).all():
            counts[cell] = counts.get(cell, 0) + int(count)
    return {cell: count for cell, count in counts.items() if count > 0}


async def map_layer(session: AsyncSession, filters: ReportFilters, zoom: int) -> dict[str, Any]:
    """What the map draws: counts per H3 cell at low zoom (coarser as the view widens), points when close,
    or counts per ~100 m cell when a close-up view is crowded (zoom 18 draws every point). Cells count all
    their reports and are drawn when they reach into the view (`bbox`)."""
    if zoom >= maplayer.POINTS_FROM_ZOOM:
        if zoom < maplayer.ALL_POINTS_ZOOM:
            # Counted first: a busy quartier's close-up is answered by this one grouped query.
            dense = filtered(select(Report.h3_r10, func.count()), filters).group_by(Report.h3_r10)
            crowded = maplayer.crowded_cells_layer([(row[0], row[1]) for row in await session.execute(dense)])
            if crowded is not None:
                return crowded
        query = filtered(select(Report.id, Report.lon, Report.lat, Report.status, Report.category_id), filters)
        rows = (await session.execute(query.order_by(Report.requested_at.desc()).limit(maplayer.MAX_POINTS))).all()
        return {
            "kind": "points",
            "points": [
                {"id": r.id, "lon": r.lon, "lat": r.lat, "status": r.status.value, "category_id": r.category_id}
                for r in rows
            ],
        }
    resolution = 6 if zoom < 12 else 8
    cells = []
    for cell, count in (await _cell_counts(session, filters, resolution)).items():
        lat, lon = h3.cell_to_latlng(cell)
        if filters.bbox is not None:
            min_lon, min_lat, max_lon, max_lat = filters.bbox
            margin = CELL_MARGIN_DEG[resolution]
            lon_margin = margin / max(math.cos(math.radians(lat)), 0.01)
            if not (
                min_lon - lon_margin <= lon <= max_lon + lon_margin and min_lat - margin <= lat <= max_lat + margin
            ):
                continue
        cells.append({"cell": cell, "count": count, "lon": lon, "lat": lat})
    return {"kind": "cells", "resolution": resolution, "cells": cells}


async def open_by_category(session: AsyncSession, neighbourhood_id: int) -> list[tuple[Category, int]]:
    """A neighbourhood's reports not yet closed, counted per category (most first), from the map's totals."""
    total = func.sum(ReportMapTotal.count)
    query = (
        select(Category, total)
        .join(ReportMapTotal, ReportMapTotal.category_id == Category.id)
        .where(ReportMapTotal.neighbourhood_id == neighbourhood_id, ReportMapTotal.status != ReportStatus.CLOSED)
        .group_by(Category.id)
        .having(total > 0)
        .order_by(total.desc(), Category.name)
    )
    return [(category, int(count)) for category, count in (await session.execute(query)).all()]
