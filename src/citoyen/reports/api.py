"""Reports JSON API for the platform's own web UI: categories and their questions, the map layer,
duplicates nearby, public reports. Reports are public; who filed them never is."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from citoyen.db import DbSession
from citoyen.fastjson import FastJSONResponse
from citoyen.reports import service as reports
from citoyen.reports.models import ReportStatus
from citoyen.reports.schemas import (
    CategoryOut,
    DuplicateOut,
    ErrorOut,
    MapLayer,
    ReportOut,
    ReportPage,
    StatusValue,
)
from citoyen.web.maps import MapBox, MapZoom
from citoyen.web.params import Offset, PathId, QueryId, QueryText, QueryTexts
from citoyen.web.templating import locale_of

router = APIRouter(prefix="/api/reports", tags=["reports"])
BAD_REQUEST: dict[int | str, dict[str, Any]] = {400: {"model": ErrorOut, "description": "Bad parameters."}}


def parse_moment(text: str) -> datetime:
    """An ISO 8601 date or date and time; without an offset it is UTC. ValueError otherwise."""
    text = text.strip()
    if re.search(r"T[\d:.]+ \d\d:?\d\d$", text):
        text = text[:-6] + "+" + text[-5:] if text[-3] == ":" else text[:-5] + "+" + text[-4:]  # an unencoded "+"
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def report_filters(
    category: Annotated[QueryTexts, Query(description="Category codes (repeatable).")] = None,
    status: Annotated[list[StatusValue] | None, Query(description="Statuses (repeatable).")] = None,
    neighbourhood: Annotated[QueryId, Query(description="A neighbourhood id.")] = None,
    start: Annotated[str | None, Query(description="Filed at or after (ISO 8601; UTC without offset).")] = None,
    end: Annotated[str | None, Query(description="Filed at or before (ISO 8601; UTC without offset).")] = None,
    bbox: MapBox = None,
) -> reports.ReportFilters:
    """The filters shared by the list and the map; 400 on a malformed value."""
    moments: dict[str, datetime | None] = {}
    for name, text in (("start", start), ("end", end)):
        try:
            moments[name] = parse_moment(text) if text else None
        except ValueError as error:
            raise HTTPException(400, f"{name} must be an ISO 8601 date or date and time") from error
    if moments["start"] and moments["end"] and moments["start"] > moments["end"]:
        raise HTTPException(400, "start must be before end")
    return reports.ReportFilters(
        category_codes=category or None,
        statuses=[ReportStatus(value) for value in status] if status else None,
        neighbourhood_id=neighbourhood,
        start=moments["start"],
        end=moments["end"],
        bbox=bbox,
    )


Filters = Annotated[reports.ReportFilters, Depends(report_filters)]


@router.get("/categories", response_model=list[CategoryOut])
async def categories(request: Request, session: DbSession) -> list[CategoryOut]:
    """The active categories with their questions, labelled in the request's language."""
    locale = locale_of(request)
    found = await reports.list_categories(session)
    questions = await reports.attributes_of(session, [category.id for category in found])
    return [CategoryOut.of(category, questions[category.id], locale) for category in found]


@router.get("/map", response_model=MapLayer, responses=BAD_REQUEST)
async def map_layer(
    session: DbSession,
    filters: Filters,
    zoom: MapZoom,
) -> FastJSONResponse:
    """What the map draws for a view: report counts per H3 cell at low zoom, points when close."""
    # Returned as is (the shape is documented by MapLayer): the layer can hold thousands of points.
    return FastJSONResponse(await reports.map_layer(session, filters, zoom))


@router.get("/duplicates", response_model=list[DuplicateOut], responses=BAD_REQUEST)
async def duplicates(
    session: DbSession,
    category: Annotated[QueryText, Query(min_length=1, description="The category's code.")],
    lon: Annotated[float, Query(ge=-180, le=180, description="WGS84 longitude")],
    lat: Annotated[float, Query(ge=-90, le=90, description="WGS84 latitude")],
) -> list[DuplicateOut]:
    """Unclosed reports of the same category within 50 m filed in the last 30 days, nearest first:
    a citizen about to report may support one of them instead."""
    try:
        found = await reports.nearby_duplicates(session, category, lon, lat)
    except reports.ReportError as error:
        raise HTTPException(400, str(error)) from error
    return [
        DuplicateOut(
            id=report.id,
            category=category,
            status=report.status.value,
            description=report.description,
            requested_at=report.requested_at,
            distance_m=round(distance, 1),
            supports=report.supports,
            url=f"/reports/{report.id}",
        )
        for report, distance in found
    ]


@router.get("", response_model=ReportPage, responses=BAD_REQUEST)
async def list_reports(
    request: Request,
    session: DbSession,
    filters: Filters,
    q: Annotated[QueryText, Query(max_length=200, description="Words of the description or the address.")] = "",
    sort: Annotated[
        Literal["newest", "oldest", "updated", "supports", "relevance"],
        Query(description="relevance: best match of the words `q` first (without words: the newest)."),
    ] = "newest",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> ReportPage:
    """Public reports, filtered and sorted, a page at a time."""
    filters.text = q
    found = await reports.search_reports(session, filters, limit, offset, sort)
    total = await reports.count_reports(session, filters)
    categories = await reports.categories_by_id(session)
    photos = await reports.photo_counts(session, [report.id for report in found])
    locale = locale_of(request)
    items = [
        ReportOut.of(report, categories.get(report.category_id), locale, photos.get(report.id, 0)) for report in found
    ]
    return ReportPage(total=total, limit=limit, offset=offset, reports=items)


@router.get("/{report_id}", response_model=ReportOut, responses={404: {"model": ErrorOut}})
async def get_report(request: Request, session: DbSession, report_id: PathId) -> ReportOut:
    """One report's public fields (never who filed it)."""
    report = await reports.get_report(session, report_id)  # an unknown one: the app's refusal handler's 404
    categories = await reports.categories_by_id(session)
    photos = await reports.photo_counts(session, [report.id])
    return ReportOut.of(report, categories.get(report.category_id), locale_of(request), photos.get(report.id, 0))
