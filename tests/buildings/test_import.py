"""Buildings created by staff from a CSV file: every line checked before anything is created, a bad line named
by its number, and the buildings made as SensorThings Things with their meters, placed in their quartier."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.buildings import service as buildings
from citoyen.territory import service as territory
from tests.buildings.helpers import sta_context
from tests.territory.helpers import create_territory

HEADER = "name;use;floor_area_m2;year_built;lon;lat;dwellings;energy_class;address;meters\n"


async def test_a_file_of_buildings_is_imported_with_their_meters(session: AsyncSession) -> None:
    await create_territory(session)
    ids = {n.name: n.id for n in await territory.list_neighbourhoods(session)}
    text = (
        HEADER
        + "Résidence Ouest;housing;2400;1962;2.305;48.855;36;F;1 rue Ouest;\n"
        + "École Est;school;3000;1931;2.315;48.855;;D;;heating|electricity\n"
    )
    specs = buildings.parse_buildings(text)
    created = await buildings.import_buildings(session, sta_context(), specs)
    assert [(b.name, b.neighbourhood_id) for b in created] == [
        ("Résidence Ouest", ids["Ouest"]),
        ("École Est", ids["Est"]),
    ]
    home, school = created
    assert all(buildings.meter_stream(home, meter) is not None for meter in buildings.METERS)
    assert buildings.meter_stream(school, "water") is None and school.dwellings == 0
    assert await buildings.building_count(session) == 2


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ("A;housing;2400;1962;2.3;48.8;36;F;;\nB;castle;100;1900;2.3;48.8;;;;\n", "line 3: use 'castle'"),
        ("A;housing;2400;1962;2.3;48.8;0;F;;\n", "line 2: A block of flats has at least one dwelling"),
        ("A;office;many;1962;2.3;48.8;;;;\n", "line 2: floor_area_m2 is not a whole number"),
        ("A;office;100;1962;2.3;95;;;;\n", "line 2: lat '95' is not a WGS84 lat"),
        ("A;office;100;1962;2.3;48.8;;H;;\n", "line 2: The energy class is a letter from A to G"),
        ("A;office;100;1962;2.3;48.8;;;;gas\n", "line 2: Unknown meter gas"),
    ],
)
def test_a_bad_line_is_named(lines: str, message: str) -> None:
    with pytest.raises(buildings.BuildingImportError, match=message):
        buildings.parse_buildings(HEADER + lines)


async def test_an_unknown_temperature_datastream_stops_the_import_at_its_line(session: AsyncSession) -> None:
    await create_territory(session)
    text = "name;use;floor_area_m2;year_built;lon;lat;dwellings;temperature_datastream\n"
    text += "A;housing;2400;1962;2.305;48.855;36;\nB;housing;2400;1962;2.305;48.855;36;999999\n"
    with pytest.raises(buildings.BuildingImportError, match="line 3: No public or restricted Datastream 999999"):
        await buildings.import_buildings(session, sta_context(), buildings.parse_buildings(text))
    with pytest.raises(buildings.BuildingImportError, match="line 1: missing column"):
        buildings.parse_buildings("name;use\nA;housing\n")
