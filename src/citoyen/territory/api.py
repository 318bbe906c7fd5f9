"""Territory JSON API: the neighbourhoods as GeoJSON, and point -> neighbourhood."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from citoyen.db import DbSession
from citoyen.territory import service
from citoyen.territory.schemas import LocatedNeighbourhood, NeighbourhoodCollection

router = APIRouter(prefix="/api/territory", tags=["territory"])


@router.get("/neighbourhoods", response_model=NeighbourhoodCollection)
async def neighbourhoods(session: DbSession) -> dict[str, Any]:
    """All neighbourhoods of the city as a GeoJSON FeatureCollection (RFC 7946)."""
    features = [service.neighbourhood_feature(n) for n in await service.list_neighbourhoods(session)]
    return {"type": "FeatureCollection", "features": features}


@router.get(
    "/locate",
    response_model=LocatedNeighbourhood,
    responses={404: {"description": "The point is outside every neighbourhood."}},
)
async def locate(
    request: Request,
    session: DbSession,
    lon: Annotated[float, Query(ge=-180, le=180, description="WGS84 longitude")],
    lat: Annotated[float, Query(ge=-90, le=90, description="WGS84 latitude")],
) -> dict[str, Any] | Response:
    """The neighbourhood that contains the point, with the point's H3 cells for aggregation."""
    found = await service.locate(session, request.app.state.territory_index, lon, lat)
    if found is None:
        raise HTTPException(404, f"no neighbourhood of the city contains lon={lon}, lat={lat}")
    return {"id": found.id, "name": found.name, "code": found.code, "h3_cells": service.h3_cells(lon, lat)}
