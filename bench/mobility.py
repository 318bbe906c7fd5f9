"""The mobility figures (issue 20): matching a trip among 100,000 active trips, p95 per search (target < 100 ms),
through `mobility.find_matches` (one indexed query on the start cell's walking disk, then the days and the ranking
in Python); and a counter's year profile, p95 (target < 50 ms), through `mobility.flows.profile` on the demo
city's bicycle counters (a year and more of hourly counts, rolled up by indicators), with `--profile`.

    uv run python bench/mobility.py                       # SQLite, 100,000 trips, 200 searches
    uv run python bench/mobility.py --backend both --pg-url postgresql+asyncpg://postgres@127.0.0.1/bench_mobility
    uv run python bench/mobility.py --trips 0 --profile     # the counters' profile alone (builds the demo sensors)

Trips are simulated over Paris (2.25–2.42 E, 48.815–48.90 N): three quarters between ten busy commuting areas
(so that the busiest cells hold hundreds of trips, as real boards do), the rest anywhere; mornings and evenings,
mostly on weekdays. Searches are new trips drawn the same way."""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from datetime import timedelta
from typing import Any

from databases import chosen_backends, fresh_database
from sqlalchemy import insert, text
from tables import print_aligned

from citoyen.app import build_event_hub
from citoyen.config import Settings
from citoyen.db import make_sessionmaker, utcnow
from citoyen.demo.generator import build_demo
from citoyen.engines import make_app_engine
from citoyen.migrations import upgrade_engine
from citoyen.mobility import cells, flows
from citoyen.mobility import service as mobility
from citoyen.mobility.models import CarpoolTrip
from citoyen.people import service as people

WEST, EAST, SOUTH, NORTH = 2.25, 2.42, 48.815, 48.90


def _trip(rng: random.Random, hubs: list[tuple[float, float]], person_id: int) -> dict[str, Any]:
    def near(hub: tuple[float, float]) -> tuple[float, float]:
        return hub[0] + rng.gauss(0, 0.008), hub[1] + rng.gauss(0, 0.005)

    if rng.random() < 0.75:
        start, end = (near(hub) for hub in rng.sample(hubs, 2))
    else:
        start = rng.uniform(WEST, EAST), rng.uniform(SOUTH, NORTH)
        end = rng.uniform(WEST, EAST), rng.uniform(SOUTH, NORTH)
    leave = (7 * 60 if rng.random() < 0.6 else 17 * 60) + 5 * rng.randrange(0, 30)
    return {
        "person_id": person_id,
        "kind": "offer" if rng.random() < 0.45 else "seek",
        "status": "active",
        "from_cell": cells.cell_of(*start),
        "to_cell": cells.cell_of(*end),
        "days": 31 if rng.random() < 0.7 else rng.randrange(1, 128),
        "on_date": None,
        "window_start": leave,
        "window_end": leave + 15 * rng.randrange(2, 6),
        "seats": rng.randrange(1, 4),
        "simulated": True,
    }


async def run(backend: str, pg_url: str, args: argparse.Namespace) -> list[list[str]]:
    rows: list[list[str]] = []
    rng = random.Random(20)
    hubs = [(rng.uniform(WEST, EAST), rng.uniform(SOUTH, NORTH)) for _ in range(10)]
    async with fresh_database(backend, pg_url, "bench-mobility-") as (url, _data_dir):
        engine = make_app_engine(url)
        await upgrade_engine(engine)
        sessions = make_sessionmaker(engine, build_event_hub())
        now = utcnow()
        async with sessions() as session:
            owners = [
                (await people.create_person(session, f"bench{index}@example.org", None, f"Bench {index}")).id
                for index in range(100)
            ]
            began = time.perf_counter()
            for offset in range(0, args.trips, 10_000):
                batch = [
                    {**_trip(rng, hubs, rng.choice(owners)), "created_at": now, "expires_at": now + timedelta(days=90)}
                    for _ in range(min(10_000, args.trips - offset))
                ]
                await session.execute(insert(CarpoolTrip), batch)
            await session.commit()
            if backend == "postgresql":
                await session.execute(text("ANALYZE carpool_trips"))
                await session.commit()
            rows.append([backend, f"{args.trips:,} trips stored", f"{time.perf_counter() - began:.1f} s", ""])
        if args.profile:
            rows += await _profiles(sessions, url, backend, args.searches)
        if not args.trips:
            await engine.dispose()
            return rows
        timings = []
        found = []
        async with sessions() as session:
            for index in range(args.searches + 10):
                data = _trip(rng, hubs, owners[0])
                search = CarpoolTrip(**data, id=0, created_at=now, expires_at=now + timedelta(days=90))
                started = time.perf_counter()
                matches = await mobility.find_matches(session, search, now)
                if index >= 10:  # the first searches warm the caches and the connection
                    timings.append(time.perf_counter() - started)
                    found.append(len(matches))
        p95 = statistics.quantiles(timings, n=20)[-1] * 1000
        median = statistics.median(timings) * 1000
        rows.append([backend, "matching, median", f"{median:.1f} ms", ""])
        rows.append([backend, "matching, p95", f"{p95:.1f} ms", "< 100 ms"])
        rows.append([backend, "matches per search (mean)", f"{statistics.mean(found):.1f}", ""])
        await engine.dispose()
    return rows


async def _profiles(sessions: Any, url: str, backend: str, repeats: int) -> list[list[str]]:
    """A counter's year profile, timed on the demo's bicycle counters (built with their rollups)."""
    async with sessions() as session:
        began = time.perf_counter()
        await build_demo(
            session, Settings(database_url=url, demo_citizens=20), only=frozenset({"sensors", "indicators"})
        )
        await session.commit()
        built = time.perf_counter() - began
    cold = []
    warm = []
    cache = flows.ProfileCache()  # the app's (app.state.counter_profiles)
    async with sessions() as session:
        counters = await flows.counters(session)
        for index in range(repeats + 5):
            counter = counters[index % len(counters)]
            started = time.perf_counter()
            await flows.profile(session, counter.datastream_id)
            if index >= 5:
                cold.append(time.perf_counter() - started)
            started = time.perf_counter()
            await cache.get(session, counter.datastream_id)
            if index >= 5:
                warm.append(time.perf_counter() - started)
    return [
        [backend, f"demo sensors built ({len(counters)} counters)", f"{built:.0f} s", ""],
        [backend, "a counter's year profile computed, p95", f"{_p95(cold):.1f} ms", ""],
        [
            backend,
            "a counter's year profile as the page gets it (cached per day), p95",
            f"{_p95(warm):.1f} ms",
            "< 50 ms",
        ],
    ]


def _p95(timings: list[float]) -> float:
    return statistics.quantiles(timings, n=20)[-1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--pg-url", default="postgresql+asyncpg://postgres@127.0.0.1/bench_mobility")
    parser.add_argument("--trips", type=int, default=100_000)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--profile", action="store_true", help="also time a counter's year profile (demo sensors)")
    args = parser.parse_args()
    rows: list[list[str]] = []
    for backend in chosen_backends(args.backend):
        rows += asyncio.run(run(backend, args.pg_url, args))
    print_aligned(["backend", "figure", "measured", "target"], rows, f"carpool matching, {args.trips:,} active trips")


if __name__ == "__main__":
    main()
