"""SensorThings reads at city scale: 10,000,000 Observations over 1,000 Datastreams in PostgreSQL, then the
real server under concurrent clients.

1. Load: 500 stations with 2 Datastreams each, made by the API's deep insert; then `--rows` Observations
   (one every 10 minutes per Datastream, ending now: 10,000 per Datastream span 69 days) by COPY into the
   partitioned `sta_observations` (its B-trees dropped during the load and rebuilt,
   then VACUUM ANALYZE); the Datastreams' phenomenonTime is set from their Observations.
2. Measure, with `--concurrency` closed-loop clients for `--duration` seconds after `--warmup`:
   - the last 24 hours of one random Datastream (`/Datastreams(ID)/Observations?$filter=phenomenonTime ge
     NOW-24h&$orderby=phenomenonTime&$top=200`, 144 Observations): target p95 < 20 ms;
   - the latest Observation of each of 1,000 Datastreams (`/Datastreams?$top=1000&$expand=Observations(
     $top=1;$orderby=phenomenonTime desc)`): target p95 < 100 ms.
The database `citoyen_bench_sensing` is dropped at the end (unless `--keep`).

Run: `uv run python bench/sta_queries.py [--rows 10000000] [--concurrency 1,4] [--duration 15]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from loadgen import Client, HttpError
from sensing_common import (
    create_database,
    create_stations,
    drop_database,
    print_table,
    running_server,
)

from citoyen.app import build_event_hub
from citoyen.db import make_sessionmaker
from citoyen.engines import make_app_engine
from citoyen.sensing.service import feature_for_thing_location

STATIONS = 500
DATASTREAMS_PER_STATION = 2
STEP = timedelta(minutes=10)
CHUNK = 500_000
COLUMNS = ["datastream_id", "phenomenon_time_start", "result_type", "result_number", "feature_of_interest_id"]


async def load(url: str, rows: int, datastream_ids: list[int], now: datetime) -> float:
    """COPY the Observations; returns the seconds the load took (rebuilds included)."""
    engine = make_app_engine(url)
    started = time.perf_counter()
    try:
        async with make_sessionmaker(engine, build_event_hub())() as session:
            features = {}
            for datastream_id in datastream_ids:
                features[datastream_id] = await feature_for_thing_location(session, datastream_id)
            await session.commit()
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            # No foreign keys to drop: the store checks them once per batch (migration "observation_store").
            for statement in [
                "DROP INDEX ix_sta_observations_datastream_time",
                "DROP INDEX ix_sta_observations_feature_of_interest_id",
            ]:
                await driver.execute(statement)
            rng = random.Random(2026)
            per_stream = rows // len(datastream_ids)
            first = now - STEP * per_stream
            batch: list[tuple[Any, ...]] = []
            for step in range(per_stream):
                when = first + STEP * (step + 1)
                for datastream_id in datastream_ids:
                    batch.append((datastream_id, when, 1, round(rng.uniform(5, 80), 1), features[datastream_id]))
                if len(batch) >= CHUNK:
                    await driver.copy_records_to_table("sta_observations", records=batch, columns=COLUMNS)
                    batch = []
            if batch:
                await driver.copy_records_to_table("sta_observations", records=batch, columns=COLUMNS)
            for statement in [
                "CREATE INDEX ix_sta_observations_datastream_time ON sta_observations "
                "(datastream_id, phenomenon_time_start)",
                "CREATE INDEX ix_sta_observations_feature_of_interest_id ON sta_observations (feature_of_interest_id)",
                "UPDATE sta_datastreams d SET phenomenon_time_start = s.first, phenomenon_time_end = s.last "
                "FROM (SELECT datastream_id, min(phenomenon_time_start) AS first, max(phenomenon_time_start) AS last "
                "FROM sta_observations GROUP BY datastream_id) s WHERE s.datastream_id = d.id",
                "VACUUM (ANALYZE) sta_observations",
                "VACUUM (ANALYZE) sta_datastreams",
            ]:
                await driver.execute(statement)
    finally:
        await engine.dispose()
    return time.perf_counter() - started


@dataclass
class Measure:
    name: str
    target_ms: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    checked: str = ""


async def measure(base: str, measure: Measure, paths: Any, concurrency: int, warmup: float, duration: float) -> float:
    """Closed-loop clients: each sends its next request when the previous one is answered."""
    start = time.perf_counter()
    counted_from = start + warmup
    stop = counted_from + duration

    async def client(seed: int) -> None:
        rng = random.Random(seed)
        http = Client(base, timeout=60)
        # Staggered first connections: uvicorn's workers share one listening socket and an idle worker
        # accepts every pending connection at once, so simultaneous connects would all land on one worker.
        await asyncio.sleep(seed * warmup / (2 * concurrency))
        try:
            while time.perf_counter() < stop:
                sent = time.perf_counter()
                try:
                    answer = await http.get(paths(rng))
                except HttpError:
                    measure.errors += 1
                    continue
                elapsed = time.perf_counter() - sent
                if sent >= counted_from:
                    if answer.status != 200:
                        measure.errors += 1
                    else:
                        measure.latencies.append(elapsed * 1000)
                if not measure.checked and answer.status == 200:
                    measure.checked = describe(json.loads(answer.body))
        finally:
            await http.close()

    await asyncio.gather(*(client(seed) for seed in range(concurrency)))
    return duration


def describe(document: dict[str, Any]) -> str:
    values = document["value"]
    if values and "Observations" in values[0]:
        with_latest = sum(1 for datastream in values if datastream["Observations"])
        return f"{len(values)} datastreams, {with_latest} with their latest observation"
    return f"{len(values)} observations"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument(
        "--concurrency",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[1, 4],
        help="closed-loop clients; a comma-separated list measures each (default 1,4)",
    )
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    url = asyncio.run(create_database("postgresql"))
    try:
        datastream_ids, _token = asyncio.run(create_stations(url, STATIONS, DATASTREAMS_PER_STATION))
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        seconds = asyncio.run(load(url, args.rows, datastream_ids, now))
        print(f"loaded {args.rows:,} observations over {len(datastream_ids):,} datastreams in {seconds:.0f} s")
        since = (now - timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%SZ")
        measures: list[tuple[int, Measure]] = []
        with running_server(url, args.workers) as base:

            def day_path(rng: random.Random) -> str:
                datastream = rng.choice(datastream_ids)
                return (
                    f"/sta/v1.1/Datastreams({datastream})/Observations?$filter=phenomenonTime%20ge%20{since}"
                    "&$orderby=phenomenonTime&$top=200"
                )

            def latest_path(_rng: random.Random) -> str:
                return "/sta/v1.1/Datastreams?$top=1000&$expand=Observations($top=1;$orderby=phenomenonTime%20desc)"

            for name, target, paths in (
                ("last 24 h of one datastream (144 obs)", 20, day_path),
                ("latest observation of 1,000 datastreams", 100, latest_path),
            ):
                for clients in args.concurrency:
                    item = Measure(name, target)
                    asyncio.run(measure(base, item, paths, clients, args.warmup, args.duration))
                    measures.append((clients, item))
        rows = []
        for clients, item in measures:
            if not item.latencies:
                rows.append([item.name, clients, 0, item.errors, "-", "-", "-", "0", "", "NO", ""])
                continue
            p95 = percentile(item.latencies, 0.95)
            rows.append(
                [
                    item.name,
                    clients,
                    len(item.latencies),
                    item.errors,
                    f"{statistics.median(item.latencies):.1f}",
                    f"{p95:.1f}",
                    f"{max(item.latencies):.1f}",
                    f"{len(item.latencies) / args.duration:.1f}",
                    f"p95 < {item.target_ms:.0f} ms",
                    "yes" if p95 < item.target_ms else "NO",
                    item.checked,
                ]
            )
        print(f"\nSensorThings reads, {args.rows:,} observations, PostgreSQL, {args.workers} uvicorn workers\n")
        print_table(
            [
                "query",
                "clients",
                "requests",
                "errors",
                "p50 ms",
                "p95 ms",
                "max ms",
                "req/s",
                "target",
                "met?",
                "answer",
            ],
            rows,
        )
    finally:
        if not args.keep:
            asyncio.run(drop_database("postgresql"))


if __name__ == "__main__":
    main()
