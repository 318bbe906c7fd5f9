"""Spatial SQL functions for SQLite, where PostGIS is not available: shapely does the geometry.

`register_sqlite_functions` runs on every new SQLite connection (`citoyen.engines` hands it to the engine),
so the `$filter` compiler can emit `citoyen_st_within(location, 'POLYGON(...)')` on SQLite as it emits
`ST_Within(...)` on PostgreSQL. Arguments are GeoJSON text (a geometry or a Feature, as stored) or WKT
(as written in a query); parsed geometries are cached, so a literal polygon is parsed and prepared once
for the whole table scan. A value that is not a geometry gives NULL, so the row is simply not selected.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import shapely
import shapely.geometry
import shapely.wkt

Geometry = Any  # shapely has no type stubs


@lru_cache(maxsize=4096)
def parse_geometry(text: str) -> Geometry | None:
    """A prepared shapely geometry from GeoJSON (geometry or Feature) or WKT text; None if it is neither."""
    try:
        if text.lstrip().startswith("{"):
            data = json.loads(text)
            if isinstance(data, dict) and data.get("type") == "Feature":
                data = data.get("geometry")
            geometry = shapely.geometry.shape(data)
        else:
            geometry = shapely.wkt.loads(text)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, shapely.errors.ShapelyError):
        return None
    shapely.prepare(geometry)
    return geometry


def _predicate(test: Callable[[Geometry, Geometry], Any]) -> Callable[[object, object], int | None]:
    def function(first: object, second: object) -> int | None:
        if not isinstance(first, str) or not isinstance(second, str):
            return None
        a, b = parse_geometry(first), parse_geometry(second)
        if a is None or b is None:
            return None
        return int(bool(test(a, b)))

    return function


def _relate(first: object, second: object, pattern: object) -> int | None:
    if not isinstance(first, str) or not isinstance(second, str) or not isinstance(pattern, str):
        return None
    a, b = parse_geometry(first), parse_geometry(second)
    if a is None or b is None:
        return None
    try:
        return int(bool(shapely.relate_pattern(a, b, pattern)))
    except shapely.errors.ShapelyError:
        return None


def _distance(first: object, second: object) -> float | None:
    if not isinstance(first, str) or not isinstance(second, str):
        return None
    a, b = parse_geometry(first), parse_geometry(second)
    return None if a is None or b is None else float(shapely.distance(a, b))


def _length(value: object) -> float | None:
    geometry = parse_geometry(value) if isinstance(value, str) else None
    return None if geometry is None else float(shapely.length(geometry))


SPATIAL_PREDICATES: dict[str, Callable[[Geometry, Geometry], Any]] = {
    "st_equals": shapely.equals,
    "st_disjoint": shapely.disjoint,
    "st_touches": shapely.touches,
    "st_within": shapely.within,
    "st_overlaps": shapely.overlaps,
    "st_crosses": shapely.crosses,
    "st_intersects": shapely.intersects,
    "st_contains": shapely.contains,
}


def register_sqlite_functions(dbapi_connection: Any) -> None:
    """Define `citoyen_st_*`, `citoyen_geo_distance` and `citoyen_geo_length` on a SQLite connection.

    Takes a `sqlite3.Connection` or SQLAlchemy's aiosqlite adapter (both have `create_function`).
    The functions are deterministic, so SQLite may use them in indexes and factor repeated calls.
    """
    for name, test in SPATIAL_PREDICATES.items():
        dbapi_connection.create_function(f"citoyen_{name}", 2, _predicate(test), deterministic=True)
    dbapi_connection.create_function("citoyen_st_relate", 3, _relate, deterministic=True)
    dbapi_connection.create_function("citoyen_geo_distance", 2, _distance, deterministic=True)
    dbapi_connection.create_function("citoyen_geo_length", 1, _length, deterministic=True)
