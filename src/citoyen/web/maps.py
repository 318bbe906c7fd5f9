"""What the map layers' routes share (reports' and participation's `/map`, their lists' `bbox` filter): the
view's box and the zoom as query parameters, checked at the edge (400 on a malformed box)."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import Depends, HTTPException, Query

from citoyen.territory import maplayer

BBox = tuple[float, float, float, float]


def parse_bbox(text: str) -> BBox:
    """`minlon,minlat,maxlon,maxlat` in WGS84 degrees; ValueError when it is not one."""
    parts = text.split(",")
    if len(parts) != 4:
        raise ValueError("bbox must be minlon,minlat,maxlon,maxlat")
    min_lon, min_lat, max_lon, max_lat = (float(part) for part in parts)
    if not all(math.isfinite(value) for value in (min_lon, min_lat, max_lon, max_lat)):
        raise ValueError("bbox must be four finite numbers")
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise ValueError("bbox must be minlon,minlat,maxlon,maxlat within [-180, 180] and [-90, 90]")
    return min_lon, min_lat, max_lon, max_lat


def bbox_param(
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat (WGS84).")] = None,
) -> BBox | None:
    """The view's box, or None when the request names none; 400 on a malformed one."""
    try:
        return parse_bbox(bbox) if bbox else None
    except ValueError as error:
        raise HTTPException(400, str(error)) from error


def zoom_param(
    zoom: Annotated[
        float,
        Query(
            ge=0,
            le=24,
            description=f"The map's zoom level (rounded down): cells below {maplayer.POINTS_FROM_ZOOM}, points from "
            f"{maplayer.POINTS_FROM_ZOOM} (cells of about 100 m at {maplayer.POINTS_FROM_ZOOM} and "
            f"{maplayer.ALL_POINTS_ZOOM - 1} when the view holds more than {maplayer.DENSE_POINTS} points).",
        ),
    ],
) -> int:
    return math.floor(zoom)


MapBox = Annotated[BBox | None, Depends(bbox_param)]
MapZoom = Annotated[int, Depends(zoom_param)]
