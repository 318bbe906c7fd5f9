"""`citoyen projects import FILE`: CSV (WKT or GeoJSON geometry) or a GeoJSON FeatureCollection, all or nothing;
a bad line is named and exits 2 with nothing imported."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.app import build_event_hub
from citoyen.cli import app
from citoyen.db import make_engine, make_sessionmaker
from citoyen.projects import service as projects
from citoyen.projects.models import Project
from tests.projects.helpers import create_world
from tests.territory.helpers import feature_collection
from tests.test_cli import cli_env, database_url, runner, write

__all__ = ["cli_env"]

GOOD_CSV = (
    "title,title_en,theme,phase,phases,budget_eur,department,geometry\n"
    "Piste rue de l'Ouest,West street bike lane,cycling,works,study:2026-01-05/2026-06-30;works:2026-11-02/,"
    '"125 000,50",,"LINESTRING (2.302 48.855, 2.318 48.855)"\n'
    'Square de l\'Ouest,,greenery,study,,,,"{""type"": ""Point"", ""coordinates"": [2.304, 48.853]}"\n'
)
CROSSING = "POLYGON ((2.302 48.852, 2.306 48.856, 2.306 48.852, 2.302 48.856, 2.302 48.852))"


def project_count(env: dict[str, str]) -> int:
    async def read() -> int:
        engine = make_engine(database_url(env))
        async with make_sessionmaker(engine, build_event_hub())() as session:
            count = (await session.execute(select(func.count()).select_from(Project))).scalar_one()
        await engine.dispose()
        return int(count)

    return asyncio.run(read())


def test_import_refuses_a_file_with_one_bad_line_then_imports_the_good_one(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    city = write(tmp_path / "city.geojson", feature_collection())
    assert runner.invoke(app, ["import-territory", str(city), "--name-field", "nom"], env=cli_env).exit_code == 0
    bad = write(tmp_path / "bad.csv", GOOD_CSV + f'Place croisée,,public_space,study,,,,"{CROSSING}"\n')
    result = runner.invoke(app, ["projects", "import", str(bad)], env=cli_env)
    assert result.exit_code == 2
    assert "bad.csv, line 4: This geometry is not valid (Self-intersection" in result.output
    assert "nothing was imported" in result.output
    assert project_count(cli_env) == 0
    good = write(tmp_path / "good.csv", GOOD_CSV)
    result = runner.invoke(app, ["projects", "import", str(good)], env=cli_env)
    assert result.exit_code == 0, result.output
    assert "2 projects imported from good.csv" in result.output
    assert project_count(cli_env) == 2


INSIDE = {"type": "LineString", "coordinates": [[2.302, 48.855], [2.318, 48.855]]}
OUTSIDE = {"type": "Point", "coordinates": [2.4, 48.9]}


@pytest.mark.parametrize(
    ("geometry", "properties", "message"),
    [
        (OUTSIDE, {"theme": "cycling", "phase": "works"}, "feature 2: This place is not within the city"),
        (INSIDE, {"theme": "rocket", "phase": "works"}, "feature 2: Choose a theme"),
        (INSIDE, {"theme": "cycling", "phase": "works", "phases": "works:2026-13-01/"}, "feature 2: Phases are"),
    ],
)
async def test_a_geojson_import_names_the_bad_feature(
    session: AsyncSession, geometry: dict[str, object], properties: dict[str, str], message: str
) -> None:
    world = await create_world(session)
    good = {"title": "Bonne", "theme": "cycling", "phase": "works"}
    collection = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": INSIDE, "properties": good},
            {"type": "Feature", "geometry": geometry, "properties": {"title": "Mauvaise", **properties}},
        ],
    }
    content = json.dumps(collection).encode()
    with pytest.raises(projects.ProjectImportError, match=message):
        await projects.import_projects(session, world.index, content, "projets.geojson")
    assert (await projects.list_projects(session, projects.ProjectFilters()))[1] == 0
    collection["features"] = collection["features"][:1]
    assert await projects.import_projects(session, world.index, json.dumps(collection).encode(), "p.geojson") == 1
