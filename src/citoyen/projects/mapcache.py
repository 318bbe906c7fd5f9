"""The projects' map answers (`GET /api/projects`) kept as the bytes sent, per version of the projects: reading
5,000 projects and encoding them took about a second, and every visitor of `/projects` opens the same city-wide
view. A write of a project draws a new version (`project_map_version`, in the writing transaction); each request
reads that one row first, so an answer kept by any worker is served only while it is still true.

When the map gives its zoom, its box is widened to a grid of a quarter of a tile at that zoom (64 pixels: views a
few pixels apart share one answer, for about a fifth more projects in a view) and, below zoom 14, the simplified
geometries are sent (`geometry.simplified`); without a zoom (a GIS client) the answer is exactly the projects
meeting the box, drawn whole."""

from __future__ import annotations

import hashlib
import math
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.fastjson import dumps
from citoyen.projects.models import ProjectMapVersion
from citoyen.projects.repository import ProjectFilters, map_features

# Below this zoom the map draws the simplified geometries (13: an arrondissement fills the screen).
SIMPLE_BELOW_ZOOM = 14
MAX_ENTRIES = 256
MAX_BYTES = 64 * 1024 * 1024

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class MapAnswer:
    body: bytes
    # A strong validator of the body (the same bytes give the same tag in every worker).
    etag: str


class MapCache:
    """This process's latest map answers, least recently used dropped first, within a count and a size."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._entries: OrderedDict[tuple[Any, ...], MapAnswer] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: tuple[Any, ...]) -> MapAnswer | None:
        answer = self._entries.get(key)
        if answer is not None:
            self._entries.move_to_end(key)
        return answer

    def put(self, key: tuple[Any, ...], answer: MapAnswer) -> None:
        if len(answer.body) > self.max_bytes:
            return
        previous = self._entries.pop(key, None)
        if previous is not None:
            self._bytes -= len(previous.body)
        self._entries[key] = answer
        self._bytes += len(answer.body)
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= len(dropped.body)


async def map_version(session: AsyncSession) -> int:
    found = (await session.execute(select(ProjectMapVersion.version).where(ProjectMapVersion.id == 1))).scalar()
    return int(found or 0)


async def bump_map_version(session: AsyncSession) -> None:
    """A project's place or what the map shows of it changed: every kept answer is out of date."""
    version = secrets.randbits(62)
    drawn = await session.execute(update(ProjectMapVersion).where(ProjectMapVersion.id == 1).values(version=version))
    if getattr(drawn, "rowcount", 1) == 0:  # the migration writes the row; a database without it gets it here
        await session.execute(insert(ProjectMapVersion).values(id=1, version=version))


def snapped(box: Box, zoom: int) -> Box:
    """`box` widened to the grid of a quarter of a tile at `zoom` (360 / 2^(zoom+2) degrees)."""
    step = 360 / 2 ** (zoom + 2)
    min_lon, min_lat, max_lon, max_lat = box
    return (
        max(-180.0, math.floor(min_lon / step) * step),
        max(-90.0, math.floor(min_lat / step) * step),
        min(180.0, math.ceil(max_lon / step) * step),
        min(90.0, math.ceil(max_lat / step) * step),
    )


async def map_answer(
    session: AsyncSession, cache: MapCache, box: Box | None, zoom: int | None, filters: ProjectFilters, locale: str
) -> MapAnswer:
    """The GeoJSON FeatureCollection of the projects meeting `box` (the map's view at `zoom`, or exactly the box
    when no zoom is given), as bytes, from `cache` while no project changed."""
    # The version is read before the projects: an answer is never kept under a version older than its rows.
    version = await map_version(session)
    simple = zoom is not None and zoom < SIMPLE_BELOW_ZOOM
    if zoom is not None and box is not None:
        box = snapped(box, zoom)
    key = (version, box, simple, filters, locale)
    answer = cache.get(key)
    if answer is None:
        features = await map_features(session, box, filters, locale, simple=simple)
        body = dumps({"type": "FeatureCollection", "features": features})
        answer = MapAnswer(body, '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"')
        cache.put(key, answer)
    return answer
