"""Map layers that stay fast with many rows: counts per H3 cell when zoomed out, points when zoomed in.

Domains with geolocated rows (reports, proposals) store the H3 cells of each row (`h3_cells`) and let the
database group by the cell column of the resolution `cell_resolution(zoom)` gives; these helpers turn
the counts into what the shared `cell-map.js` draws.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import h3

# From this zoom (streets readable) the map draws each row; below, counts per cell.
POINTS_FROM_ZOOM = 16
# A view never gets more points than this (the newest first); beyond, zoom in further.
MAX_POINTS = 5000
# A close-up view holding more rows than this, below ALL_POINTS_ZOOM, gets counts per ~100 m cell
# (DENSE_RESOLUTION) instead: thousands of markers in one neighbourhood hide each other and slow both ends.
DENSE_POINTS = 400
DENSE_RESOLUTION = 10
ALL_POINTS_ZOOM = 18


def cell_resolution(zoom: int) -> int:
    """The H3 resolution counted at a zoom level: ~36 km² cells for the whole city, ~0.7 km² closer."""
    return 6 if zoom < 12 else 8


def cells_layer(counts: Iterable[tuple[str | None, int]], resolution: int) -> dict[str, Any]:
    """The `cells` layer from (cell id, count) rows; rows without a cell (no place) are left out."""
    cells = []
    for cell, count in counts:
        if cell is None:
            continue
        lat, lon = h3.cell_to_latlng(cell)
        cells.append({"cell": cell, "count": int(count), "lon": lon, "lat": lat})
    return {"kind": "cells", "resolution": resolution, "cells": cells}


def crowded_cells_layer(small_cells: Sequence[tuple[str | None, int]]) -> dict[str, Any] | None:
    """A close-up view's counts per DENSE_RESOLUTION cell (grouped in the database) as the layer to draw
    when the view holds more than DENSE_POINTS rows; None when it holds few enough to draw each one."""
    if sum(count for _cell, count in small_cells) <= DENSE_POINTS:
        return None
    return cells_layer(small_cells, DENSE_RESOLUTION)


def points_layer(points: list[dict[str, Any]]) -> dict[str, Any]:
    """The `points` layer: each point has at least id, lon, lat and status."""
    return {"kind": "points", "points": points}


def centre_param(text: str) -> str:
    """A valid "lon,lat" for a map to open at, close in (its `?at=`), or "" (malformed values are ignored)."""
    try:
        lon, lat = (float(part) for part in text.split(","))
    except ValueError:
        return ""
    return f"{lon:.6f},{lat:.6f}" if -180 <= lon <= 180 and -90 <= lat <= 90 else ""
