"""A small synthetic territory for tests: two square neighbourhoods side by side near Paris."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.territory import service
from citoyen.territory.models import City


def square(lon: float, lat: float, size: float = 0.01) -> dict[str, Any]:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def feature_collection() -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": square(2.30, 48.85), "properties": {"nom": "Ouest", "code": "W1"}},
            {"type": "Feature", "geometry": square(2.31, 48.85), "properties": {"nom": "Est", "code": "E1"}},
        ],
    }


async def create_territory(session: AsyncSession) -> City:
    items = service.parse_neighbourhoods(feature_collection(), "nom", "code")
    return await service.replace_neighbourhoods(session, "Testville", items, source="test")
