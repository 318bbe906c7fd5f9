"""Observation ingest: how close HTTP `CreateObservations` gets to a raw COPY.

One run, on PostgreSQL (default) or SQLite (`--backend sqlite`):
1. baseline (PostgreSQL only): COPY of N observations (asyncpg, binary) into a bare table with the same
   columns and no index, key or constraint; then the same COPY with only the (datastream, phenomenon
   time) index the storage needs, into a table built as `sta_observations` was before the store was redesigned
   for ingest (primary key, two foreign keys: "before") and straight into `sta_observations` ("after", as the
   store writes a batch: rows in (datastream, time) order, into their month's partition): what any server must at
   least do;
2. the same N observations through the real server: `POST /sta/v1.1/CreateObservations` in batches of
   `--batch` rows, `--concurrency` clients at once, into the partitioned `sta_observations` with its
   indexes, each write noting what it touched for the indicators' rollups; then the rollups' lag: the seconds
   from the last reply until the server's fold (every `CITOYEN_INDICATORS_FOLD_INTERVAL_SECONDS`, 5 s by
   default) has folded everything in, and the readings the hourly rollups then hold.
3. `--mqtt-messages` Observations published one per MQTT message at QoS 1 (`mqtt_ingest.py`: a private
   Mosquitto, `mosquitto_pub` devices, the app's bridge; target ≥ 5,000 msg/s with none lost).
Prints rows/s and the ratio to the baseline. The database `citoyen_bench_sensing` is dropped at the end.

Run: `uv run python bench/ingest.py [--rows 1000000] [--backend postgresql|sqlite]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parent))

import loadgen
import mqtt_ingest
from sensing_common import (
    create_database,
    create_stations,
    drop_database,
    print_table,
    running_server,
)

from citoyen.sensing import bulk, partitions

DATASTREAMS = 100
START = datetime(2026, 11, 1, tzinfo=UTC)


def observations(rows: int, datastream_ids: list[int]) -> list[tuple[int, datetime, float]]:
    rng = random.Random(2026)
    per_stream = rows // len(datastream_ids) + 1
    result = []
    for index in range(rows):
        stream = datastream_ids[index % len(datastream_ids)]
        step = index // len(datastream_ids)
        assert step < per_stream
        result.append((stream, START + timedelta(seconds=10 * step), round(rng.uniform(5, 80), 2)))
    return result


@contextlib.asynccontextmanager
async def asyncpg_connection(url: str) -> AsyncIterator[asyncpg.Connection]:
    """A plain asyncpg connection to the benchmark's database (COPY, outside the app)."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        yield connection
    finally:
        await connection.close()


async def raw_copy(url: str, rows: list[tuple[int, datetime, float]], indexed: bool = False) -> float:
    """Seconds to COPY the rows into a bare table (no index, no key, no constraint); `indexed` adds the one
    index the storage must have, on (datastream, phenomenon time), and nothing else."""
    async with asyncpg_connection(url) as driver:
        await driver.execute("DROP TABLE IF EXISTS bare_observations")
        await driver.execute(
            "CREATE TABLE bare_observations (id bigint, datastream_id bigint, phenomenon_time_start timestamptz, "
            "phenomenon_time_end timestamptz, result_time timestamptz, result_type smallint, "
            "result_number double precision, result_string text, result_boolean boolean, result_json json, "
            "result_quality json, valid_time_start timestamptz, valid_time_end timestamptz, parameters json, "
            "feature_of_interest_id bigint)"
        )
        if indexed:
            await driver.execute("CREATE INDEX ON bare_observations (datastream_id, phenomenon_time_start)")
        records = [
            (n, stream, when, None, None, 1, value, None, None, None, None, None, None, None, 1)
            for n, (stream, when, value) in enumerate(rows, 1)
        ]
        started = time.perf_counter()
        await driver.copy_records_to_table("bare_observations", records=records)
        elapsed = time.perf_counter() - started
        await driver.execute("DROP TABLE bare_observations")
    return elapsed


async def table_copy(url: str, rows: list[tuple[int, datetime, float]], without_feature_index: bool = False) -> float:
    """Seconds to COPY the rows straight into `sta_observations` (its partitions and indexes) as the store does: the
    ceiling for any server, which must at least do this. The table is emptied again afterwards.
    `without_feature_index`: the same with the FeatureOfInterest B-tree dropped for the COPY (an experiment: what
    that index costs; it is made again afterwards)."""
    async with asyncpg_connection(url) as driver:
        if without_feature_index:
            await driver.execute("DROP INDEX ix_sta_observations_feature_of_interest_id")
        first = await driver.fetchval("SELECT coalesce(max(id), 0) + 1 FROM sta_observations")
        feature = await driver.fetchval("SELECT min(id) FROM sta_features_of_interest")
        if feature is None:  # the stations' Things have Locations: one Feature made from each suffices
            point = '{"type": "Point", "coordinates": [2.35, 48.85]}'
            feature = await driver.fetchval(
                "INSERT INTO sta_features_of_interest (name, description, encoding_type, feature) "
                "VALUES ('bench', '', 'application/geo+json', $1) RETURNING id",
                point,
            )
        records = [
            (n, stream, when, None, None, 1, value, None, None, None, None, None, None, None, feature)
            for n, (stream, when, value) in enumerate(rows, first)
        ]
        # As the store writes a batch (citoyen.sensing.bulk): in (Datastream, time) order, into the month's partition
        # when every row falls in one month.
        records.sort(key=itemgetter(1, 2))
        months = {(when.year, when.month) for _stream, when, _value in rows}
        target = partitions.partition_name(*months.pop()) if len(months) == 1 else "sta_observations"
        started = time.perf_counter()
        await driver.copy_records_to_table(target, records=records, columns=list(bulk.COLUMNS))
        elapsed = time.perf_counter() - started
        # Emptied whole (the bench's database holds nothing else), so that the next COPY starts from empty indexes
        # too: after a DELETE and VACUUM, it refilled half-empty pages and the experiment below was not comparable.
        await driver.execute("TRUNCATE sta_observations")
        if without_feature_index:
            await driver.execute(
                "CREATE INDEX ix_sta_observations_feature_of_interest_id ON sta_observations (feature_of_interest_id)"
            )
    return elapsed


PREVIOUS_DESIGN = (
    # sta_observations as it was before the store was redesigned for ingest (migration "observation_store"):
    # a primary key and two foreign keys checked on every row, besides the two B-trees.
    "CREATE TABLE previous_observations (LIKE sta_observations INCLUDING DEFAULTS, "
    "PRIMARY KEY (id, phenomenon_time_start), "
    "FOREIGN KEY (datastream_id) REFERENCES sta_datastreams (id) ON DELETE CASCADE, "
    "FOREIGN KEY (feature_of_interest_id) REFERENCES sta_features_of_interest (id) ON DELETE CASCADE) "
    "PARTITION BY RANGE (phenomenon_time_start)",
    "CREATE TABLE previous_observations_y2026m11 PARTITION OF previous_observations "
    "FOR VALUES FROM ('2026-11-01 00:00:00+00') TO ('2026-12-01 00:00:00+00')",
    "CREATE TABLE previous_observations_default PARTITION OF previous_observations DEFAULT",
    "CREATE INDEX ON previous_observations (datastream_id, phenomenon_time_start)",
    "CREATE INDEX ON previous_observations (feature_of_interest_id)",
)


async def previous_design_copy(url: str, rows: list[tuple[int, datetime, float]]) -> float:
    """Seconds to COPY the rows into a table built as `sta_observations` was before (PREVIOUS_DESIGN), in the
    same database and run: the "before" of the store's redesign, beside its "after"."""
    async with asyncpg_connection(url) as driver:
        feature = await driver.fetchval("SELECT min(id) FROM sta_features_of_interest")
        for statement in PREVIOUS_DESIGN:
            await driver.execute(statement)
        records = [
            (n, stream, when, None, None, 1, value, None, None, None, None, None, None, None, feature)
            for n, (stream, when, value) in enumerate(rows, 1)
        ]
        started = time.perf_counter()
        await driver.copy_records_to_table("previous_observations", records=records, columns=list(bulk.COLUMNS))
        elapsed = time.perf_counter() - started
        await driver.execute("DROP TABLE previous_observations")
    return elapsed


async def rollups_lag(url: str, limit_seconds: float = 120.0) -> tuple[float, int]:
    """Seconds from now (the last CreateObservations answered) until the server's fold has taken every noted
    change into the indicators' rollups (citoyen.indicators.rollups), and the readings the hourly rollups then
    hold: the rollups' lag behind ingest, at its worst (just after a burst)."""
    started = time.perf_counter()
    async with asyncpg_connection(url) as driver:
        while await driver.fetchval("SELECT count(*) FROM indicator_pending_spans"):
            if time.perf_counter() - started > limit_seconds:
                break
            await asyncio.sleep(0.05)
        lag = time.perf_counter() - started
        folded = await driver.fetchval(
            "SELECT coalesce(sum(count), 0) FROM indicator_datastream_rollups WHERE step = 'hour'"
        )
    return lag, int(folded)


async def http_ingest(
    base: str, token: str, rows: list[tuple[int, datetime, float]], batch: int, concurrency: int
) -> tuple[float, int]:
    """Seconds to send every row through CreateObservations, and the number of rows the server refused."""
    bodies: list[bytes] = []
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        groups: dict[int, list[list[Any]]] = {}
        for stream, when, value in chunk:
            groups.setdefault(stream, []).append([when.isoformat().replace("+00:00", "Z"), value])
        document = [
            {"Datastream": {"@iot.id": stream}, "components": ["phenomenonTime", "result"], "dataArray": data}
            for stream, data in groups.items()
        ]
        bodies.append(json.dumps(document).encode())
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    refused = 0
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    async def client() -> None:
        nonlocal refused
        async with httpx.AsyncClient(base_url=base, timeout=300) as http:
            while not queue.empty():
                body = queue.get_nowait()
                response = await http.post("/sta/v1.1/CreateObservations", content=body, headers=headers)
                response.raise_for_status()
                refused += sum(1 for link in response.json() if link.startswith("error"))

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return time.perf_counter() - started, refused


async def forget_observations(url: str) -> None:
    """Empties what an ingest stored (Observations, the rollups' notes and rollups), so that the next starts alike."""
    async with asyncpg_connection(url) as driver:
        for table in ("sta_observations", "indicator_pending_spans", "indicator_datastream_rollups"):
            await driver.execute(f"TRUNCATE {table}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000, help="observations per CreateObservations request")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--workers", type=int, default=None, help="uvicorn workers (2 on PostgreSQL, 1 on SQLite)")
    parser.add_argument(
        "--mqtt-messages", type=int, default=50_000, help="Observations published over MQTT (0: no MQTT row)"
    )
    parser.add_argument(
        "--baseline",
        metavar="REF",
        help="first send the same rows through the server of commit REF (same database and run): HTTP's before",
    )
    args = parser.parse_args()
    workers = args.workers or (2 if args.backend == "postgresql" else 1)

    url = asyncio.run(create_database(args.backend))
    try:
        datastream_ids, token = asyncio.run(create_stations(url, DATASTREAMS // 2, 2))
        rows = observations(args.rows, datastream_ids)
        table: list[list[Any]] = []
        baseline = None
        if args.backend == "postgresql":
            baseline = args.rows / asyncio.run(raw_copy(url, rows))
            table.append(
                [
                    "raw COPY, bare table (baseline)",
                    f"{args.rows:,}",
                    f"{args.rows / baseline:.2f}",
                    f"{baseline:,.0f}",
                    "100 %",
                ]
            )
            indexed = args.rows / asyncio.run(raw_copy(url, rows, indexed=True))
            table.append(
                [
                    "raw COPY, bare table + (datastream, time) index only",
                    f"{args.rows:,}",
                    f"{args.rows / indexed:.2f}",
                    f"{indexed:,.0f}",
                    f"{100 * indexed / baseline:.0f} %",
                ]
            )
            ceiling = args.rows / asyncio.run(table_copy(url, rows))
            previous = args.rows / asyncio.run(previous_design_copy(url, rows))
            table.append(
                [
                    "before: COPY, previous design (primary key, 2 foreign keys, 2 B-trees)",
                    f"{args.rows:,}",
                    f"{args.rows / previous:.2f}",
                    f"{previous:,.0f}",
                    f"{100 * previous / baseline:.0f} %",
                ]
            )
            table.append(
                [
                    "after: COPY into sta_observations as the store does (sorted, into the month's partition)",
                    f"{args.rows:,}",
                    f"{args.rows / ceiling:.2f}",
                    f"{ceiling:,.0f}",
                    f"{100 * ceiling / baseline:.0f} %",
                ]
            )
            lean = args.rows / asyncio.run(table_copy(url, rows, without_feature_index=True))
            table.append(
                [
                    "experiment: the same without the FoI B-tree",
                    f"{args.rows:,}",
                    f"{args.rows / lean:.2f}",
                    f"{lean:,.0f}",
                    f"{100 * lean / baseline:.0f} %",
                ]
            )
        if args.baseline:
            # The server of an earlier commit first, on the same rows and database; then everything it stored goes.
            data_dir = Path(tempfile.gettempdir()) / "citoyen-bench-ingest-baseline"
            with loadgen.serve(url, data_dir, workers, loadgen.baseline_code(args.baseline, data_dir)) as server:
                before, before_refused = asyncio.run(
                    http_ingest(server.base_url, token, rows, args.batch, args.concurrency)
                )
            asyncio.run(forget_observations(url))
            before_rate = (args.rows - before_refused) / before
            table.append(
                [
                    f"before: HTTP CreateObservations, the server of {args.baseline}",
                    f"{args.rows - before_refused:,}",
                    f"{before:.2f}",
                    f"{before_rate:,.0f}",
                    f"{100 * before_rate / baseline:.0f} %" if baseline else "n/a",
                ]
            )
        with running_server(url, workers) as base:
            elapsed, refused = asyncio.run(http_ingest(base, token, rows, args.batch, args.concurrency))
            lag, folded = asyncio.run(rollups_lag(url))
        rate = (args.rows - refused) / elapsed
        ratio = f"{100 * rate / baseline:.0f} %" if baseline else "n/a"
        label = f"HTTP CreateObservations ({args.batch:,}/request, {args.concurrency} clients, {workers} workers)"
        table.append([label, f"{args.rows - refused:,}", f"{elapsed:.2f}", f"{rate:,.0f}", ratio])
        table.append(
            [
                f"indicators' rollups folded in by the server ({folded:,} readings in the hourly rollups)",
                f"{folded:,}",
                f"lag {lag:.2f}",
                "",
                "after the last reply",
            ]
        )
        if args.mqtt_messages:
            # Its own database and private broker (mqtt_ingest.py): devices publish one message per Observation.
            mqtt = asyncio.run(
                mqtt_ingest.measure(args.backend, mqtt_ingest.database_url(args.backend), args.mqtt_messages, 10, 1000)
            )
            lost = mqtt.messages - mqtt.stored
            mqtt_ratio = f"{100 * mqtt.rate / baseline:.0f} %" if baseline else "n/a"
            table.append(
                [
                    f"MQTT QoS 1, acked once stored ({mqtt.messages:,} messages, {lost:,} not stored)",
                    f"{mqtt.stored:,}",
                    f"{mqtt.seconds:.2f}",
                    f"{mqtt.rate:,.0f}",
                    mqtt_ratio,
                ]
            )
        print(f"\nIngest of {args.rows:,} observations into {args.backend} ({DATASTREAMS} datastreams)\n")
        print_table(["path", "observations", "seconds", "obs/s", "vs raw COPY"], table)
    finally:
        asyncio.run(drop_database(args.backend))


if __name__ == "__main__":
    main()
