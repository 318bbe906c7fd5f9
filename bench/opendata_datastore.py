"""datastore_search with a filter on a 10-million-row resource (target p95 < 100 ms), PostgreSQL and SQLite.

What it does, per backend:
1. Writes an observation-like CSV (`datastream_id` among 200, `phenomenon_time` one second apart, `result`,
   `quality` good 90 % / suspect 8 % / bad 2 %, `unit`), rows in time order so every datastream's rows are spread
   over the whole file, as sensors' observations arrive.
2. Makes a dataset and a resource whose current version is that file (the catalogue rows directly: frictionless'
   row-by-row check of 10 million rows is the upload's cost, not the DataStore's), then loads it with
   `datastore.load_version`, the loading code uploads and the auto-publication run, and commits: "load".
3. Times `datastore_search` through the service functions the CKAN route calls (`parse_query`, `find_resource`,
   `current_version`, `datastore.search`), each in a session of its own as a request has, for: one datastream
   (about rows/200 matches, the target's case), one datastream and quality=suspect, and quality=good (90 % of the
   rows: the total is the planner's / extrapolated estimate). `include_total` is left at its default (true).
   On PostgreSQL again after `VACUUM (ANALYZE)` of the table (timed), which autovacuum does on its own within
   about a minute of a big load: counts under the threshold then read the index alone.

Run: `uv run python bench/opendata_datastore.py [--backend sqlite|postgresql|both] [--rows N] [--searches N]
[--pg-url URL]`. PostgreSQL in its own database (`citoyen_bench_datastore`, dropped and recreated, then dropped);
SQLite in a temporary directory. Read the figures as what this machine gave at that moment (a shared box).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from databases import chosen_backends, fresh_database
from sqlalchemy import text
from tables import print_aligned

from citoyen.app import build_event_hub
from citoyen.db import make_sessionmaker
from citoyen.engines import make_app_engine
from citoyen.migrations import upgrade_engine
from citoyen.opendata import catalog, datastore
from citoyen.opendata import service as opendata
from citoyen.opendata.models import Resource, ResourceVersion

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/citoyen_bench_datastore"
TARGET_MS = 100.0
DATASTREAMS = 200
SCHEMA = {
    "fields": [
        {"name": "datastream_id", "type": "integer"},
        {"name": "phenomenon_time", "type": "datetime"},
        {"name": "result", "type": "number"},
        {"name": "quality", "type": "string"},
        {"name": "unit", "type": "string"},
    ],
    "missingValues": [""],
}


def write_csv(path: Path, rows: int, seed: int = 7) -> None:
    """The observations, written in blocks (a few seconds per million rows)."""
    chooser = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    qualities = ["good"] * 90 + ["suspect"] * 8 + ["bad"] * 2
    units = ["µg/m³", "dB(A)", "°C", "%"]
    with path.open("w", encoding="utf-8", newline="") as stream:
        stream.write("datastream_id,phenomenon_time,result,quality,unit\n")
        block = 100_000
        for first in range(0, rows, block):
            lines = []
            for number in range(first, min(first + block, rows)):
                moment = (start + timedelta(seconds=number)).strftime("%Y-%m-%dT%H:%M:%SZ")
                datastream = number % DATASTREAMS + 1
                lines.append(
                    f"{datastream},{moment},{chooser.uniform(0, 100):.2f},{chooser.choice(qualities)},"
                    f"{units[datastream % len(units)]}\n"
                )
            stream.write("".join(lines))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def measure(
    database_url: str, rows: int = 10_000_000, searches: int = 100, data_dir: Path | None = None
) -> list[dict[str, Any]]:
    """Load a `rows`-row resource into the DataStore of the (migrated here) database, then time filtered
    searches; one dict per case: backend, rows, load_seconds, when, case, p50_ms, p95_ms, records, total (of the last
    search), exact_totals (how many searches counted exactly rather than estimated), target."""
    with tempfile.TemporaryDirectory(prefix="citoyen-bench-datastore-") as scratch:
        directory = (data_dir or Path(scratch)) / "opendata"
        directory.mkdir(parents=True, exist_ok=True)
        engine = make_app_engine(database_url)
        try:
            return await _measure(engine, directory, rows, searches)
        finally:
            await engine.dispose()


async def _measure(engine: Any, directory: Path, rows: int, searches: int) -> list[dict[str, Any]]:
    backend = engine.dialect.name
    await upgrade_engine(engine)
    sessions = make_sessionmaker(engine, build_event_hub())
    source = directory / "incoming.csv"
    started = time.perf_counter()
    await asyncio.to_thread(write_csv, source, rows)
    written = time.perf_counter() - started
    sha = await asyncio.to_thread(_sha256, source)
    stored = directory / sha[:2] / sha
    stored.parent.mkdir(exist_ok=True)
    source.replace(stored)
    async with sessions() as session, session.begin():
        organization = await catalog.create_organization(session, "capteurs", "Capteurs", "Sensors")
        checked = await catalog.check_dataset(
            session,
            {
                "name": "observations",
                "title": "Observations",
                "owner_org": organization.name,
                "license_id": "etalab-2.0",
            },
        )
        dataset = await catalog.save_dataset(session, checked)
        resource = Resource(uuid=catalog.new_uuid(), dataset_id=dataset.id, format="CSV", current_version=1)
        session.add(resource)
        await session.flush()
        version = ResourceVersion(
            resource_id=resource.id,
            number=1,
            sha256=sha,
            size=stored.stat().st_size,
            path=f"{sha[:2]}/{sha}",
            filename="observations.csv",
            mimetype="text/csv",
            row_count=rows,
            table_schema=SCHEMA,
        )
        session.add(version)
        await session.flush()
        resource_id = resource.uuid
        started = time.perf_counter()
        loaded = await datastore.load_version(session, directory, resource, version)
    load_seconds = time.perf_counter() - started
    print(
        f"{backend}: {rows:,} rows written in {written:.1f} s, loaded into {loaded.name} in {load_seconds:.1f} s",
        file=sys.stderr,
    )

    async def search(filters: dict[str, Any]) -> dict[str, Any]:
        params = {"resource_id": resource_id, "filters": json.dumps(filters)}
        async with sessions() as session:
            query = datastore.parse_query(params)
            found, _dataset = await opendata.find_resource(session, query.resource_id)
            current = await opendata.current_version(session, found)
            return await datastore.search(session, directory, found, current, query)

    chooser = random.Random(11)
    cases: dict[str, Callable[[], dict[str, Any]]] = {
        "filter datastream_id (1 of 200)": lambda: {"datastream_id": chooser.randint(1, DATASTREAMS)},
        "filter datastream_id + quality=suspect": lambda: {
            "datastream_id": chooser.randint(1, DATASTREAMS),
            "quality": "suspect",
        },
        "filter quality=good (90 % of rows)": lambda: {"quality": "good"},
    }
    results = []

    async def run_cases(when: str) -> None:
        for case, filters in cases.items():
            for _ in range(5):  # warm-up: caches, prepared statements
                await search(filters())
            timings = []
            answer: dict[str, Any] = {}
            exact = 0
            for _ in range(searches):
                began = time.perf_counter()
                answer = await search(filters())
                timings.append((time.perf_counter() - began) * 1000)
                exact += not answer.get("total_was_estimated")
            p95 = _percentile(timings, 0.95)
            results.append(
                {
                    "backend": backend,
                    "rows": rows,
                    "load_seconds": load_seconds,
                    "when": when,
                    "case": case,
                    "p50_ms": statistics.median(timings),
                    "p95_ms": p95,
                    "records": len(answer.get("records", [])),
                    "total": answer.get("total"),
                    "exact_totals": f"{exact}/{searches}",
                    "target": f"p95 < {TARGET_MS:.0f} ms: {'met' if p95 < TARGET_MS else 'MISSED'}",
                }
            )

    await run_cases("right after the load")
    if backend == "postgresql":
        # What autovacuum does to a freshly loaded table within about a minute (it is insert-triggered): the
        # visibility map lets counts read the index alone.
        started = time.perf_counter()
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text(f'VACUUM (ANALYZE) "{loaded.name}"'))
        vacuum = time.perf_counter() - started
        print(f"{backend}: VACUUM (ANALYZE) in {vacuum:.1f} s", file=sys.stderr)
        await run_cases(f"after VACUUM ({vacuum:.0f} s)")
    return results


def print_table(results: list[dict[str, Any]], command: str) -> None:
    headers = (
        "backend",
        "rows",
        "load s",
        "when",
        "case",
        "p50 ms",
        "p95 ms",
        "records",
        "total",
        "exact totals",
        "target",
    )
    cells = [
        (
            r["backend"],
            f"{r['rows']:,}",
            f"{r['load_seconds']:.1f}",
            r["when"],
            r["case"],
            f"{r['p50_ms']:.1f}",
            f"{r['p95_ms']:.1f}",
            str(r["records"]),
            f"{r['total']:,}" if isinstance(r["total"], int) else str(r["total"]),
            r["exact_totals"],
            r["target"],
        )
        for r in results
    ]
    print_aligned(headers, cells, f"$ {command}")


async def main(args: argparse.Namespace) -> None:
    results: list[dict[str, Any]] = []
    for backend in chosen_backends(args.backend):
        async with fresh_database(backend, args.pg_url, "citoyen-bench-datastore-") as (url, data_dir):
            results += await measure(url, args.rows, args.searches, data_dir)
    print_table(results, "uv run python bench/opendata_datastore.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--searches", type=int, default=100, help="timed searches per case")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    asyncio.run(main(parser.parse_args()))
