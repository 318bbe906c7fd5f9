"""The `citoyen` command as an operator uses it: real commits, a database of its own per test."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from citoyen.app import build_event_hub
from citoyen.cli import app
from citoyen.db import make_engine, make_sessionmaker
from citoyen.people import service as people
from citoyen.territory.models import Address, Neighbourhood
from tests.conftest import BACKENDS, postgres_database, run_on_postgres_server
from tests.territory.helpers import feature_collection

runner = CliRunner()


@pytest.fixture
def cli_env(migrated_template: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment for one CLI run on a migrated database of its own (a copy of the run's migrated template:
    every command migrates first, and migrating anew for each test cost CI minutes): SQLite in the data
    directory, or a new PostgreSQL database dropped afterwards."""
    env = {"CITOYEN_DATA_DIR": str(tmp_path), "CITOYEN_SECRET_KEY": "cli-test-secret"}
    if not migrated_template.startswith("postgresql"):
        shutil.copyfile(migrated_template.removeprefix("sqlite+aiosqlite:///"), tmp_path / "citoyen.sqlite3")
        env["CITOYEN_DATABASE_URL"] = ""
        yield env
        return
    name = f"citoyen_cli_{uuid.uuid4().hex[:10]}"
    run_on_postgres_server(f'CREATE DATABASE "{name}" TEMPLATE "{migrated_template.rsplit("/", 1)[1]}"')
    env["CITOYEN_DATABASE_URL"] = postgres_database(name)
    yield env
    run_on_postgres_server(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def empty_cli_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment for one CLI run on an empty database: for what `citoyen migrate` itself does."""
    env = {"CITOYEN_DATA_DIR": str(tmp_path), "CITOYEN_SECRET_KEY": "cli-test-secret"}
    if request.param == "sqlite":
        env["CITOYEN_DATABASE_URL"] = ""
        yield env
        return
    name = f"citoyen_cli_{uuid.uuid4().hex[:10]}"
    run_on_postgres_server(f'CREATE DATABASE "{name}"')
    env["CITOYEN_DATABASE_URL"] = postgres_database(name)
    yield env
    run_on_postgres_server(f'DROP DATABASE "{name}" WITH (FORCE)')


def database_url(env: dict[str, str]) -> str:
    return (
        env["CITOYEN_DATABASE_URL"] or f"sqlite+aiosqlite:///{Path(env['CITOYEN_DATA_DIR']).resolve()}/citoyen.sqlite3"
    )


def neighbourhood_names(env: dict[str, str]) -> list[str]:
    async def read() -> list[str]:
        engine = make_engine(database_url(env))
        async with make_sessionmaker(engine, build_event_hub())() as session:
            names = list((await session.execute(select(Neighbourhood.name).order_by(Neighbourhood.position))).scalars())
        await engine.dispose()
        return names

    return asyncio.run(read())


def write(path: Path, content: object) -> Path:
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_import_territory_replaces_the_neighbourhoods(cli_env: dict[str, str], tmp_path: Path) -> None:
    source = write(tmp_path / "city.geojson", feature_collection())
    result = runner.invoke(
        app, ["import-territory", str(source), "--name-field", "nom", "--code-field", "code"], env=cli_env
    )
    assert result.exit_code == 0, result.output
    assert "2 neighbourhoods imported" in result.output
    assert neighbourhood_names(cli_env) == ["Ouest", "Est"]
    smaller = feature_collection()
    smaller["features"] = smaller["features"][1:]
    result = runner.invoke(
        app, ["import-territory", str(write(tmp_path / "b.geojson", smaller)), "--name-field", "nom"], env=cli_env
    )
    assert result.exit_code == 0
    assert neighbourhood_names(cli_env) == ["Est"]


def address_count(env: dict[str, str]) -> int:
    async def read() -> int:
        engine = make_engine(database_url(env))
        async with make_sessionmaker(engine, build_event_hub())() as session:
            count = (await session.execute(select(func.count()).select_from(Address))).scalar_one()
        await engine.dispose()
        return int(count)

    return asyncio.run(read())


def test_import_addresses_is_all_or_nothing_and_names_a_bad_line(cli_env: dict[str, str], tmp_path: Path) -> None:
    header = "id;numero;rep;nom_voie;code_postal;nom_commune;lon;lat\n"
    good = write(
        tmp_path / "good.csv", header + "a;1;;Rue A;75001;Paris;2.35;48.86\nb;2;;Rue A;75001;Paris;2.35;48.86\n"
    )
    imported = runner.invoke(app, ["territory", "import-addresses", str(good)], env=cli_env)
    assert imported.exit_code == 0, imported.output
    assert "2 addresses imported from good.csv" in imported.output
    bad = write(tmp_path / "bad.csv", header + "c;3;;Rue B;75002;Paris;2.35;48.86\nd;4;;Rue B;75002;Paris;east;48.86\n")
    refused = runner.invoke(app, ["territory", "import-addresses", str(bad)], env=cli_env)
    assert refused.exit_code == 2
    assert "line 3: lon and lat must be numbers" in refused.output and "nothing was imported" in refused.output
    assert address_count(cli_env) == 2
    missing = runner.invoke(app, ["territory", "import-addresses", str(tmp_path / "nope.csv")], env=cli_env)
    assert missing.exit_code == 2 and "no such file" in missing.output


def test_import_population_names_a_bad_line_and_keeps_what_was_there(cli_env: dict[str, str], tmp_path: Path) -> None:
    sample = Path(__file__).parent / "territory" / "data" / "population-iris.csv"
    source = write(tmp_path / "city.geojson", feature_collection())
    runner.invoke(app, ["import-territory", str(source), "--name-field", "nom", "--code-field", "code"], env=cli_env)
    imported = runner.invoke(app, ["territory", "import-population", str(sample)], env=cli_env)
    assert imported.exit_code == 0, imported.output
    assert "2 neighbourhoods, 5,001 residents imported" in imported.output
    assert "1 lines about places outside the city passed over" in imported.output
    bad = write(tmp_path / "bad.csv", "code;population\nW1;10\nE1;-4\n")
    refused = runner.invoke(app, ["territory", "import-population", str(bad)], env=cli_env)
    assert refused.exit_code == 2
    assert "line 3: population '-4' is not a number of residents" in refused.output
    assert "nothing was imported" in refused.output


def test_buildings_import_is_all_or_nothing_and_names_a_bad_line(cli_env: dict[str, str], tmp_path: Path) -> None:
    header = "name;use;floor_area_m2;year_built;lon;lat;dwellings\n"
    bad = write(tmp_path / "bad.csv", header + "A;housing;2400;1962;2.305;48.855;36\nB;housing;-3;1962;2.3;48.8;4\n")
    refused = runner.invoke(app, ["buildings", "import", str(bad)], env=cli_env)
    assert refused.exit_code == 2
    assert "line 3: The floor area must be a positive number" in refused.output
    assert "nothing was imported" in refused.output
    good = write(tmp_path / "good.csv", header + "A;housing;2400;1962;2.305;48.855;36\n")
    imported = runner.invoke(app, ["buildings", "import", str(good)], env=cli_env)
    assert imported.exit_code == 0, imported.output
    assert "1 buildings imported from good.csv" in imported.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("this is not json", "not GeoJSON"),
        (
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [2, 48]},
                        "properties": {"nom": "x"},
                    }
                ],
            },
            "Polygon or MultiPolygon",
        ),
        (
            feature_collection() | {"features": [feature_collection()["features"][0] | {"properties": {"name": "x"}}]},
            "no 'nom' property",
        ),
    ],
)
def test_import_territory_refuses_bad_files_and_keeps_the_existing_neighbourhoods(
    cli_env: dict[str, str], tmp_path: Path, content: object, message: str
) -> None:
    good = write(tmp_path / "good.geojson", feature_collection())
    assert runner.invoke(app, ["import-territory", str(good), "--name-field", "nom"], env=cli_env).exit_code == 0
    bad = write(tmp_path / "bad.geojson", content)
    result = runner.invoke(app, ["import-territory", str(bad), "--name-field", "nom"], env=cli_env)
    assert result.exit_code == 2
    assert message in result.output
    assert neighbourhood_names(cli_env) == ["Ouest", "Est"]


def test_import_territory_of_a_missing_file_exits_2(cli_env: dict[str, str], tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["import-territory", str(tmp_path / "nope.geojson"), "--name-field", "nom"], env=cli_env
    )
    assert result.exit_code == 2 and "no such file" in result.output


def test_token_create_prints_only_the_token_which_then_works(cli_env: dict[str, str]) -> None:
    result = runner.invoke(app, ["token", "create", "--name", "capteurs", "--scope", "sensing:write"], env=cli_env)
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert secret.startswith("cit_") and "\n" not in secret

    async def check() -> bool:
        engine = make_engine(database_url(cli_env))
        async with make_sessionmaker(engine, build_event_hub())() as session:
            found = await people.verify_api_token(session, secret, "sensing:write")
        await engine.dispose()
        return found is not None

    assert asyncio.run(check())
    listing = runner.invoke(app, ["token", "list"], env=cli_env)
    assert "capteurs" in listing.output and secret not in listing.output
    token_id = listing.output.split("\t")[0]
    assert runner.invoke(app, ["token", "revoke", token_id], env=cli_env).exit_code == 0
    assert not asyncio.run(check())


def test_token_create_with_an_unknown_scope_exits_2(cli_env: dict[str, str]) -> None:
    result = runner.invoke(app, ["token", "create", "--name", "x", "--scope", "root"], env=cli_env)
    assert result.exit_code == 2 and "Unknown scope" in result.output


def test_create_admin_prints_a_generated_password_that_logs_in(cli_env: dict[str, str]) -> None:
    result = runner.invoke(app, ["create-admin", "maire@example.org"], env=cli_env)
    assert result.exit_code == 0, result.output
    password = result.output.split("password: ")[1].strip()

    async def check() -> str:
        from citoyen.config import Settings

        engine = make_engine(database_url(cli_env))
        async with make_sessionmaker(engine, build_event_hub())() as session:
            settings = Settings(database_url=database_url(cli_env))
            person = await people.authenticate(session, settings, "maire@example.org", password, "cli")
        await engine.dispose()
        return person.role.value

    assert asyncio.run(check()) == "admin"
    invalid = runner.invoke(app, ["create-admin", "not-an-email"], env=cli_env)
    assert invalid.exit_code == 2


def test_demo_builds_once_then_reuses_the_data(cli_env: dict[str, str]) -> None:
    # A small city: what this test checks (built once, then reused) does not grow with it, and the 3,000 reports
    # of a city's default demo cost most of the build.
    env = cli_env | {"CITOYEN_DEMO_CITIZENS": "40", "CITOYEN_DEMO_REPORTS": "40"}
    first = runner.invoke(app, ["demo", "--build-only"], env=env)
    assert first.exit_code == 0, first.output
    assert "Demo city built" in first.output
    assert "Citoyen is at" not in first.output  # built only: nothing is served
    for email in ("citoyenne@", "moderation@", "voirie@", "admin@"):
        assert email in first.output
    assert len(neighbourhood_names(cli_env)) == 80
    second = runner.invoke(app, ["demo", "--build-only"], env=env)
    assert "Reusing the demo city" in second.output


def test_migrate_and_housekeeping_prepare_the_months_ahead(cli_env: dict[str, str]) -> None:
    migrated = runner.invoke(app, ["migrate"], env=cli_env)
    assert migrated.exit_code == 0, migrated.output
    assert "database is up to date" in migrated.output
    # The migration's partitions reach December 2028; a round made now has nothing left to make.
    upkeep = runner.invoke(app, ["housekeeping"], env=cli_env)
    assert upkeep.exit_code == 0, upkeep.output
    assert "people: expired sessions, links and marks: 0" in upkeep.output
    assert "sensing: observation partitions ahead: 0" in upkeep.output
