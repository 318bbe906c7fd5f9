"""PostgreSQL must offer PostGIS: `citoyen migrate` says so, naming the package, before it changes anything."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlalchemy import inspect
from typer.testing import CliRunner

from citoyen import requirements
from citoyen.cli import app
from citoyen.db import make_engine
from tests.test_cli import database_url, empty_cli_env  # noqa: F401 - the fixture is used by name

runner = CliRunner()


def table_names(url: str) -> list[str]:
    async def read() -> list[str]:
        engine = make_engine(url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_migrate_without_postgis_on_the_server_names_the_package_and_changes_nothing(
    empty_cli_env: dict[str, str],  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not empty_cli_env["CITOYEN_DATABASE_URL"]:
        pytest.skip("SQLite needs no extension (shapely does the geometry)")
    # A server without PostGIS, as far as the check can tell: an extension of that package that no server has.
    monkeypatch.setattr(
        requirements, "REQUIRED_EXTENSIONS", {"postgis_absent": requirements.REQUIRED_EXTENSIONS["postgis"]}
    )
    result = runner.invoke(app, ["migrate"], env=empty_cli_env)
    assert result.exit_code == 1
    assert "has no postgis_absent extension" in result.output
    assert re.search(r"apt-get install postgresql-\d+-postgis-3", result.output)
    assert table_names(database_url(empty_cli_env)) == []  # nothing was migrated


def test_migrate_with_postgis_available_creates_it(empty_cli_env: dict[str, str]) -> None:  # noqa: F811 - the fixture
    result = runner.invoke(app, ["migrate"], env=empty_cli_env)
    assert result.exit_code == 0, result.output
    assert asyncio.run(requirements.missing_extensions(database_url(empty_cli_env))) == []
