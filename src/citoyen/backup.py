"""`citoyen backup DIR`: a copy of everything a platform needs to be restored, taken while it runs.

- The database: on SQLite through SQLite's online backup API (a consistent copy even while the app writes; it
  starts again when a write lands during the copy); on PostgreSQL with `pg_dump -Fc` (one consistent snapshot),
  without PostGIS's own objects, which `CREATE EXTENSION postgis` brings back.
- The open-data files (content-addressed and never changed once written, so a copy of the directory is consistent
  with the database copied just before it: files written after it are simply unused).
- The keys kept in the data directory when none is configured (`secret_key` signs sessions, `verification_pepper`
  keys the residents' hashes: without it the imported residents' list no longer matches anyone).

Restore: docs/production.md, "Backups and restore".
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import make_url

from citoyen.config import Settings

SQLITE_FILE = "citoyen.sqlite3"
POSTGRES_FILE = "citoyen.pgdump"
FILES_DIR = "opendata"
KEY_FILES = ("secret_key", "verification_pepper")


class BackupError(Exception):
    """The backup could not be made; the message says why and what to do."""


@dataclass
class BackupReport:
    directory: Path
    database: Path
    files: int = 0
    keys: list[str] = field(default_factory=list)


def sqlite_path(settings: Settings) -> Path:
    database = make_url(settings.database_url).database
    if not database or database == ":memory:":
        raise BackupError("the SQLite database is in memory: there is nothing to back up")
    return Path(database)


def pg_dump_command(settings: Settings, target: Path) -> tuple[list[str], dict[str, str]]:
    """`pg_dump -Fc` of the configured database, and the libpq environment that carries its password."""
    url = make_url(settings.database_url)
    # Without what belongs to PostGIS (its comment, its table of coordinate systems): the extension brings them
    # back when it is created, and restoring them needs a superuser, which the platform's role is not.
    command = [
        "pg_dump",
        "--format=custom",
        "--no-owner",
        "--no-comments",
        "--exclude-table-data=public.spatial_ref_sys",
        f"--file={target}",
    ]
    environment: dict[str, str] = {}
    for option, value in (("--host", url.host), ("--port", url.port), ("--username", url.username)):
        if value:
            command.append(f"{option}={value}")
    if url.password:
        environment["PGPASSWORD"] = str(url.password)  # not on the command line, which `ps` shows to everyone
    command.append(str(url.database))
    return command, environment


def _backup_sqlite(source: Path, target: Path) -> None:
    if not source.exists():
        raise BackupError(f"no database at {source}: check CITOYEN_DATA_DIR or --data-dir")
    reading, writing = sqlite3.connect(source), sqlite3.connect(target)
    try:
        reading.backup(writing)
    finally:
        writing.close()
        reading.close()


def _backup_postgres(settings: Settings, target: Path) -> None:
    if shutil.which("pg_dump") is None:
        command, _ = pg_dump_command(settings, target)
        raise BackupError(
            "pg_dump is not installed here (Debian: apt-get install postgresql-client); run it where it is: "
            + " ".join(command)
        )
    command, environment = pg_dump_command(settings, target)
    done = subprocess.run(  # noqa: S603 - pg_dump with our own arguments
        command, env={**os.environ, **environment}, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed ({done.returncode}): {done.stderr.strip()}")


def make_backup(settings: Settings, directory: Path) -> BackupReport:
    """Write the backup into `directory`, which must not exist yet or be empty (nothing is overwritten)."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise BackupError(f"{directory} exists and is not an empty directory: give a new one")
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)  # personal data and keys: for the operator alone
    if settings.is_sqlite:
        report = BackupReport(directory, directory / SQLITE_FILE)
        _backup_sqlite(sqlite_path(settings), report.database)
    else:
        report = BackupReport(directory, directory / POSTGRES_FILE)
        _backup_postgres(settings, report.database)
    files = settings.opendata_path
    if files.is_dir():
        shutil.copytree(files, directory / FILES_DIR)
        report.files = sum(1 for path in (directory / FILES_DIR).rglob("*") if path.is_file())
    for name in KEY_FILES:
        key = settings.data_dir / name
        if key.is_file():
            shutil.copy2(key, directory / name)
            report.keys.append(name)
    return report
