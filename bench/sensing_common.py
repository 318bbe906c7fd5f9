"""What the SensorThings benchmarks share: their own database, stations made through the API's service, the
real server in a subprocess, and a plain-text table printer. Everything talks to 127.0.0.1 only."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from databases import recreate_database
from loadgen import serve
from sqlalchemy import text

from citoyen.app import build_event_hub
from citoyen.db import make_sessionmaker
from citoyen.engines import make_app_engine
from citoyen.migrations import upgrade_database_async
from citoyen.people import service as people
from citoyen.sensing.service import Access, Context, create

# CITOYEN_BENCH_PG_URL: another database, so that two people can bench at once on one server.
BENCH_PG_URL = os.environ.get(
    "CITOYEN_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/citoyen_bench_sensing"
)
SQLITE_DIR = Path(tempfile.gettempdir()) / "citoyen-bench-sensing"
PROTECTED = {"postgres", "test", "template0", "template1"}


def database_url(backend: str) -> str:
    if backend == "postgresql":
        return BENCH_PG_URL
    return f"sqlite+aiosqlite:///{SQLITE_DIR / 'bench.sqlite3'}"


async def create_database(backend: str) -> str:
    """A new, migrated bench database (the previous one is dropped); returns its URL."""
    url = database_url(backend)
    if backend == "postgresql":
        await recreate_database(url)
    else:
        shutil.rmtree(SQLITE_DIR, ignore_errors=True)
        SQLITE_DIR.mkdir(parents=True)
    await upgrade_database_async(url)
    return url


async def drop_database(backend: str) -> None:
    if backend == "postgresql":
        await recreate_database(BENCH_PG_URL, drop_only=True)
    else:
        shutil.rmtree(SQLITE_DIR, ignore_errors=True)


def station_body(number: int, datastreams: int) -> dict[str, Any]:
    lon, lat = 2.25 + (number % 40) * 0.005, 48.82 + (number // 40 % 25) * 0.003
    return {
        "name": f"Bench station {number}",
        "description": "Benchmark station",
        "properties": {"citoyen": {"access": "public", "kind": "air"}},
        "Locations": [
            {
                "name": f"Bench site {number}",
                "description": "Benchmark site",
                "encodingType": "application/geo+json",
                "location": {"type": "Point", "coordinates": [lon, lat]},
            }
        ],
        "Datastreams": [
            {
                "name": f"Bench station {number} series {index}",
                "description": "Benchmark series",
                "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
                "unitOfMeasurement": {"name": "microgram per cubic metre", "symbol": "µg/m³", "definition": "ucum"},
                "Sensor": {"@iot.id": 1} if number or index else _sensor(),
                "ObservedProperty": {"@iot.id": 1} if number or index else _observed_property(),
            }
            for index in range(datastreams)
        ],
    }


def _sensor() -> dict[str, Any]:
    return {"name": "Bench sensor", "description": "Bench", "encodingType": "text/html", "metadata": "https://x"}


def _observed_property() -> dict[str, Any]:
    return {"name": "NO2", "definition": "https://example.org/no2", "description": "Nitrogen dioxide"}


async def create_stations(url: str, stations: int, datastreams_per_station: int) -> tuple[list[int], str]:
    """Stations made by the API's own deep insert; returns the Datastream ids and a sensing:write token."""
    engine = make_app_engine(url)
    try:
        async with make_sessionmaker(engine, build_event_hub())() as session:
            ctx = Context(access=Access(is_staff=True), base_url="http://127.0.0.1")
            from citoyen.sensing.entities import ENTITY_SETS

            for number in range(stations):
                await create(session, ctx, ENTITY_SETS["Things"], station_body(number, datastreams_per_station))
            _token, secret = await people.create_api_token(session, "bench", ["sensing:write"])
            await session.commit()
            ids = list((await session.execute(text("SELECT id FROM sta_datastreams ORDER BY id"))).scalars())
    finally:
        await engine.dispose()
    return ids, secret


@contextmanager
def running_server(url: str, workers: int) -> Iterator[str]:
    """The real app under uvicorn (`loadgen.serve`), stopped in every case; yields its base URL."""
    data_dir = SQLITE_DIR if url.startswith("sqlite") else Path(tempfile.gettempdir()) / "citoyen-bench-sensing-pg"
    with serve(url, data_dir, workers) as server:
        yield server.base_url


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(header), *(len(row[i]) for row in cells)) for i, header in enumerate(headers)]
    print("| " + " | ".join(header.ljust(width) for header, width in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    for row in cells:
        print("| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) + " |")


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)
