"""Projects JSON API: the city's projects as a GeoJSON FeatureCollection (RFC 7946), for the map and for any GIS;
`bbox` keeps those whose extent meets the view."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from citoyen.db import DbSession
from citoyen.fastjson import dumps
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
) -> Response:
    """The projects (at most 5,000) whose geometry's box meets `bbox`, with their title in the request's language,
    phase, theme, dates, whether it is a demo project, and the URL of their page."""
    filters = filters_of(phase, theme, str(neighbourhood or ""), start, end)
    features = await projects.map_features(session, bbox, filters, locale_of(request))
    body = dumps({"type": "FeatureCollection", "features": features})
    return Response(body, media_type=GEOJSON, headers={"Cache-Control": "public, max-age=60"})
