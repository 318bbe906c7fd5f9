"""The project map's figure (issue 19): GET /api/projects?bbox=... over 5,000 line and polygon projects, p95 per
request (target < 100 ms), for a quartier-sized view (about 2 x 1.5 km, the map at zoom 15), an arrondissement
view (about 5 x 3 km, zoom 14) and the whole city (zoom 12: every project in one answer). Timed through the app
(route, query, GeoJSON encoding), on SQLite, PostgreSQL or both.

Each view is asked as the map asks it (with its zoom) and as a GIS client does (the box alone: every geometry
whole, the answer the map got before session 12), each twice: just after a project changed (the first request of a
new version: the projects are read and encoded) and again while nothing changed (the answer kept by the process).

    uv run python bench/projects.py
    uv run python bench/projects.py --backend both --pg-url postgresql+asyncpg://postgres@127.0.0.1/bench_projects

Projects are simulated over Paris (2.25–2.42 E, 48.815–48.90 N): two thirds streets (lines of 3 to 8 points over
300 m to 1.5 km), one third areas (squares and blocks of 40 to 300 m a side), each in one of four phases."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import random
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
from databases import chosen_backends, fresh_database
from shapely.geometry import shape
from sqlalchemy import insert, text
from tables import print_aligned

from citoyen.app import build_event_hub, create_app
from citoyen.config import Settings
from citoyen.db import make_sessionmaker, utcnow
from citoyen.engines import make_app_engine
from citoyen.migrations import upgrade_engine
from citoyen.projects.geometry import simplified
from citoyen.projects.mapcache import MapCache, bump_map_version, keep_map_answers, keep_once
from citoyen.projects.models import Project

WEST, EAST, SOUTH, NORTH = 2.25, 2.42, 48.815, 48.90
PHASES = ("study", "consultation", "works", "delivered")
THEMES = ("cycling", "mobility", "greenery", "public_space", "school")
METRE_LAT = 1 / 111_320
METRE_LON = METRE_LAT / math.cos(math.radians(48.86))


def _geometry(rng: random.Random) -> dict[str, Any]:
    lon, lat = rng.uniform(WEST, EAST), rng.uniform(SOUTH, NORTH)
    if rng.random() < 2 / 3:
        points = [[lon, lat]]
        heading = rng.uniform(0, 2 * math.pi)
        for _ in range(rng.randrange(2, 8)):
            step = rng.uniform(100, 250)
            heading += rng.gauss(0, 0.3)
            lon, lat = lon + step * math.cos(heading) * METRE_LON, lat + step * math.sin(heading) * METRE_LAT
            points.append([round(lon, 7), round(lat, 7)])
        return {"type": "LineString", "coordinates": points}
    width, height = rng.uniform(40, 300) * METRE_LON, rng.uniform(40, 300) * METRE_LAT
    ring = [[lon, lat], [lon + width, lat], [lon + width, lat + height], [lon, lat + height], [lon, lat]]
    return {"type": "Polygon", "coordinates": [[[round(x, 7), round(y, 7)] for x, y in ring]]}


def _row(rng: random.Random, index: int, now: Any) -> dict[str, Any]:
    geometry = _geometry(rng)
    ring = geometry["coordinates"] if geometry["type"] == "LineString" else geometry["coordinates"][0]
    lons, lats = [point[0] for point in ring], [point[1] for point in ring]
    return {
        "title": f"Projet simulé n° {index}",
        "title_en": f"Simulated project no. {index}",
        "description": "",
        "description_en": "",
        "phase": rng.choice(PHASES),
        "theme": rng.choice(THEMES),
        "geometry": geometry,
        "geometry_simple": simplified(shape(geometry)),
        "min_lon": min(lons),
        "min_lat": min(lats),
        "max_lon": max(lons),
        "max_lat": max(lats),
        "lon": lons[0],
        "lat": lats[0],
        "proposal_ids": [],
        "demo": True,
        "created_at": now,
        "updated_at": now,
    }


def _box(rng: random.Random, width_m: float, height_m: float) -> str:
    lon = rng.uniform(WEST + 0.02, EAST - 0.05)
    lat = rng.uniform(SOUTH + 0.01, NORTH - 0.03)
    return f"{lon:.5f},{lat:.5f},{lon + width_m * METRE_LON:.5f},{lat + height_m * METRE_LAT:.5f}"


async def idle(cache: MapCache) -> None:
    """Until the background task has nothing to rebuild or store."""
    for _ in range(3000):
        if not cache.busy and not cache.wanted:
            return
        await asyncio.sleep(0.02)


def p95_ms(timings: list[float]) -> float:
    return statistics.quantiles(timings, n=20)[-1] * 1000


async def run(backend: str, pg_url: str, args: argparse.Namespace) -> list[list[str]]:
    rows: list[list[str]] = []
    rng = random.Random(19)
    async with fresh_database(backend, pg_url, "bench-projects-") as (url, data_dir):
        engine = make_app_engine(url)
        await upgrade_engine(engine)
        sessions = make_sessionmaker(engine, build_event_hub())
        now = utcnow()
        async with sessions() as session:
            began = time.perf_counter()
            await session.execute(insert(Project), [_row(rng, index, now) for index in range(args.projects)])
            await session.commit()
            if backend == "postgresql":
                await session.execute(text("ANALYZE projects"))
                await session.commit()
            rows.append([backend, f"{args.projects:,} projects stored", f"{time.perf_counter() - began:.1f} s", "", ""])
        settings = Settings(data_dir=Path(data_dir), database_url=url, secret_key="bench-" + "x" * 40)
        app = create_app(settings, engine=engine)
        app.state.sessionmaker = sessions
        views = (
            ("quartier view (2 x 1.5 km)", 2_000, 1_500, 15),
            ("arrondissement view (5 x 3 km)", 5_000, 3_000, 14),
            ("whole city", 0, 0, 12),
        )

        async def changed() -> None:
            async with sessions() as session:
                await bump_map_version(session)
                await session.commit()

        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            for _ in range(3):  # FastAPI prepares a route on its first request
                await client.get("/api/projects", params={"bbox": _box(rng, 2_000, 1_500)})

            async def timed(params: dict[str, str]) -> tuple[float, int, bool]:
                started = time.perf_counter()
                response = await client.get("/api/projects", params=params)
                elapsed = time.perf_counter() - started
                assert response.status_code == 200, response.text
                current = response.headers["x-projects-map-current"] == "true"
                return elapsed, len(response.json()["features"]), current

            async def until_current(params: dict[str, str], since: float) -> float | None:
                """Seconds from the change until the answer served is the current version's (None: 30 s)."""
                while time.perf_counter() - since < 30:
                    if (await timed(params))[2]:
                        return time.perf_counter() - since
                    await asyncio.sleep(0.02)
                return None

            for mode in args.mode.split(","):
                cache = app.state.project_map = MapCache()
                if mode == "background":  # what a worker does when it starts: the city-wide views built
                    await keep_once(sessions, cache, app.state)
                keeper = (
                    asyncio.create_task(keep_map_answers(sessions, cache, app.state, args.interval))
                    if mode == "background"
                    else None
                )
                for name, width, height, zoom in views:
                    for asked, with_zoom in ((f"the map (zoom {zoom})", True), ("a GIS client (no zoom)", False)):
                        cold, warm, counts, stale, rebuilt = [], [], [], 0, []
                        requests = args.requests if width else max(args.requests // 10, 20)
                        for index in range(requests):
                            bbox = _box(rng, width, height) if width else f"{WEST},{SOUTH},{EAST},{NORTH}"
                            params = {"bbox": bbox, **({"zoom": str(zoom)} if with_zoom else {})}
                            if not width and index == 0:
                                await timed(params)  # its first request ever (the same box every time)
                            await idle(cache)  # a change comes when the last one is rebuilt
                            await changed()
                            since = time.perf_counter()
                            elapsed, count, current = await timed(params)
                            cold.append(elapsed)
                            counts.append(count)
                            if not current:
                                stale += 1
                                took = await until_current(params, since)
                                rebuilt.append(math.inf if took is None else took)
                            await idle(cache)
                            warm.append((await timed(params))[0])
                        note = f"{statistics.mean(counts):.0f} projects per answer"
                        by = "rebuilt in the background" if keeper else "rebuilt by the request"
                        for when, timings in (("after a change", cold), ("unchanged", warm)):
                            extra = ""
                            if when == "after a change" and stale:
                                extra = (
                                    f"; {stale}/{requests} served the previous version, current after "
                                    f"{statistics.median(rebuilt):.2f} s (median), {max(rebuilt):.2f} s (max)"
                                )
                            rows.append(
                                [
                                    backend,
                                    f"{name}, {asked}, {when}, p95 [{by}]",
                                    f"{p95_ms(timings):.1f} ms",
                                    "< 100 ms",
                                    note + extra,
                                ]
                            )
                if keeper is not None:
                    keeper.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await keeper
        await engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--pg-url", default="postgresql+asyncpg://postgres@127.0.0.1/bench_projects")
    parser.add_argument("--projects", type=int, default=5_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument(
        "--mode",
        default="request,background",
        help="who rebuilds an answer out of date: the request that finds it, the background task, or both in turn",
    )
    parser.add_argument("--interval", type=float, default=1.0, help="the background task's interval (s)")
    args = parser.parse_args()
    rows: list[list[str]] = []
    for backend in chosen_backends(args.backend):
        rows += asyncio.run(run(backend, args.pg_url, args))
    headers = ["backend", "figure", "measured", "target", "note"]
    print_aligned(headers, rows, f"the project map, {args.projects:,} line and polygon projects")


if __name__ == "__main__":
    main()
