"""Buildings: the demo's buildings built at full size, then what a building's page and the homes table cost.

One run on SQLite (default) or PostgreSQL (`--backend postgresql`, database `citoyen_bench_buildings`), in
process (the view functions the routes call, no HTTP):
1. a fresh migrated database and `build_demo(only={"buildings"})` at the demo's full size (about 200 buildings,
   56 days of daily readings on 3 meters, the rollups rebuilt), timed;
2. the demo citizen's building page (`building_views.building_page`, their own figures and the comparison
   with similar buildings) and the homes table of `/indicators` (`homes.homes_table`), `--repeats` times each:
   p50 and p95.

Run: `uv run python bench/buildings.py [--backend sqlite|postgresql] [--repeats 30]`.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))

from databases import recreate_database
from tables import print_aligned

from citoyen.app import build_event_hub
from citoyen.buildings import service as buildings
from citoyen.config import Settings
from citoyen.db import make_sessionmaker
from citoyen.demo.common import DEMO_ACCOUNTS
from citoyen.demo.generator import build_demo
from citoyen.engines import make_app_engine
from citoyen.indicators import building_views, homes
from citoyen.migrations import upgrade_database_async
from citoyen.people import service as people

SQLITE_DIR = Path(tempfile.gettempdir()) / "citoyen-bench-buildings"
PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/citoyen_bench_buildings"


async def _fresh_database(backend: str) -> str:
    if backend == "postgresql":
        await recreate_database(PG_URL)
        url = PG_URL
    else:
        shutil.rmtree(SQLITE_DIR, ignore_errors=True)
        SQLITE_DIR.mkdir(parents=True)
        url = f"sqlite+aiosqlite:///{SQLITE_DIR / 'bench.db'}"
    await upgrade_database_async(url)
    return url


def _ms(samples: list[float]) -> tuple[str, str]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered) * 1000:.1f}", f"{p95 * 1000:.1f}"


async def run(backend: str, repeats: int) -> list[list[str]]:
    url = await _fresh_database(backend)
    engine = make_app_engine(url)
    sessionmaker = make_sessionmaker(engine, build_event_hub())
    settings = Settings(database_url=url, demo_citizens=1000)
    try:
        started = time.perf_counter()
        async with sessionmaker() as session:
            await build_demo(session, settings, with_open_data=False, only=frozenset({"buildings"}))
            await session.commit()
        built = time.perf_counter() - started
        if backend == "postgresql":  # what autovacuum would have done by the time anyone reads the pages
            async with engine.connect() as connection:
                await connection.execute(text("ANALYZE"))
                await connection.commit()
        async with sessionmaker() as session:
            count = await buildings.building_count(session)
            citizen = await people.find_person_by_email(session, DEMO_ACCOUNTS[0].email)
            assert citizen is not None
            home = (await buildings.buildings_of(session, citizen.id))[0][0].thing_id
            page_times, table_times = [], []
            for _ in range(repeats):
                start = time.perf_counter()
                await building_views.building_page(session, home, citizen)
                page_times.append(time.perf_counter() - start)
                start = time.perf_counter()
                await homes.homes_table(session)
                table_times.append(time.perf_counter() - start)
    finally:
        await engine.dispose()
    return [
        [backend, f"demo build (core + {count} buildings, rollups)", f"{built:.1f} s", "", ""],
        [backend, "a building's page (view)", "", *_ms(page_times)],
        [backend, "homes table of /indicators (view)", "", *_ms(table_times)],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    rows = asyncio.run(run(args.backend, args.repeats))
    print_aligned(["backend", "what", "time", "p50 ms", "p95 ms"], rows, title="Buildings (bench/buildings.py)")


if __name__ == "__main__":
    main()
