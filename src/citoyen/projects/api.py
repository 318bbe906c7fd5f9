"""Projects JSON API: the city's projects as a GeoJSON FeatureCollection (RFC 7946), for the map and for any GIS;
`bbox` keeps those whose extent meets the view, `zoom` (the map's) answers for the view at that zoom (at the city's
zoom, every project). Answers are kept as bytes until a project changes (`mapcache`), with an ETag (`If-None-Match`
gets a 304); a city-wide answer out of date is served while it is rebuilt, marked `X-Projects-Map-Current: false`
with the version it is of (`X-Projects-Map-Version`)."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from citoyen.db import DbSession
from citoyen.projects import service as projects
from citoyen.projects.pages import filters_of
from citoyen.web.maps import MapBox
from citoyen.web.params import QueryId
from citoyen.web.templating import locale_of

router = APIRouter(prefix="/api/projects", tags=["projects"])

GEOJSON = "application/geo+json"


@router.get(
    "",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}, "description": "A GeoJSON FeatureCollection of projects."}},
)
async def project_collection(
    request: Request,
    session: DbSession,
    bbox: MapBox,
    phase: Annotated[str, Query(max_length=20, description="study, consultation, works or delivered")] = "",
    theme: Annotated[str, Query(max_length=20, description="cycling, greenery, school…")] = "",
    neighbourhood: QueryId = None,
    start: Annotated[str, Query(max_length=10, description="Projects still running on or after YYYY-MM-DD")] = "",
    end: Annotated[str, Query(max_length=10, description="Projects begun on or before YYYY-MM-DD")] = "",
    zoom: Annotated[
        float | None,
        Query(
            ge=0,
            le=24,
            description="The map's zoom (rounded down): the box is widened to a quarter of a tile at that zoom, "
            f"and below {projects.SIMPLE_BELOW_ZOOM} the geometries are simplified for the screen (within about "
            f"15 m); at {projects.CITY_ZOOM} and below, every project of the city is sent, whatever the box. "
            "Without it, every geometry is whole.",
        ),
    ] = None,
) -> Response:
    """The projects (at most 5,000) whose geometry's box meets `bbox`, with their title in the request's language,
    phase, theme, dates, whether it is a demo project, and the URL of their page."""
    filters = filters_of(phase, theme, str(neighbourhood or ""), start, end)
    answer = await projects.map_answer(
        session,
        request.app.state.project_map,
        bbox,
        None if zoom is None else math.floor(zoom),
        filters,
        locale_of(request),
    )
    headers = {
        # An answer out of date (served while it is rebuilt in the background) is not kept by the browser.
        "Cache-Control": "public, max-age=60" if answer.current else "no-cache",
        "ETag": answer.etag,
        "Vary": "Accept-Language, Cookie",
        "X-Projects-Map-Version": f"{answer.version:x}",
        "X-Projects-Map-Current": "true" if answer.current else "false",
    }
    if answer.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(answer.body, media_type=GEOJSON, headers=headers)
