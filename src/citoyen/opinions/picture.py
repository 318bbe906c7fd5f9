"""The map's picture, drawn once per recomputation (in the worker, beside the computation) and stored ready:
an even sample of at most MAX_POINTS participants, scaled to the SVG's square, one path per group (each dot a
round-capped zero-length stroke), so that the page writes a few attributes instead of thousands of elements."""

from __future__ import annotations

from typing import Any

# The picture draws at most this many participants (an even sample); the counts and tables use them all.
MAX_POINTS = 2000
SVG_SIZE = 400
SVG_MARGIN = 16


def scale_of(points: list[list[Any]]) -> list[float]:
    """[min x, min y, factor] placing every point inside the square (margins kept)."""
    xs = [float(point[1]) for point in points] or [0.0]
    ys = [float(point[2]) for point in points] or [0.0]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-9)
    return [min(xs), min(ys), (SVG_SIZE - 2 * SVG_MARGIN) / span]


def place(scale: list[float], x: float, y: float) -> tuple[float, float]:
    """A point's position in the picture (y upwards)."""
    min_x, min_y, factor = scale
    return (
        round(SVG_MARGIN + (float(x) - min_x) * factor, 1),
        round(SVG_SIZE - SVG_MARGIN - (float(y) - min_y) * factor, 1),
    )


def draw(points: list[list[Any]]) -> dict[str, Any]:
    """The stored picture of `points` ([pid, x, y, group or -1]): its scale, one path per group (no group: -1,
    drawn first), whether it is a sample, and how many participants are and are not in a group."""
    scale = scale_of(points)
    step = max(1, len(points) // MAX_POINTS)
    paths: dict[int, list[str]] = {}
    for point in points[::step]:
        x, y = place(scale, point[1], point[2])
        paths.setdefault(int(point[3]), []).append(f"M{x:g} {y:g}h0")
    clustered = sum(1 for point in points if int(point[3]) >= 0)
    return {
        "scale": scale,
        "layers": [{"group": group, "d": "".join(paths[group])} for group in sorted(paths)],
        "sampled": step > 1,
        "clustered": clustered,
        "unclustered": len(points) - clustered,
    }
