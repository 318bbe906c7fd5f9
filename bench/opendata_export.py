"""The full history of 10 million observations downloaded over HTTP, against PostgreSQL's own COPY of the same rows.

Loads N observations (default 10,000,000) into sensing's tables of a PostgreSQL database of its own (stations
made through the SensorThings service, readings by one INSERT ... SELECT over generate_series), publishes the
`capteurs` dataset, starts the real app under uvicorn (one worker, in a subprocess), then, side by side in one run:

- `COPY (<the export's SELECT>) TO STDOUT WITH (FORMAT csv, HEADER)` through asyncpg, its output counted and
  thrown away (the baseline: what PostgreSQL itself gives);
- `GET /data/capteurs/history.csv` with curl to /dev/null (the export; its byte count must equal the COPY's);
- the same history as GeoJSON and as Parquet.

Each row says rows/s, the ratio to COPY, and the server's resident memory: its peak while that download ran
(VmRSS sampled every 20 ms) and at rest before it (the served app, imports and all); and the part of each that
the process allocated itself (RssAnon; the rest is mapped files, such as the libraries' code).
Targets (issue 13): CSV ≥ 50 % of COPY's rate, RSS < 200 MB.
COPY and the CSV download each run twice, alternately, and the faster of each is kept (the first pass over fresh
rows also sets their hint bits). Read the figures as what this shared 2-core machine gave at that moment.

Run: `uv run python bench/opendata_export.py [--observations N] [--pg-url URL] [--keep]`
(the database, `citoyen_bench_export` by default, is dropped and made again; `--keep` keeps it loaded, and a
later run with `--reuse` skips the loading).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
from databases import recreate_database
from loadgen import serve
from sensing_common import create_stations
from sqlalchemy import text
from sqlalchemy.engine import make_url

from citoyen.app import build_event_hub
from citoyen.db import make_sessionmaker
from citoyen.engines import make_app_engine
from citoyen.migrations import upgrade_database_async
from citoyen.opendata import service as opendata
from citoyen.sensing import service as sensing

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/citoyen_bench_export"
STATIONS = 100
TARGET_RATIO = 0.5
TARGET_RSS_MB = 200.0


@contextlib.asynccontextmanager
async def raw_connection(url: str) -> AsyncIterator[asyncpg.Connection]:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        yield connection
    finally:
        await connection.close()


async def load(url: str, observations: int) -> None:
    """Stations through the service, N readings spread over their Datastreams (one a minute each), analysed,
    and the `capteurs` dataset in the catalogue."""
    await upgrade_database_async(url)
    ids, _token = await create_stations(url, STATIONS, 1)
    per_stream = -(-observations // len(ids))
    async with raw_connection(url) as driver:
        feature = await driver.fetchval(
            "INSERT INTO sta_features_of_interest (name, description, encoding_type, feature) "
            "VALUES ('bench', '', 'application/geo+json', '{\"type\": \"Point\", \"coordinates\": [2.35, 48.85]}') "
            "RETURNING id"
        )
        started = time.perf_counter()
        await driver.execute(
            "INSERT INTO sta_observations (datastream_id, phenomenon_time_start, result_type, result_number, "
            "feature_of_interest_id) "
            "SELECT d.id, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 minute', 1, "
            "round((random() * 80)::numeric, 2)::float8, $3 "
            "FROM unnest($1::bigint[]) AS d(id) CROSS JOIN generate_series(0, $2 - 1) AS g "
            "ORDER BY d.id, g LIMIT $4",
            ids,
            per_stream,
            feature,
            observations,
        )
        print(f"loaded {observations:,} observations in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        await driver.execute("VACUUM (ANALYZE) sta_observations")
    engine = make_app_engine(url)
    try:
        async with make_sessionmaker(engine, build_event_hub())() as session:
            organization = await opendata.create_organization(session, "ville", "Ville", "City")
            checked = await opendata.check_dataset(
                session,
                {"name": "capteurs", "title": "Capteurs", "owner_org": organization.name, "license_id": "etalab-2.0"},
            )
            await opendata.save_dataset(session, checked)
            await session.commit()
    finally:
        await engine.dispose()


async def export_statement(url: str) -> tuple[str, int]:
    """The export's own SELECT (sensing's, for every public Datastream) and how many rows it gives."""
    engine = make_app_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            streams = await sensing.exported_datastreams(session)
            count = await session.scalar(text("SELECT count(*) FROM sta_observations"))
    finally:
        await engine.dispose()
    return sensing.observations_sql([stream.id for stream in streams]), int(count or 0)


async def copy_to_nowhere(url: str, statement: str) -> tuple[float, int]:
    """Seconds and bytes of PostgreSQL's COPY of the statement, its output thrown away as it comes."""
    size = 0

    async def sink(chunk: bytes) -> None:
        nonlocal size
        size += len(chunk)

    async with raw_connection(url) as driver:
        started = time.perf_counter()
        await driver.copy_from_query(statement, output=sink, format="csv", header=True)
        return time.perf_counter() - started, size


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    """The resident memory of a process and its children (uvicorn's worker), in kB: all of it (VmRSS, shared
    libraries' pages included) or only its own (RssAnon: what it allocated)."""
    total = 0
    pids = [pid]
    with contextlib.suppress(OSError):
        pids += [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for item in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{item}/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    total += int(line.split()[1])
    return total


def memory(pid: int) -> tuple[int, int]:
    return rss_kb(pid), rss_kb(pid, "RssAnon")


async def with_peak_rss(pid: int, work: Callable[[], Awaitable[Any]]) -> tuple[Any, tuple[int, int]]:
    """What `work` returns, and the server's peak resident memory (kB; all, and anonymous) while it ran, sampled
    every 20 ms."""
    peak = memory(pid)
    done = asyncio.Event()

    def higher(one: tuple[int, int], other: tuple[int, int]) -> tuple[int, int]:
        return max(one[0], other[0]), max(one[1], other[1])

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = higher(peak, memory(pid))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 0.02)

    sampler = asyncio.create_task(sample())
    try:
        result = await work()
    finally:
        done.set()
        await sampler
    return result, higher(peak, memory(pid))


async def curl(url: str) -> tuple[float, int, int]:
    """Seconds, bytes and HTTP status of a download to /dev/null."""
    process = await asyncio.create_subprocess_exec(
        "curl", "-s", "-o", "/dev/null", "-w", "%{size_download} %{http_code}", url, stdout=asyncio.subprocess.PIPE
    )
    started = time.perf_counter()
    out, _ = await process.communicate()
    elapsed = time.perf_counter() - started
    size, status = out.decode().split()
    return elapsed, int(size), int(status)


async def measure(database_url: str, observations: int = 10_000_000, reuse: bool = False) -> list[dict[str, Any]]:
    """Load the observations (unless `reuse`), then COPY and the HTTP downloads side by side; one dict a row."""
    if not reuse:
        await recreate_database(database_url)
        await load(database_url, observations)
    statement, count = await export_statement(database_url)
    rows: list[dict[str, Any]] = []
    settings = {"CITOYEN_OPENDATA_REFRESH_SECONDS": "0"}  # no publication run in the middle of the figures
    temporary = tempfile.TemporaryDirectory(prefix="citoyen-bench-export-")
    with temporary as directory, serve(database_url, Path(directory), 1, settings) as server:
        pid = server.process.pid
        at_rest = memory(pid)
        copies, downloads = [], []
        for _ in range(2):
            copies.append(await copy_to_nowhere(database_url, statement))
            csv_download = functools.partial(curl, f"{server.base_url}/data/capteurs/history.csv")
            downloads.append(await with_peak_rss(pid, csv_download))
        copy_seconds, copy_bytes = min(copies)
        (csv_seconds, csv_bytes, status), _peak = min(downloads, key=lambda item: item[0][0])
        csv_peak = (max(peak[0] for _answer, peak in downloads), max(peak[1] for _answer, peak in downloads))
        assert status == 200, f"the CSV download answered {status}"
        rows.append(_row("COPY (SELECT …) TO STDOUT, asyncpg (baseline)", count, copy_seconds, copy_bytes))
        rows.append(
            _row("GET history.csv (COPY streamed)", count, csv_seconds, csv_bytes, copy_seconds, csv_peak, at_rest)
            | {"same bytes as COPY": csv_bytes == copy_bytes}
        )
        for extension in ("geojson", "parquet"):
            rest = memory(pid)
            download = functools.partial(curl, f"{server.base_url}/data/capteurs/history.{extension}")
            (seconds, size, status), peak = await with_peak_rss(pid, download)
            assert status == 200, f"the {extension} download answered {status}"
            rows.append(_row(f"GET history.{extension}", count, seconds, size, copy_seconds, peak, rest))
    return rows


def _row(
    what: str,
    count: int,
    seconds: float,
    size: int,
    copy_seconds: float | None = None,
    peak_kb: tuple[int, int] | None = None,
    rest_kb: tuple[int, int] | None = None,
) -> dict[str, Any]:
    return {
        "what": what,
        "rows": count,
        "seconds": seconds,
        "MB": size / 1e6,
        "rows/s": count / seconds,
        "vs COPY": copy_seconds / seconds if copy_seconds else None,
        "server RSS peak MB": peak_kb[0] / 1024 if peak_kb is not None else None,
        "server RSS before MB": rest_kb[0] / 1024 if rest_kb is not None else None,
        "anonymous peak MB": peak_kb[1] / 1024 if peak_kb is not None else None,
        "anonymous before MB": rest_kb[1] / 1024 if rest_kb is not None else None,
    }


def print_table(rows: list[dict[str, Any]], command: str) -> None:
    print(f"\nFull-history export of public observations, PostgreSQL — `{command}`\n")
    headers = ["what", "rows", "seconds", "MB", "rows/s", "vs COPY", "server RSS peak MB", "server RSS before MB"]
    headers += ["anonymous peak MB", "anonymous before MB"]
    print("| " + " | ".join(headers) + " |")
    print("|" + "---|" * len(headers))
    for row in rows:
        cells = []
        for name in headers:
            value = row.get(name)
            if value is None:
                cells.append("")
            elif name == "rows":
                cells.append(f"{value:,}")
            elif name == "vs COPY":
                cells.append(f"{value:.0%}")
            elif name == "rows/s":
                cells.append(f"{value:,.0f}")
            else:
                cells.append(value if isinstance(value, str) else f"{value:,.1f}")
        print("| " + " | ".join(cells) + " |")
    csv_row = next(row for row in rows if row["what"].startswith("GET history.csv"))
    peak, before = csv_row["server RSS peak MB"], csv_row["server RSS before MB"]
    print(
        f"\nCSV: {csv_row['vs COPY']:.0%} of COPY's rate (target ≥ {TARGET_RATIO:.0%}), server RSS peak "
        f"{peak:.0f} MB (target < {TARGET_RSS_MB:.0f} MB; {before:.0f} MB before the download), "
        f"same bytes as COPY: {csv_row['same bytes as COPY']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--observations", type=int, default=10_000_000)
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--keep", action="store_true", help="keep the loaded database afterwards")
    parser.add_argument("--reuse", action="store_true", help="use the database a --keep run left loaded")
    options = parser.parse_args()
    try:
        rows = asyncio.run(measure(options.pg_url, options.observations, options.reuse))
    finally:
        if not options.keep:
            asyncio.run(recreate_database(options.pg_url, drop_only=True))
    print_table(rows, "uv run python bench/opendata_export.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
