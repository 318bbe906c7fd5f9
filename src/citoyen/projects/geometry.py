"""A project's place: GeoJSON (RFC 7946) or WKT read into a shapely geometry and checked (type, finite
coordinates in WGS84, valid: no self-intersection); the box and a point on it that queries store."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import shapely
from shapely import wkt
from shapely.errors import GEOSException, ShapelyError
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from citoyen.i18n import N_
from citoyen.projects.errors import ProjectError

ALLOWED_TYPES = ("Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon")
MAX_GEOMETRY_CHARS = 1_000_000
MAX_VERTICES = 20_000
# The map's low-zoom geometry (the city or an arrondissement on screen, zoom 13 and below): simplified within
# 0.0002 degrees (about 15 m, under a pixel at zoom 13) with shapely's topology-preserving simplification (a
# polygon stays valid, a line keeps its ends), coordinates at 5 decimals (about 1 m). Computed on write.
SIMPLE_TOLERANCE = 0.0002
SIMPLE_DECIMALS = 5

NOT_A_GEOMETRY = N_("This place is not a GeoJSON or WKT geometry.")
WRONG_TYPE = N_("A project's place is a point, a line or a polygon (or several of one kind).")
BAD_COORDINATES = N_("A coordinate is not a longitude and latitude in degrees (WGS84, longitude first).")
INVALID_GEOMETRY = N_("This geometry is not valid (%(reason)s): a polygon may not cross itself.")
SELF_INTERSECTING = N_("This line crosses itself: draw it as several lines.")
TOO_LARGE = N_("This geometry is too large (at most 20,000 points).")
EMPTY = N_("This geometry is empty.")


@dataclass(frozen=True)
class Place:
    """A checked geometry with what the row stores beside it."""

    geometry: BaseGeometry
    geojson: dict[str, Any]
    bounds: tuple[float, float, float, float]
    lon: float
    lat: float
    # What the map draws at low zoom (`simplified`).
    simple: dict[str, Any]


def read_geometry(value: str | dict[str, Any]) -> BaseGeometry:
    """A GeoJSON geometry (or Feature) as text or a dict, or WKT text; ProjectError (field "geometry") if not one."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise ProjectError(EMPTY, field="geometry")
        if len(text) > MAX_GEOMETRY_CHARS:
            raise ProjectError(TOO_LARGE, field="geometry")
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except ValueError as error:
                raise ProjectError(NOT_A_GEOMETRY, field="geometry") from error
        else:
            try:
                return wkt.loads(text)
            except (ShapelyError, GEOSException, ValueError) as error:
                raise ProjectError(NOT_A_GEOMETRY, field="geometry") from error
    if not isinstance(value, dict):
        raise ProjectError(NOT_A_GEOMETRY, field="geometry")
    if value.get("type") == "Feature":
        value = value.get("geometry") or {}
        if not isinstance(value, dict):
            raise ProjectError(NOT_A_GEOMETRY, field="geometry")
    if value.get("type") not in ALLOWED_TYPES:
        raise ProjectError(WRONG_TYPE, field="geometry")
    try:
        return shape(value)
    except (ShapelyError, GEOSException, ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
        raise ProjectError(NOT_A_GEOMETRY, field="geometry") from error


def check_geometry(geom: BaseGeometry) -> Place:
    """The geometry checked for a project (not yet against the city: the service does that)."""
    if geom.geom_type not in ALLOWED_TYPES:
        raise ProjectError(WRONG_TYPE, field="geometry")
    if geom.is_empty:
        raise ProjectError(EMPTY, field="geometry")
    if shapely.get_num_coordinates(geom) > MAX_VERTICES:
        raise ProjectError(TOO_LARGE, field="geometry")
    if shapely.has_z(geom):
        geom = shapely.force_2d(geom)
    coords = shapely.get_coordinates(geom)
    for lon, lat in coords:
        if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
            raise ProjectError(BAD_COORDINATES, field="geometry")
    if geom.geom_type in ("LineString", "MultiLineString") and not geom.is_simple:
        raise ProjectError(SELF_INTERSECTING, field="geometry")
    if not geom.is_valid:
        raise ProjectError(INVALID_GEOMETRY, field="geometry", reason=explain_validity(geom))
    point = geom.representative_point()
    min_lon, min_lat, max_lon, max_lat = geom.bounds
    bounds = (min_lon, min_lat, max_lon, max_lat)
    return Place(geom, _rounded(mapping(geom)), bounds, point.x, point.y, simplified(geom))


def simplified(geom: BaseGeometry) -> dict[str, Any]:
    """The geometry the map draws at low zoom, as GeoJSON: fewer points, fewer decimals, the same shape on
    screen."""
    simple: dict[str, Any] = _rounded(mapping(geom.simplify(SIMPLE_TOLERANCE, preserve_topology=True)), SIMPLE_DECIMALS)
    return simple


def _rounded(geojson: Any, decimals: int = 7) -> Any:
    """Coordinates at 7 decimals (about 1 cm): what GeoJSON needs, and lists rather than tuples, for JSON."""
    if isinstance(geojson, dict):
        return {key: _rounded(value, decimals) for key, value in geojson.items()}
    if isinstance(geojson, list | tuple):
        return [_rounded(value, decimals) for value in geojson]
    if isinstance(geojson, float):
        return round(geojson, decimals)
    return geojson


def place_of(value: str | dict[str, Any]) -> Place:
    return check_geometry(read_geometry(value))
