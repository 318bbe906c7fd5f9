"""Open data figures (issue 13), printed as tables and then one summary table of the four targets:

- publication: the auto-publication of the demo city (`citoyen demo` builds the city, then the platform
  publishes its own datasets into the catalogue; target < 30 s), timed from the demo generator's own "open data"
  step, and a refresh right after it (nothing changed: no new version) timed around `refresh_platform` (each
  dataset in transactions of its own, as the app does);
- search: `package_search` over 10,000 datasets with facets, p95 < 50 ms (bench/opendata_search.py);
- datastore: `datastore_search` with a filter on a 10-million-row resource, p95 < 100 ms
  (bench/opendata_datastore.py);
- export: the full history of 10 million observations streamed over HTTP as CSV at >= 50 % of PostgreSQL's own
  `COPY ... TO STDOUT` of the same rows, server RSS < 200 MB (bench/opendata_export.py; PostgreSQL only).

Run: `uv run python bench/opendata.py [--only publication search datastore export] [--backend
sqlite|postgresql|both] [--rows N] [--observations N] [--datasets N]`. Each part can also run alone
(`uv run python bench/opendata_search.py`, ...). The demo is built with `CITOYEN_DEMO_CITIZENS`/
`CITOYEN_DEMO_REPORTS` at their defaults unless `--citizens`/`--reports` say otherwise; SQLite in a temporary
directory; PostgreSQL in a database of each part's own (`citoyen_bench_opendata`, `..._search`,
`citoyen_bench_datastore`, `citoyen_bench_export`), dropped and recreated, then dropped. All four at full size
take about half an hour on a 2-core machine. Read the figures as what this machine gave at that moment.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import opendata_datastore
import opendata_export
import opendata_search
from databases import chosen_backends, fresh_database, recreate_database
from sqlalchemy import func, select
from tables import print_aligned

from citoyen.app import build_event_hub
from citoyen.config import Settings
from citoyen.db import make_sessionmaker, utcnow
from citoyen.demo.generator import build_demo
from citoyen.engines import make_app_engine
from citoyen.migrations import upgrade_engine
from citoyen.opendata.models import Dataset, Resource, ResourceVersion
from citoyen.opendata.publication import refresh_platform

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/citoyen_bench_opendata"
TARGET_SECONDS = 30.0


@dataclass
class Row:
    backend: str
    what: str
    seconds: float
    datasets: int
    resources: int
    versions: int
    rows: int
    target: str


async def measure(backend: str, url: str, data_dir: Path, args: argparse.Namespace) -> list[Row]:
    overrides = {"demo_citizens": args.citizens, "demo_reports": args.reports}
    settings = Settings(
        data_dir=data_dir,
        database_url=url,
        demo_mode=True,
        **{key: value for key, value in overrides.items() if value is not None},
    )
    engine = make_app_engine(url)
    try:
        await upgrade_engine(engine)
        sessions = make_sessionmaker(engine, build_event_hub())
        steps: dict[str, float] = {}

        def progress(step: str, done: int, total: int) -> None:
            if done == 0:
                steps[step] = time.perf_counter()
            elif done == total and step in steps:
                steps[step] = time.perf_counter() - steps[step]

        started = time.perf_counter()
        async with sessions() as session, session.begin():
            await build_demo(session, settings, progress)
        built = time.perf_counter() - started
        async with sessions() as session:
            datasets = int(await session.scalar(select(func.count()).select_from(Dataset)) or 0)
            resources = int(await session.scalar(select(func.count()).select_from(Resource)) or 0)
            versions = int(await session.scalar(select(func.count()).select_from(ResourceVersion)) or 0)
            rows = int(await session.scalar(select(func.sum(ResourceVersion.row_count))) or 0)
        published = steps.get("open data", float("nan"))
        first = Row(
            backend,
            f"auto-publication of the demo city (demo built in {built:.0f} s)",
            published,
            datasets,
            resources,
            versions,
            rows,
            f"< {TARGET_SECONDS:.0f} s: {'met' if published < TARGET_SECONDS else 'MISSED'}",
        )
        started = time.perf_counter()
        # As the app's refresh runs it: each dataset in short transactions of its own.
        report = await refresh_platform(sessions, settings, utcnow())
        again = Row(
            backend,
            "refresh right after (nothing changed; the app's way, a transaction per step)",
            time.perf_counter() - started,
            len(report.datasets),
            sum(o.resources for o in report.datasets),
            report.versions,
            sum(o.rows for o in report.datasets),
            "no new version: " + ("met" if report.versions == 0 else "MISSED"),
        )
        failed = [o.name for o in report.failed]
        if failed:
            print(f"warning: datasets not published on {backend}: {', '.join(failed)}", file=sys.stderr)
        return [first, again]
    finally:
        await engine.dispose()


def print_table(rows: list[Row], command: str) -> None:
    headers = ("backend", "what", "seconds", "datasets", "resources", "versions made", "rows", "target")
    cells = [
        (
            r.backend,
            r.what,
            f"{r.seconds:.2f}",
            str(r.datasets),
            str(r.resources),
            str(r.versions),
            f"{r.rows:,}",
            r.target,
        )
        for r in rows
    ]
    print_aligned(headers, cells, f"$ {command}")


PARTS = ("publication", "search", "datastore", "export")


@dataclass
class Figure:
    figure: str
    backend: str
    measured: str
    target: str
    met: bool


def print_summary(figures: list[Figure]) -> None:
    headers = ("figure", "backend", "measured", "target", "met?")
    cells = [(f.figure, f.backend, f.measured, f.target, "yes" if f.met else "NO") for f in figures]
    print_aligned(headers, cells, "\nIssue 13's figures")


async def run_publication(args: argparse.Namespace) -> list[Figure]:
    rows: list[Row] = []
    for backend in chosen_backends(args.backend):
        async with fresh_database(backend, args.pg_url, "citoyen-bench-opendata-") as (url, data_dir):
            rows += await measure(backend, url, data_dir, args)
    print_table(rows, "auto-publication")
    return [
        Figure("auto-publication of the demo city", r.backend, f"{r.seconds:.1f} s", "< 30 s", r.seconds < 30)
        for r in rows
        if r.what.startswith("auto-publication")
    ]


async def run_search(args: argparse.Namespace) -> list[Figure]:
    rows: list[dict[str, Any]] = []
    for backend in chosen_backends(args.backend):
        prefix = "citoyen-bench-opendata-search-"
        # A database of its own beside --pg-url's (dropped and made again, then dropped).
        async with fresh_database(backend, args.pg_url + "_search", prefix) as (url, _data_dir):
            rows += await opendata_search.measure(url, args.datasets, args.calls)
    opendata_search.print_table(rows, "package_search")
    figures = []
    for backend in chosen_backends(args.backend):
        for via in sorted({r["via"] for r in rows if r["backend"] == backend}):
            mine = [r for r in rows if r["backend"] == backend and r["via"] == via]
            worst = max(mine, key=lambda r: r["p95_ms"])
            figures.append(
                Figure(
                    f"package_search, {args.datasets:,} datasets, facets: worst p95 ({via})",
                    backend,
                    f"{worst['p95_ms']:.0f} ms ({worst['query']})",
                    "< 50 ms",
                    worst["p95_ms"] < 50,
                )
            )
    return figures


async def run_datastore(args: argparse.Namespace) -> list[Figure]:
    rows: list[dict[str, Any]] = []
    for backend in chosen_backends(args.backend):
        prefix = "citoyen-bench-datastore-"
        async with fresh_database(backend, opendata_datastore.DEFAULT_PG_URL, prefix) as (url, data_dir):
            rows += await opendata_datastore.measure(url, args.rows, args.searches, data_dir)
    opendata_datastore.print_table(rows, "datastore_search")
    figures = []
    for backend in chosen_backends(args.backend):
        mine = [r for r in rows if r["backend"] == backend]
        worst = max(mine, key=lambda r: r["p95_ms"])
        figures.append(
            Figure(
                f"datastore_search with a filter, {args.rows:,} rows: worst p95 of {len(mine)} cases",
                backend,
                f"{worst['p95_ms']:.0f} ms ({worst['case']}, {worst['when']})",
                "< 100 ms",
                worst["p95_ms"] < 100,
            )
        )
    return figures


async def run_export(args: argparse.Namespace) -> list[Figure]:
    url = opendata_export.DEFAULT_PG_URL
    try:
        rows = await opendata_export.measure(url, args.observations)
    finally:
        await recreate_database(url, drop_only=True)
    opendata_export.print_table(rows, "full-history export")
    csv_row = next(row for row in rows if row["what"].startswith("GET history.csv"))
    ratio, peak = csv_row["vs COPY"], csv_row["server RSS peak MB"]
    return [
        Figure(
            f"CSV export of {args.observations:,} observations vs COPY",
            "postgresql",
            f"{ratio:.0%}",
            ">= 50 %",
            ratio >= 0.5,
        ),
        Figure("server RSS during that export", "postgresql", f"{peak:.0f} MB", "< 200 MB", peak < 200),
    ]


async def main(args: argparse.Namespace) -> None:
    runs = {"publication": run_publication, "search": run_search, "datastore": run_datastore, "export": run_export}
    figures: list[Figure] = []
    for part in args.only:
        figures += await runs[part](args)
    print(f"\n$ uv run python bench/opendata.py {' '.join(sys.argv[1:])}")
    print_summary(figures)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--citizens", type=int, default=None, help="demo residents (default: the setting's)")
    parser.add_argument("--reports", type=int, default=None, help="demo reports (default: the setting's)")
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS), help="which parts to run")
    parser.add_argument("--datasets", type=int, default=10_000, help="search: datasets in the catalogue")
    parser.add_argument("--calls", type=int, default=60, help="search: calls per kind of query and way")
    parser.add_argument("--rows", type=int, default=10_000_000, help="datastore: rows of the resource")
    parser.add_argument("--searches", type=int, default=100, help="datastore: timed searches per case")
    parser.add_argument("--observations", type=int, default=10_000_000, help="export: observations")
    asyncio.run(main(parser.parse_args()))
