"""Territory JSON API: the neighbourhoods as GeoJSON, point -> neighbourhood, and addresses (search, reverse)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from citoyen.db import DbSession
from citoyen.territory import service
from citoyen.territory.schemas import AddressCollection, LocatedNeighbourhood, NeighbourhoodCollection

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


def _collection(places: list[service.Place]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": [place.feature() for place in places]}


@router.get("/addresses", response_model=AddressCollection)
async def search_addresses(
    request: Request,
    session: DbSession,
    q: Annotated[str, Query(max_length=200, description="What was typed: '10 rue de Rivoli 75004', 'bd st michel'.")],
    limit: Annotated[int, Query(ge=1, le=20, description="At most this many addresses.")] = 5,
    autocomplete: Annotated[bool, Query(description="Read the last word as the start of a word.")] = False,
) -> dict[str, Any]:
    """Addresses matching a typed text, best first, as GeoJSON points with the BAN search API's properties
    (`label`, `type`: housenumber when that very number was found, street for a nearby number or the street's
    middle). Without a matching address, the neighbourhood or Paris postcode the text names (`type`
    neighbourhood or postcode, at its centre). Empty when nothing matches or the text has fewer than 3 letters
    or digits."""
    places = await request.app.state.gazetteer.lookup(session, q, limit=limit, autocomplete=autocomplete)
    return _collection(places)


@router.get("/addresses/reverse", response_model=AddressCollection)
async def reverse_address(
    request: Request,
    session: DbSession,
    lon: Annotated[float, Query(ge=-180, le=180, description="WGS84 longitude")],
    lat: Annotated[float, Query(ge=-90, le=90, description="WGS84 latitude")],
) -> dict[str, Any]:
    """The address nearest to the point within about 150 m (one feature), or none."""
    place = await request.app.state.gazetteer.reverse(session, lon, lat)
    return _collection([place] if place is not None else [])
