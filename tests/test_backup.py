"""`citoyen backup DIR` and the restore steps of docs/production.md: what was committed comes back, on SQLite and
PostgreSQL, with the open-data files and the data directory's keys."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import make_url, select
from typer.testing import CliRunner

from citoyen.app import build_event_hub
from citoyen.cli import app
from citoyen.db import make_engine, make_sessionmaker
from citoyen.people.models import Person
from tests.conftest import postgres_database, run_on_postgres_server
from tests.test_cli import cli_env, database_url  # noqa: F401 - the fixture is used by name

runner = CliRunner()


def emails(url: str) -> list[str]:
    async def read() -> list[str]:
        engine = make_engine(url)
        try:
            async with make_sessionmaker(engine, build_event_hub())() as session:
                return list((await session.execute(select(Person.email).order_by(Person.email))).scalars())
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_a_backup_restores_what_was_committed(
    cli_env: dict[str, str],  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    assert runner.invoke(app, ["create-admin", "maire@example.org"], env=cli_env).exit_code == 0
    data_dir = Path(cli_env["CITOYEN_DATA_DIR"])
    stored = data_dir / "opendata" / "ab" / "abcdef"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(b"un fichier publie")
    (data_dir / "verification_pepper").write_text("poivre")

    target = tmp_path / "backup-1"
    result = runner.invoke(app, ["backup", str(target)], env=cli_env)
    assert result.exit_code == 0, result.output
    assert "open-data files: 1" in result.output and "verification_pepper" in result.output
    assert (target / "opendata" / "ab" / "abcdef").read_bytes() == b"un fichier publie"
    assert (target / "verification_pepper").read_text() == "poivre"
    assert target.stat().st_mode & 0o077 == 0  # keys and personal data: the operator's alone

    if not cli_env["CITOYEN_DATABASE_URL"]:
        assert emails(f"sqlite+aiosqlite:///{target / 'citoyen.sqlite3'}") == ["maire@example.org"]
        return
    # The documented restore: a new database, then pg_restore of the dump (PostGIS comes back with it).
    name = f"citoyen_restored_{uuid.uuid4().hex[:10]}"
    run_on_postgres_server(f'CREATE DATABASE "{name}"')
    try:
        restored = postgres_database(name)
        url = make_url(restored)
        subprocess.run(  # noqa: S603 - pg_restore with our own arguments
            [
                *("pg_restore", "--no-owner", f"--host={url.host}", f"--port={url.port or 5432}"),
                *(f"--username={url.username}", f"--dbname={name}", str(target / "citoyen.pgdump")),
            ],
            check=True,
            capture_output=True,
        )
        assert emails(restored) == ["maire@example.org"]
    finally:
        run_on_postgres_server(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_a_sqlite_backup_taken_during_a_write_holds_only_what_was_committed(tmp_path: Path) -> None:
    env = {"CITOYEN_DATA_DIR": str(tmp_path / "data"), "CITOYEN_DATABASE_URL": "", "CITOYEN_SECRET_KEY": "x" * 32}
    assert runner.invoke(app, ["migrate"], env=env).exit_code == 0
    writer = sqlite3.connect(tmp_path / "data" / "citoyen.sqlite3", isolation_level=None)
    writer.execute("CREATE TABLE scratch (n INTEGER)")
    writer.execute("INSERT INTO scratch VALUES (1)")
    writer.execute("BEGIN IMMEDIATE")  # the app is in the middle of a write
    writer.execute("INSERT INTO scratch VALUES (2)")
    try:
        result = runner.invoke(app, ["backup", str(tmp_path / "backup")], env=env)
    finally:
        writer.execute("COMMIT")
        writer.close()
    assert result.exit_code == 0, result.output
    copy = sqlite3.connect(tmp_path / "backup" / "citoyen.sqlite3")
    assert copy.execute("SELECT n FROM scratch").fetchall() == [(1,)]
    assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    copy.close()


@pytest.mark.parametrize("existing", ["file", "full directory"])
def test_a_backup_never_overwrites(tmp_path: Path, existing: str) -> None:
    env = {"CITOYEN_DATA_DIR": str(tmp_path / "data"), "CITOYEN_DATABASE_URL": "", "CITOYEN_SECRET_KEY": "x" * 32}
    target = tmp_path / "old"
    if existing == "file":
        target.write_text("keep me")
    else:
        target.mkdir()
        (target / "citoyen.sqlite3").write_text("keep me")
    result = runner.invoke(app, ["backup", str(target)], env=env)
    assert result.exit_code == 1 and "is not an empty directory" in result.output
    assert (target.read_text() if existing == "file" else (target / "citoyen.sqlite3").read_text()) == "keep me"
