"""The queries of the projects' map and list: filters (phase, theme, neighbourhood, period), the map's box,
works near a place this month."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TypeVar

import orjson
import shapely
from shapely.geometry import Point, shape
from sqlalchemy import Select, Text, and_, cast, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.projects.models import Phase, Project, ProjectNeighbourhood, ProjectPhase

EARTH_RADIUS_M = 6_371_008.8
# Any SELECT, whatever its columns (the list's and the map's).
AnySelect = TypeVar("AnySelect", bound=Select[*tuple[Any, ...]])
NEAR_METRES = 1_000
MAP_LIMIT = 5_000
# The map's rows are read and turned into features this many at a time.
MAP_PART = 250


@dataclass(frozen=True)
class ProjectFilters:
    phase: str = ""
    theme: str = ""
    neighbourhood_id: int | None = None
    # The projects whose phases span meets [period_from, period_to] (either may be open).
    period_from: date | None = None
    period_to: date | None = None

    def where(self, query: AnySelect) -> AnySelect:
        if self.phase:
            query = query.where(Project.phase == self.phase)
        if self.theme:
            query = query.where(Project.theme == self.theme)
        if self.neighbourhood_id is not None:
            query = query.where(
                exists().where(
                    ProjectNeighbourhood.project_id == Project.id,
                    ProjectNeighbourhood.neighbourhood_id == self.neighbourhood_id,
                )
            )
        if self.period_to is not None:
            query = query.where(or_(Project.starts_on.is_(None), Project.starts_on <= self.period_to))
        if self.period_from is not None:
            query = query.where(or_(Project.ends_on.is_(None), Project.ends_on >= self.period_from))
        return query


async def list_projects(
    session: AsyncSession, filters: ProjectFilters, limit: int = 50, offset: int = 0
) -> tuple[list[Project], int]:
    """A page of the list (newest change first) and how many match."""
    total = (await session.execute(filters.where(select(func.count()).select_from(Project)))).scalar_one()
    query = filters.where(select(Project)).order_by(Project.updated_at.desc(), Project.id.desc())
    rows = (await session.execute(query.limit(limit).offset(offset))).scalars()
    return list(rows), int(total)


async def map_features(
    session: AsyncSession,
    box: tuple[float, float, float, float] | None,
    filters: ProjectFilters,
    locale: str,
    simple: bool = False,
) -> list[dict[str, Any]]:
    """GeoJSON features of the projects whose box meets the view's box (the map and the API); each geometry is
    the stored JSON text as an `orjson.Fragment`, for `citoyen.fastjson.dumps`. `simple`: the geometries
    simplified for a low zoom (`geometry.simplified`), where a row has them."""
    geometry = func.coalesce(Project.geometry_simple, Project.geometry) if simple else Project.geometry
    columns = [
        Project.id,
        Project.title,
        Project.title_en,
        Project.phase,
        Project.theme,
        # The stored GeoJSON as text, passed into the answer as it is (orjson.Fragment): decoding and encoding
        # it again was most of the time of a big view.
        cast(geometry, Text).label("geometry"),
        Project.starts_on,
        Project.ends_on,
        Project.demo,
    ]
    query = select(*columns)
    if box is not None:
        min_lon, min_lat, max_lon, max_lat = box
        query = query.where(
            Project.min_lon <= max_lon,
            Project.max_lon >= min_lon,
            Project.min_lat <= max_lat,
            Project.max_lat >= min_lat,
        )
    query = filters.where(query).order_by(Project.id).limit(MAP_LIMIT)
    features = []
    # Read in parts, giving the event loop back between them: a city-wide answer rebuilt in the background
    # delays the worker's other requests by one part at most, not by the whole build.
    rows = await session.stream(query)
    async for part in rows.partitions(MAP_PART):
        await asyncio.sleep(0)
        for row in part:
            title = row.title_en if locale == "en" and row.title_en else row.title
            features.append(
                {
                    "type": "Feature",
                    "id": row.id,
                    "geometry": orjson.Fragment(row.geometry),
                    "properties": {
                        "title": title,
                        "phase": row.phase,
                        "theme": row.theme,
                        "starts_on": row.starts_on.isoformat() if row.starts_on else None,
                        "ends_on": row.ends_on.isoformat() if row.ends_on else None,
                        "demo": row.demo,
                        "url": f"/projects/{row.id}",
                    },
                }
            )
    return features


def month_of(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def _metres(lon: float, lat: float, geometry: dict[str, Any]) -> float:
    """Distance in metres from a point to a geometry, in a local equirectangular projection (exact enough
    within a city)."""
    scale = math.cos(math.radians(lat))
    projected = shapely.transform(shape(geometry), lambda coords: coords * [scale, 1.0])
    nearest = projected.distance(Point(lon * scale, lat))
    return float(nearest) * math.pi / 180 * EARTH_RADIUS_M


async def works_near(
    session: AsyncSession, lon: float, lat: float, today: date, metres: float = NEAR_METRES
) -> list[tuple[Project, float]]:
    """Projects with works this month (a works phase that meets the month) within `metres` of the point,
    nearest first, with their distance."""
    first, last = month_of(today)
    dlat = metres / (math.pi / 180 * EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
    works_this_month = exists().where(
        ProjectPhase.project_id == Project.id,
        ProjectPhase.kind == Phase.WORKS.value,
        ProjectPhase.starts_on <= last,
        or_(ProjectPhase.ends_on.is_(None), ProjectPhase.ends_on >= first),
    )
    query = select(Project).where(
        and_(
            Project.min_lon <= lon + dlon,
            Project.max_lon >= lon - dlon,
            Project.min_lat <= lat + dlat,
            Project.max_lat >= lat - dlat,
        ),
        works_this_month,
    )
    found = []
    for project in (await session.execute(query)).scalars():
        distance = _metres(lon, lat, project.geometry)
        if distance <= metres:
            found.append((project, distance))
    found.sort(key=lambda item: (item[1], item[0].id))
    return found
