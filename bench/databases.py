"""What the benchmarks share about their databases: a PostgreSQL database of their own, dropped and made again
(never a protected one, never off the loopback interface), and the run on one backend or both, each in a fresh
database that is gone afterwards."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from citoyen.db import make_engine

PROTECTED = ("postgres", "test", "template0", "template1")


# Written on every database a benchmark creates: a benchmark drops only databases that carry it, so a mistyped
# --pg-url can never drop somebody's test or working database.
BENCH_MARK = "made by a Citoyen benchmark, dropped when it ends"


async def recreate_database(url: str, drop_only: bool = False) -> None:
    """Drop the benchmark's PostgreSQL database and (unless `drop_only`) create it empty again, marked as the
    benchmark's. An existing database that a benchmark did not make is never dropped: the run stops with a message."""
    database = make_url(url).database
    if not database or database in PROTECTED:
        sys.exit(f"error: refusing to drop the database {database!r}; give the benchmark its own (--pg-url)")
    if make_url(url).host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("error: this benchmark only talks to a PostgreSQL on the loopback interface")
    maintenance = make_url(url).set(database="postgres").render_as_string(hide_password=False)
    engine = make_engine(maintenance, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            existing = (
                await connection.execute(
                    text("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = :name"),
                    {"name": database},
                )
            ).first()
            if existing is not None and existing[0] != BENCH_MARK:
                sys.exit(
                    f"error: the database {database!r} exists and no benchmark made it, so it is not dropped; give "
                    "the benchmark the name of a database that does not exist (it is created, then dropped at the end)"
                )
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            if not drop_only:
                await connection.execute(text(f'CREATE DATABASE "{database}"'))
                await connection.execute(text(f"COMMENT ON DATABASE \"{database}\" IS '{BENCH_MARK}'"))
    finally:
        await engine.dispose()


@asynccontextmanager
async def fresh_database(backend: str, pg_url: str, prefix: str) -> AsyncIterator[tuple[str, Path]]:
    """An empty database on `backend` ("sqlite": a file in a temporary directory; "postgresql": `pg_url`,
    recreated) and a temporary data directory, both gone when the block ends. Yields (url, data_dir)."""
    with tempfile.TemporaryDirectory(prefix=prefix) as directory:
        if backend == "sqlite":
            yield f"sqlite+aiosqlite:///{Path(directory) / 'citoyen.sqlite3'}", Path(directory)
            return
        await recreate_database(pg_url)
        try:
            yield pg_url, Path(directory)
        finally:
            await recreate_database(pg_url, drop_only=True)


def chosen_backends(choice: str) -> list[str]:
    """The backends of a `--backend sqlite|postgresql|both` option, in the order they run."""
    return [backend for backend in ("sqlite", "postgresql") if choice in (backend, "both")]
