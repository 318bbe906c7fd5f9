"""Places on the carpool board as H3 cells, never as points.

Resolution 9 (hexagons about 0.1 km², 174 m edge, about 350 m across): a stored cell tells where a trip starts
to within about 175 m of its centre, the "~300 m precision" the board promises, where resolution 10 (66 m edge)
would nearly point at a building and resolution 8 (460 m edge, 0.7 km²) would be too coarse to decide an 800 m
walk. Walking distance is measured between cell centres; the cells within it form a fixed disk around a cell
(`grid_disk` of radius 3 cut at 800 m: the 19 cells of radius 2, centres up to about 690 m away, as ring 3's
centres are about 900 m away), so that matching is one indexed `IN` on the start cell."""

from __future__ import annotations

import math
from functools import lru_cache

import h3

CELL_RESOLUTION = 9
WALKING_DISTANCE_M = 800.0
# Centres of neighbouring resolution-9 cells are about 300 m apart: a radius of 3 holds every centre within 800 m.
DISK_RADIUS = 3
EARTH_RADIUS_M = 6_371_008.8


def cell_of(lon: float, lat: float) -> str:
    """The resolution-9 cell of a WGS84 point (the point itself is not kept)."""
    return str(h3.latlng_to_cell(lat, lon, CELL_RESOLUTION))


def centre(cell: str) -> tuple[float, float]:
    """The cell's centre as (lon, lat)."""
    lat, lon = h3.cell_to_latlng(cell)
    return lon, lat


def metres_between(a: str, b: str) -> float:
    """Great-circle distance between two cells' centres."""
    if a == b:
        return 0.0
    (lat1, lon1), (lat2, lon2) = h3.cell_to_latlng(a), h3.cell_to_latlng(b)
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


@lru_cache(maxsize=4096)
def walking_disk(cell: str) -> dict[str, float]:
    """The cells whose centre is within walking distance of this cell's centre, with that distance (metres).
    Pure function of the cell, so cached for the process (19 cells each)."""
    disk = {}
    for other in h3.grid_disk(cell, DISK_RADIUS):
        distance = metres_between(cell, str(other))
        if distance <= WALKING_DISTANCE_M:
            disk[str(other)] = distance
    return disk


def is_cell(text: str) -> bool:
    """Whether `text` names a valid cell of the board's resolution."""
    try:
        return bool(h3.is_valid_cell(text)) and h3.get_resolution(text) == CELL_RESOLUTION
    except (TypeError, ValueError):
        return False


def boundary(cell: str) -> list[list[float]]:
    """The cell's hexagon as a closed GeoJSON ring of [lon, lat] (what the map picker draws)."""
    ring = [[lon, lat] for lat, lon in h3.cell_to_boundary(cell)]
    return [*ring, ring[0]]
