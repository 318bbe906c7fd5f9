"""The resource guard: the worst queries each API allows, from 32 concurrent clients, against the real server.

For each API in turn, `--clients` closed-loop clients send, for `--duration` seconds, the most expensive
requests its limits let through (and some past them, which must be refused with a 4xx), while a probe asks
`/healthz` every 0.1 s and another reads the server's memory from /proc (VmHWM and VmRSS of the server
process and its children). The table shows, per API: requests answered by class (2xx, 4xx, 5xx, failed: no
answer in 60 s), `/healthz` latency p50/p95/max (target < 1 s), and the server's peak RSS (target under
`--rss-budget-mb`, 1 GB by default). Targets: no 5xx, no failure, healthz max < 1 s, RSS under budget.

5xx answers are shown apart: "shed" are the deliberate 503s of admission control (with `Retry-After`, saying the
server is busy), "5xx" every other server error (a statement timeout's 503 included), which the targets forbid.

Data: the demo city (`citoyen demo --build-only`: 15 Things, 35 Datastreams, ~45,000 Observations, 3,000
reports, 750 proposals) in SQLite, and in PostgreSQL too when `--postgres URL` names a server and a database
(created, then dropped at the end; `citoyen_bench_abuse` when the URL names none). The server runs with its
default settings, with each of `--workers` (e.g. `1,2`). With `--baseline REF` the same runs are made against
the code of that commit too (its `src/` from `git archive`, its own demo database), alternating before and after
on the same machine in the same command, so that the noise of a shared machine weighs on both alike.

Run: `uv run python bench/abuse.py [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/mydb] [--duration 20]
[--workers 1,2] [--baseline dd4d709]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from databases import recreate_database
from loadgen import Client, HttpError, baseline_code, serve
from sensing_common import print_table
from sqlalchemy.engine import make_url

DATABASE = "citoyen_bench_abuse"
WORK_DIR = Path(tempfile.gettempdir()) / "citoyen-bench-abuse"
WORLD = "-180,-90,180,90"
# Two hundred characters of words found in proposals and reports: the longest search the APIs accept.
WORDS = ("rue trottoir vélo arbre école parc place bus piste éclairage banc poubelle fontaine " * 3)[:200].strip()


def _or_chain(terms: int, template: str) -> str:
    return " or ".join(template.format(i) for i in range(terms))


# The worst requests each API allows (and a few past its limits, which must be refused, not served).
STA = "/sta/v1.1"
STA_REQUESTS: list[tuple[str, dict[str, str]]] = [
    # $top at the maximum with a deep, broad $expand at the limits: stopped by the entity budget.
    (
        f"{STA}/Observations",
        {
            "$top": "10000",
            "$expand": "Datastream($expand=Thing($expand=Locations,Datastreams),Sensor),FeatureOfInterest",
        },
    ),
    (
        f"{STA}/Things",
        {
            "$top": "10000",
            "$expand": "Datastreams($top=10000;$expand=Observations($top=10000),Sensor,ObservedProperty),"
            "Locations($expand=Things($expand=Datastreams)),HistoricalLocations($expand=Locations)",
        },
    ),
    # Depth 4 at every $top: Things -> Datastreams -> Thing -> Datastreams -> Observations.
    (
        f"{STA}/Things",
        {
            "$top": "10000",
            "$expand": "Datastreams($top=10000;$expand=Thing($expand=Datastreams($expand=Observations($top=10000))))",
        },
    ),
    # The longest $filter within the limits (1,000 terms), on the biggest table, sorted by a computed value.
    (
        f"{STA}/Observations",
        {
            "$top": "10000",
            "$filter": _or_chain(249, "result gt {0}.5"),
            "$orderby": "result mul 3 desc",
            "$count": "true",
        },
    ),
    (f"{STA}/Observations", {"$filter": _or_chain(90, "substringof('{0}', Datastream/Thing/name)"), "$top": "10000"}),
    (f"{STA}/Observations", {"$top": "10000", "$resultFormat": "dataArray", "$skip": "999999999999"}),
    # Past the limits: refused before any query (the last: each term a subquery per row, 86 s when it was served).
    (f"{STA}/Things", {"$expand": "/".join(["Datastreams", "Thing"] * 6)}),
    (f"{STA}/Observations", {"$filter": _or_chain(160, "Datastream/Thing/name eq result"), "$top": "10000"}),
    (f"{STA}/Things", {"$filter": _or_chain(3000, "id eq {0}")[:60_000]}),
]

PARTICIPATION_REQUESTS: list[tuple[str, dict[str, str]]] = [
    ("/api/participation/proposals", {"q": WORDS, "limit": "200", "sort": "supported"}),
    ("/api/participation/proposals", {"limit": "200", "offset": "1000000000", "sort": "random", "seed": "7"}),
    ("/api/participation/proposals.geojson", {"limit": "1000", "bbox": WORLD}),
    ("/api/participation/map", {"zoom": "18", "bbox": WORLD}),
    ("/api/participation/map", {"zoom": "0", "bbox": WORLD, "q": WORDS}),
    ("/participation/processes/embellir-nos-quartiers", {"q": WORDS, "page": "1000000"}),
    # Past the limits: a 100 KB search.
    ("/api/participation/proposals", {"q": "vélo " * 20_000}),
]

REPORTS_REQUESTS: list[tuple[str, dict[str, str]]] = [
    ("/api/reports", {"q": WORDS, "limit": "200"}),
    ("/api/reports", {"limit": "200", "offset": "1000000000", "bbox": WORLD}),
    ("/api/reports/map", {"zoom": "18", "bbox": WORLD}),
    ("/api/reports/map", {"zoom": "0", "bbox": WORLD}),
    ("/reports", {"q": WORDS}),
    ("/open311/v2/requests.json", {"start_date": "1970-01-01T00:00:00Z", "end_date": "2100-01-01T00:00:00Z"}),
    ("/open311/v2/requests.xml", {"start_date": "1970-01-01T00:00:00Z", "end_date": "2100-01-01T00:00:00Z"}),
    # Past the limits: a 100 KB search, thousands of repeated filters.
    ("/api/reports", {"q": "trou " * 20_000}),
    ("/api/reports?" + "&".join(f"category=c{i}" for i in range(3000)), {}),
]


@dataclass
class Outcome:
    api: str
    statuses: Counter[str] = field(default_factory=Counter)
    healthz: list[float] = field(default_factory=list)
    healthz_failed: int = 0
    peak_rss_mb: float = 0.0
    examples: dict[str, str] = field(default_factory=dict)


def _process_tree(pid: int) -> list[int]:
    pids, pending = [], [pid]
    while pending:
        current = pending.pop()
        pids.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                children = Path(f"/proc/{current}/task/{task}/children").read_text().split()
                pending.extend(int(child) for child in children)
        except OSError:
            continue
    return pids


def _rss_mb(pid: int) -> float:
    """The server's memory: the sum over its processes of the larger of peak (VmHWM) and current RSS."""
    total = 0
    for member in _process_tree(pid):
        try:
            fields = dict(
                line.split(":", 1) for line in Path(f"/proc/{member}/status").read_text().splitlines() if ":" in line
            )
        except OSError:
            continue
        kilobytes = [int(fields[name].split()[0]) for name in ("VmHWM", "VmRSS") if name in fields]
        total += max(kilobytes, default=0)
    return total / 1024


async def _clients(
    base: str, requests: list[tuple[str, dict[str, str]]], clients: int, duration: float, outcome: Outcome
) -> None:
    deadline = time.monotonic() + duration

    async def one(number: int) -> None:
        client = Client(base, timeout=60)
        position = number
        try:
            while time.monotonic() < deadline:
                path, params = requests[position % len(requests)]
                position += 1
                try:
                    answer = await client.get(path, params or None)
                except HttpError as error:
                    outcome.statuses["failed"] += 1
                    outcome.examples.setdefault("failed", f"{path}: {error}")
                    continue
                kind = f"{answer.status // 100}xx"
                if answer.status == 503 and "retry-after" in answer.headers and b"busy" in answer.body:
                    kind = "shed"
                outcome.statuses[kind] += 1
                if answer.status >= 500:
                    outcome.examples.setdefault(kind, f"{path} -> {answer.status} {answer.body[:200]!r}")
        finally:
            await client.close()

    await asyncio.gather(*(one(number) for number in range(clients)))


async def _probe(base: str, stop: asyncio.Event, outcome: Outcome, pid: int) -> None:
    client = Client(base, timeout=30)
    try:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                answer = await client.get("/healthz")
                if answer.status == 200:
                    outcome.healthz.append(time.perf_counter() - started)
                else:
                    outcome.healthz_failed += 1
            except HttpError:
                outcome.healthz_failed += 1
            outcome.peak_rss_mb = max(outcome.peak_rss_mb, _rss_mb(pid))
            await asyncio.sleep(0.1)
    finally:
        await client.close()


async def _run_api(
    base: str, pid: int, api: str, requests: list[tuple[str, dict[str, str]]], clients: int, duration: float
) -> Outcome:
    outcome = Outcome(api)
    stop = asyncio.Event()
    probe = asyncio.create_task(_probe(base, stop, outcome, pid))
    await _clients(base, requests, clients, duration, outcome)
    stop.set()
    await probe
    return outcome


def _build_demo(database_url: str, data_dir: Path, code: dict[str, str]) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CITOYEN_")}
    env |= {"CITOYEN_DATABASE_URL": database_url, "CITOYEN_DATA_DIR": str(data_dir), **code}
    command = [sys.executable, "-m", "citoyen", "demo", "--build-only", "--data-dir", str(data_dir)]
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)


def _measure(
    name: str, database_url: str, data_dir: Path, clients: int, duration: float, workers: int, code: dict[str, str]
) -> list[list[str]]:
    apis: list[tuple[str, list[tuple[str, dict[str, str]]]]] = [
        ("SensorThings", STA_REQUESTS),
        ("participation", PARTICIPATION_REQUESTS),
        ("reports + Open311", REPORTS_REQUESTS),
    ]
    rows = []
    with serve(database_url, data_dir, workers, {"CITOYEN_DEMO_MODE": "true", **code}) as server:
        for api, requests in apis:
            outcome = asyncio.run(_run_api(server.base_url, server.process.pid, api, requests, clients, duration))
            latencies = sorted(outcome.healthz) or [float("nan")]
            p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
            statuses = outcome.statuses
            rows.append(
                [
                    name,
                    str(workers),
                    api,
                    str(sum(statuses.values())),
                    str(statuses["2xx"]),
                    str(statuses["4xx"]),
                    str(statuses["shed"]),
                    str(statuses["5xx"]),
                    str(statuses["failed"]),
                    f"{statistics.median(latencies) * 1000:.0f}",
                    f"{p95 * 1000:.0f}",
                    f"{latencies[-1] * 1000:.0f}",
                    str(outcome.healthz_failed),
                    f"{outcome.peak_rss_mb:.0f}",
                    f"{os.getloadavg()[0]:.1f}",
                ]
            )
            for kind, example in outcome.examples.items():
                print(f"  {name} {workers}w {api}: first {kind}: {example}")
            print(f"  {name} {workers}w {api}: done", flush=True)
    return rows


def _drop(url: str) -> None:
    """Drop a benchmark database, retrying while the stopped server's backends end (a cancelled query may take a
    moment); a database left behind is said, not raised, so that the figures are still printed."""
    for attempt in range(10):
        try:
            asyncio.run(recreate_database(url, drop_only=True))
            return
        except Exception as error:  # any failure: try again, then say so
            if attempt == 9:
                print(f"  could not drop the database {make_url(url).database}: {error}", flush=True)
            time.sleep(2)


def _database_name(url: str) -> str:
    name = make_url(url).database or DATABASE
    if name in ("test", "postgres"):
        raise SystemExit(f"refusing to use the database {name!r}: name a database of your own in --postgres")
    return name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default="", help="postgresql+asyncpg://user@host:port/db (made, dropped)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=20.0, help="Seconds per API")
    parser.add_argument("--rss-budget-mb", type=float, default=1024.0)
    parser.add_argument("--workers", default="1", help="Worker counts to run, comma-separated (e.g. 1,2)")
    parser.add_argument("--baseline", default="", help="A commit to measure too, before the working tree's code")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    worker_counts = [int(part) for part in args.workers.split(",")]

    shutil.rmtree(WORK_DIR, ignore_errors=True)
    codes: list[tuple[str, dict[str, str]]] = []
    if args.baseline:
        codes.append((f"before ({args.baseline})", baseline_code(args.baseline, WORK_DIR)))
    codes.append(("after" if args.baseline else "", {}))
    print(f"load average at start: {' '.join(f'{value:.1f}' for value in os.getloadavg())}", flush=True)
    rows: list[list[str]] = []

    def measure_all(database: str, urls: list[str], dirs: list[Path]) -> None:
        for workers in worker_counts:
            for (label, code), url, data_dir in zip(codes, urls, dirs, strict=True):
                name = f"{database} {label}".strip()
                rows.extend(_measure(name, url, data_dir, args.clients, args.duration, workers, code))

    if not args.skip_sqlite:
        dirs = [WORK_DIR / f"sqlite-{index}" for index in range(len(codes))]
        urls = [f"sqlite+aiosqlite:///{data_dir / 'citoyen.sqlite3'}" for data_dir in dirs]
        for (label, code), url, data_dir in zip(codes, urls, dirs, strict=True):
            print(f"SQLite {label}: building the demo city", flush=True)
            _build_demo(url, data_dir, code)
        measure_all("SQLite", urls, dirs)
    if args.postgres:
        base_name = _database_name(args.postgres)
        names = [base_name if not code else f"{base_name}_before" for _, code in codes]
        urls = [make_url(args.postgres).set(database=name).render_as_string(hide_password=False) for name in names]
        dirs = [WORK_DIR / f"postgresql-{index}" for index in range(len(codes))]
        try:
            for (label, code), url, data_dir in zip(codes, urls, dirs, strict=True):
                asyncio.run(recreate_database(url))
                print(f"PostgreSQL {label}: building the demo city", flush=True)
                _build_demo(url, data_dir, code)  # the demo build migrates its database first
            measure_all("PostgreSQL", urls, dirs)
        finally:
            for url in urls:
                _drop(url)

    print(f"\n{args.clients} clients, {args.duration:g} s per API; healthz probed every 0.1 s")
    print(f"load average at end: {' '.join(f'{value:.1f}' for value in os.getloadavg())}\n")
    headers = ["run", "workers", "API", "requests", "2xx", "4xx", "shed 503", "5xx", "failed"]
    headers += ["healthz p50 ms", "p95 ms", "max ms", "healthz failed", "peak RSS MB", "load"]
    print_table(headers, rows)
    verdict: Callable[[list[str]], bool] = lambda row: (  # noqa: E731
        row[7] == "0"
        and row[8] == "0"
        and row[12] == "0"
        and float(row[11]) < 1000
        and float(row[13]) < args.rss_budget_mb
    )
    failed = [f"{row[0]} {row[1]}w {row[2]}" for row in rows if not verdict(row)]
    print(
        f"\ntargets (no 5xx, no failure, healthz < 1 s, RSS < {args.rss_budget_mb:g} MB): "
        + ("met" if not failed else "missed by " + ", ".join(failed))
    )


if __name__ == "__main__":
    main()
