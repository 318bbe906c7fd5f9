"""Point -> neighbourhood lookup on the 80 Paris quartiers: the STRtree index against a plain loop over
prepared polygons (the baseline), on the same random points. Run: `uv run python bench/territory_locate.py`."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import shapely
from shapely.geometry import Point

from citoyen.territory.service import TerritoryIndex, h3_cells, parse_neighbourhoods

QUARTIERS = Path(__file__).resolve().parents[1] / "src" / "citoyen" / "demo" / "data" / "paris-quartiers.geojson"
POINTS = 100_000


def main() -> None:
    items = parse_neighbourhoods(json.loads(QUARTIERS.read_text()), "l_qu", "c_quinsee")
    geoms = [(index, item.geometry) for index, item in enumerate(items)]
    index = TerritoryIndex("bench", geoms)
    for _, geom in geoms:
        shapely.prepare(geom)
    rng = random.Random(1)
    minx = min(g.bounds[0] for _, g in geoms)
    maxx = max(g.bounds[2] for _, g in geoms)
    miny = min(g.bounds[1] for _, g in geoms)
    maxy = max(g.bounds[3] for _, g in geoms)
    points = [(rng.uniform(minx, maxx), rng.uniform(miny, maxy)) for _ in range(POINTS)]

    def loop(lon: float, lat: float) -> int | None:
        point = Point(lon, lat)
        return next((i for i, g in geoms if g.intersects(point)), None)

    rows = []
    results = {}
    for name, fn in (("plain loop (baseline)", loop), ("STRtree index", index.locate), ("H3 cells (3 res.)", h3_cells)):
        start = time.perf_counter()
        results[name] = [fn(lon, lat) for lon, lat in points]
        elapsed = time.perf_counter() - start
        rows.append((name, elapsed))
    start = time.perf_counter()
    batch = index.locate_many([p[0] for p in points], [p[1] for p in points])
    rows.append(("STRtree, one batch", time.perf_counter() - start))
    assert results["plain loop (baseline)"] == results["STRtree index"], "the index disagrees with the baseline"
    assert batch == results["STRtree index"], "the batch lookup disagrees with the single lookup"
    baseline = rows[0][1]
    print(f"{POINTS:,} random points over Paris' bounding box, 80 quartiers")
    print(f"{'method':<24}{'total s':>10}{'µs/point':>12}{'points/s':>14}{'vs baseline':>13}")
    for name, elapsed in rows:
        per_point = elapsed / POINTS * 1e6
        print(f"{name:<24}{elapsed:>10.3f}{per_point:>12.1f}{POINTS / elapsed:>14,.0f}{baseline / elapsed:>12.1f}x")


if __name__ == "__main__":
    main()
