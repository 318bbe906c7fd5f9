"""Open data figures, printed as a table. For now one row and its companion: the auto-publication of the demo
city (`citoyen demo` builds the city, then the platform publishes its own datasets into the catalogue; target
< 30 s), timed from the demo generator's own "open data" step, and a refresh right after it (nothing changed:
no new version) timed around `refresh_platform` (each dataset in transactions of its own, as the app does).
Other rows (package_search, datastore_search, streaming export) are in the other bench/opendata_*.py scripts.

Run: `uv run python bench/opendata.py [--backend sqlite|postgresql|both] [--pg-url URL]`. The demo is built
with `CITOYEN_DEMO_CITIZENS`/`CITOYEN_DEMO_REPORTS` at their defaults unless `--citizens`/`--reports` say
otherwise; SQLite in a temporary directory; PostgreSQL in its own database (`citoyen_bench_opendata`, dropped
and recreated, then dropped). Read the figures as what this machine gave at that moment (a shared box).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from databases import chosen_backends, fresh_database
from sqlalchemy import func, select

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
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    print(f"$ {command}")
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for cell in cells:
        print("  ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)))


async def main(args: argparse.Namespace) -> None:
    rows: list[Row] = []
    for backend in chosen_backends(args.backend):
        async with fresh_database(backend, args.pg_url, "citoyen-bench-opendata-") as (url, data_dir):
            rows += await measure(backend, url, data_dir, args)
    print_table(rows, "uv run python bench/opendata.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--citizens", type=int, default=None, help="demo residents (default: the setting's)")
    parser.add_argument("--reports", type=int, default=None, help="demo reports (default: the setting's)")
    asyncio.run(main(parser.parse_args()))
