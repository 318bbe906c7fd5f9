"""`citoyen import-residents` as an operator runs it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from citoyen.app import build_event_hub
from citoyen.cli import app
from citoyen.db import make_engine, make_sessionmaker
from citoyen.verification.models import ResidentEntry
from tests.test_cli import cli_env, database_url  # noqa: F401 - the fixture is used by name

runner = CliRunner()


def entry_count(env: dict[str, str]) -> int:
    async def read() -> int:
        engine = make_engine(database_url(env))
        async with make_sessionmaker(engine, build_event_hub())() as session:
            count = await session.scalar(select(func.count()).select_from(ResidentEntry))
        await engine.dispose()
        return int(count or 0)

    return asyncio.run(read())


def test_import_residents_stores_hashes_only(cli_env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    source = tmp_path / "residents.csv"
    source.write_text("numero_document;date_naissance\nAB123456;12/03/1984\nCD654321;2001-04-09\n")
    result = runner.invoke(app, ["import-residents", str(source), "--name", "Liste 2027"], env=cli_env)
    assert result.exit_code == 0, result.output
    assert "2 residents imported" in result.output
    assert entry_count(cli_env) == 2
    assert (Path(cli_env["CITOYEN_DATA_DIR"]) / "verification_pepper").exists()


def test_import_residents_refuses_bad_files_with_exit_2(cli_env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    assert runner.invoke(app, ["migrate"], env=cli_env).exit_code == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("document_number,birth_date\nAB1,1984-02-30\n")
    result = runner.invoke(app, ["import-residents", str(bad)], env=cli_env)
    assert result.exit_code == 2
    assert "line 2" in result.output and "nothing was imported" in result.output
    missing = runner.invoke(app, ["import-residents", str(tmp_path / "nowhere.csv")], env=cli_env)
    assert missing.exit_code == 2 and "no such file" in missing.output
    assert entry_count(cli_env) == 0
