"""Territory rules: importing neighbourhoods, point -> neighbourhood lookup (STRtree), H3 cells; the geocoding of
addresses (`geocoding.py`, `address_import.py`) and the neighbourhoods' populations (`population.py`) are
re-exported here for the other domains."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import h3
import numpy as np
import shapely
from shapely.geometry import Point, mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.strtree import STRtree
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.errors import Refusal
from citoyen.territory.address_import import AddressImportError as AddressImportError
from citoyen.territory.address_import import import_addresses as import_addresses
from citoyen.territory.geocoding import Gazetteer as Gazetteer
from citoyen.territory.geocoding import Place as Place
from citoyen.territory.geocoding import StreetIndexCache as StreetIndexCache
from citoyen.territory.models import City, Neighbourhood
from citoyen.territory.population import PopulationImportError as PopulationImportError
from citoyen.territory.population import Populations as Populations
from citoyen.territory.population import import_population as import_population
from citoyen.territory.population import populations as populations
from citoyen.territory.population import store_populations as store_populations

# Resolutions used for aggregation: ~36 km² (city-wide heat maps), ~0.7 km² (quartier scale),
# ~15,000 m² (block scale).
H3_RESOLUTIONS = (6, 8, 10)
EARTH_RADIUS_M = 6_371_008.8


class TerritoryImportError(Refusal):
    """The file cannot become the city's neighbourhoods; the message (English) says why."""


@dataclass(frozen=True)
class NeighbourhoodInput:
    name: str
    code: str | None
    geometry: BaseGeometry
    properties: dict[str, Any] = field(default_factory=dict)


def parse_neighbourhoods(data: Any, name_field: str, code_field: str | None = None) -> list[NeighbourhoodInput]:
    """Validate a GeoJSON FeatureCollection of (multi)polygons and turn it into neighbourhoods."""
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise TerritoryImportError("the file is not a GeoJSON FeatureCollection")
    features = data.get("features")
    if not isinstance(features, list) or not features:
        raise TerritoryImportError("the FeatureCollection has no features")
    result: list[NeighbourhoodInput] = []
    for position, feature in enumerate(features, start=1):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise TerritoryImportError(f"feature {position} is not a GeoJSON Feature")
        geometry = feature.get("geometry") or {}
        if geometry.get("type") not in ("Polygon", "MultiPolygon"):
            raise TerritoryImportError(
                f"feature {position} has a {geometry.get('type') or 'missing'} geometry; "
                "neighbourhoods must be Polygon or MultiPolygon"
            )
        properties = feature.get("properties") or {}
        name = properties.get(name_field)
        if name is None or not str(name).strip():
            available = ", ".join(sorted(properties)) or "none"
            raise TerritoryImportError(
                f"feature {position} has no '{name_field}' property (its properties: {available})"
            )
        code = None
        if code_field:
            if properties.get(code_field) is None:
                raise TerritoryImportError(f"feature {position} has no '{code_field}' property")
            code = str(properties[code_field])
        try:
            geom = shape(geometry)
        except Exception as exc:  # shapely raises several types for malformed coordinates
            raise TerritoryImportError(f"feature {position} has invalid coordinates: {exc}") from exc
        if geom.is_empty:
            raise TerritoryImportError(f"feature {position} has an empty geometry")
        minx, miny, maxx, maxy = geom.bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise TerritoryImportError(
                f"feature {position} is not in WGS84 longitude/latitude (RFC 7946); reproject it first"
            )
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
        kept = {k: v for k, v in properties.items() if isinstance(v, str | int | float | bool)}
        result.append(NeighbourhoodInput(str(name).strip(), code, geom, kept))
    return result


def area_m2(geom: BaseGeometry) -> float:
    """Area on the sphere, from a local equal-area (sinusoidal) projection: exact enough at city scale."""
    lat0 = geom.centroid.y
    metres_per_degree = math.pi / 180 * EARTH_RADIUS_M
    scale = np.array([math.cos(math.radians(lat0)) * metres_per_degree, metres_per_degree])
    return float(shapely.transform(geom, lambda coords: coords * scale).area)


async def get_city(session: AsyncSession) -> City | None:
    return (await session.execute(select(City).order_by(City.id).limit(1))).scalar_one_or_none()


async def replace_neighbourhoods(
    session: AsyncSession, city_name: str, neighbourhoods: list[NeighbourhoodInput], source: str = ""
) -> City:
    """Replace all of the city's neighbourhoods (the caller's transaction makes it all or nothing)."""
    city = await get_city(session)
    if city is None:
        city = City(name=city_name, revision=str(uuid.uuid4()), source=source)
        session.add(city)
        await session.flush()
    else:
        await session.execute(delete(Neighbourhood).where(Neighbourhood.city_id == city.id))
        city.name = city_name
        city.revision = str(uuid.uuid4())
        city.source = source
        city.imported_at = utcnow()
    for position, item in enumerate(neighbourhoods):
        minx, miny, maxx, maxy = item.geometry.bounds
        centroid = item.geometry.representative_point()
        session.add(
            Neighbourhood(
                city_id=city.id,
                name=item.name,
                code=item.code,
                geometry=mapping(item.geometry),
                min_lon=minx,
                min_lat=miny,
                max_lon=maxx,
                max_lat=maxy,
                centroid_lon=centroid.x,
                centroid_lat=centroid.y,
                area_m2=area_m2(item.geometry),
                properties=item.properties,
                position=position,
            )
        )
    await session.flush()
    return city


async def list_neighbourhoods(session: AsyncSession) -> list[Neighbourhood]:
    return list((await session.execute(select(Neighbourhood).order_by(Neighbourhood.position))).scalars())


async def neighbourhood_names(session: AsyncSession, cache: TerritoryIndexCache | None = None) -> dict[int, str]:
    """Id -> name of every neighbourhood, in their order, without loading the geometries (for lists and forms).
    With the app's index cache, from the index (no query while its revision holds)."""
    index = await cache.get(session) if cache is not None else None
    if index is not None:
        return index.names
    query = select(Neighbourhood.id, Neighbourhood.name).order_by(Neighbourhood.position)
    return {row.id: row.name for row in (await session.execute(query)).all()}


async def get_neighbourhood(session: AsyncSession, neighbourhood_id: int) -> Neighbourhood | None:
    return await session.get(Neighbourhood, neighbourhood_id)


class TerritoryIndex:
    """An STRtree over the neighbourhoods: which neighbourhood contains a point."""

    def __init__(
        self, revision: str, items: list[tuple[int, BaseGeometry]], names: dict[int, str] | None = None
    ) -> None:
        self.revision = revision
        # Id -> name in the neighbourhoods' order (read-only: shared by every request of the process).
        self.names = names or {}
        self._ids = [item_id for item_id, _ in items]
        self._geoms = [geom for _, geom in items]
        for geom in self._geoms:
            shapely.prepare(geom)
        self._tree = STRtree(self._geoms)
        self._city: BaseGeometry | None = None  # the union of the neighbourhoods, made when first needed

    def locate(self, lon: float, lat: float) -> int | None:
        hits = self._tree.query(Point(lon, lat), predicate="intersects")
        # On a shared border the earliest neighbourhood wins, the same in `locate_many`.
        return self._ids[int(hits.min())] if len(hits) else None

    def intersecting(self, geom: BaseGeometry) -> list[int]:
        """The neighbourhoods a geometry (a line, a polygon) touches, in the neighbourhoods' index order."""
        return [self._ids[int(i)] for i in sorted(self._tree.query(geom, predicate="intersects"))]

    def covers(self, geom: BaseGeometry) -> bool:
        """Whether the geometry lies within the city (the union of its neighbourhoods, give or take 10 cm)."""
        if self._city is None:
            self._city = shapely.union_all(self._geoms).buffer(1e-6)
            shapely.prepare(self._city)
        return bool(self._city.covers(geom))

    def locate_many(self, lons: Sequence[float], lats: Sequence[float]) -> list[int | None]:
        """Vectorised `locate` for batches (imports, ingest): one tree query for all the points."""
        points = shapely.points(np.asarray(lons, dtype=float), np.asarray(lats, dtype=float))
        point_indexes, geom_indexes = self._tree.query(points, predicate="intersects")
        best = np.full(len(points), len(self._ids), dtype=np.int64)
        np.minimum.at(best, point_indexes, geom_indexes)
        return [self._ids[int(i)] if i < len(self._ids) else None for i in best]


class TerritoryIndexCache:
    """Holds the index for one app; rebuilt when the city's revision changes (e.g. after an import). The
    revision is checked (one small query) at most every `revalidate_seconds`."""

    def __init__(self, revalidate_seconds: float = 0.0) -> None:
        self.revalidate_seconds = revalidate_seconds
        self._index: TerritoryIndex | None = None
        self._checked_at = -math.inf

    async def get(self, session: AsyncSession) -> TerritoryIndex | None:
        if self._index is not None and time.monotonic() - self._checked_at < self.revalidate_seconds:
            return self._index
        revision = (await session.execute(select(City.revision).order_by(City.id).limit(1))).scalar_one_or_none()
        if revision is None:
            self._index = None
            return None
        if self._index is None or self._index.revision != revision:
            columns = select(Neighbourhood.id, Neighbourhood.geometry, Neighbourhood.name, Neighbourhood.position)
            rows = (await session.execute(columns)).all()
            names = {row.id: row.name for row in sorted(rows, key=lambda row: (row.position, row.id))}
            self._index = TerritoryIndex(revision, [(row.id, shape(row.geometry)) for row in rows], names)
        self._checked_at = time.monotonic()
        return self._index


async def locate_id(session: AsyncSession, cache: TerritoryIndexCache, lon: float, lat: float) -> int | None:
    """The id of the neighbourhood containing the point (lon, lat), or None outside the city (no row loaded)."""
    index = await cache.get(session)
    return None if index is None else index.locate(lon, lat)


async def locate(session: AsyncSession, cache: TerritoryIndexCache, lon: float, lat: float) -> Neighbourhood | None:
    """The neighbourhood containing the point (lon, lat), or None when it is outside the city."""
    neighbourhood_id = await locate_id(session, cache, lon, lat)
    return None if neighbourhood_id is None else await session.get(Neighbourhood, neighbourhood_id)


async def neighbourhoods_of(session: AsyncSession, cache: TerritoryIndexCache, geom: BaseGeometry) -> list[int] | None:
    """The ids of the neighbourhoods a geometry touches, or None when it is not wholly within the city (or the
    city has no neighbourhoods yet)."""
    index = await cache.get(session)
    if index is None or not index.covers(geom):
        return None
    return index.intersecting(geom)


def h3_cells(lon: float, lat: float) -> dict[int, str]:
    """H3 cell ids of a point at the aggregation resolutions, for storing beside geolocated rows."""
    return {resolution: h3.latlng_to_cell(lat, lon, resolution) for resolution in H3_RESOLUTIONS}


def neighbourhood_feature(neighbourhood: Neighbourhood) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": neighbourhood.id,
        "geometry": neighbourhood.geometry,
        "properties": {"id": neighbourhood.id, "name": neighbourhood.name, "code": neighbourhood.code},
    }
