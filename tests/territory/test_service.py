from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.territory import service
from tests.territory.helpers import create_territory, feature_collection, square

PARIS = Path(__file__).resolve().parents[2] / "src" / "citoyen" / "demo" / "data" / "paris-quartiers.geojson"


def test_paris_quartiers_parse_into_80_neighbourhoods_with_codes() -> None:
    items = service.parse_neighbourhoods(json.loads(PARIS.read_text()), "l_qu", "c_quinsee")
    assert len(items) == 80
    assert {item.name for item in items} >= {"Saint-Victor", "Belleville", "Grandes-Carrières"}
    assert all(item.code and item.code.startswith("751") for item in items)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: {"type": "Feature"}, "not a GeoJSON FeatureCollection"),
        (lambda d: d | {"features": []}, "has no features"),
        (lambda d: d["features"][1].update(geometry={"type": "Point", "coordinates": [2.3, 48.8]}), "Point geometry"),
        (lambda d: d["features"][0]["properties"].pop("nom"), "feature 1 has no 'nom' property"),
        (lambda d: d["features"][0].update(geometry=square(650000, 6860000)), "WGS84"),
    ],
)
def test_bad_territory_files_are_refused_with_a_message_that_says_why(mutate: object, message: str) -> None:
    data = copy.deepcopy(feature_collection())
    result = mutate(data)  # type: ignore[operator]
    if isinstance(result, dict):
        data = result
    with pytest.raises(service.TerritoryImportError, match=message):
        service.parse_neighbourhoods(data, "nom", "code")


def test_area_of_a_paris_quartier_matches_the_official_surface() -> None:
    data = json.loads(PARIS.read_text())
    feature = next(f for f in data["features"] if f["properties"]["l_qu"] == "Saint-Victor")
    item = service.parse_neighbourhoods({"type": "FeatureCollection", "features": [feature]}, "l_qu")[0]
    official = feature["properties"]["surface"]
    assert abs(service.area_m2(item.geometry) - official) / official < 0.01


async def test_locate_finds_the_neighbourhood_containing_a_point(session: AsyncSession) -> None:
    await create_territory(session)
    cache = service.TerritoryIndexCache()
    west = await service.locate(session, cache, 2.305, 48.855)
    east = await service.locate(session, cache, 2.315, 48.855)
    assert west is not None and west.name == "Ouest"
    assert east is not None and east.name == "Est"
    assert await service.locate(session, cache, 2.5, 48.5) is None


def test_batch_locate_agrees_with_single_locate_including_borders_and_outside() -> None:
    items = service.parse_neighbourhoods(feature_collection(), "nom", "code")
    index = service.TerritoryIndex("r", [(10, items[0].geometry), (20, items[1].geometry)])
    lons = [2.305, 2.315, 2.30 + 0.01, 2.5]  # west, east, on the shared border, outside
    lats = [48.855, 48.855, 48.855, 48.5]
    assert index.locate_many(lons, lats) == [index.locate(x, y) for x, y in zip(lons, lats, strict=True)]
    assert index.locate_many(lons, lats) == [10, 20, 10, None]


async def test_locate_sees_a_reimported_territory(session: AsyncSession) -> None:
    await create_territory(session)
    cache = service.TerritoryIndexCache()
    assert (await service.locate(session, cache, 2.305, 48.855)) is not None
    moved = service.parse_neighbourhoods(
        {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "geometry": square(3.0, 45.0), "properties": {"n": "Ailleurs"}}],
        },
        "n",
    )
    await service.replace_neighbourhoods(session, "Testville", moved)
    assert await service.locate(session, cache, 2.305, 48.855) is None
    found = await service.locate(session, cache, 3.005, 45.005)
    assert found is not None and found.name == "Ailleurs"
    assert len(await service.list_neighbourhoods(session)) == 1


def test_h3_cells_nest_from_coarse_to_fine() -> None:
    import h3

    cells = service.h3_cells(2.3522, 48.8566)
    assert sorted(cells) == list(service.H3_RESOLUTIONS)
    for resolution, cell in cells.items():
        assert h3.get_resolution(cell) == resolution
    assert h3.cell_to_parent(cells[10], 6) == cells[6]
