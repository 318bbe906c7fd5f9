"""Reports at city scale: 1,000,000 reports over the Paris demo city and two years in PostgreSQL (100,000 in
SQLite), then the real server under concurrent clients: Open311 `GET requests.json` with typical filters,
the report map (whole city and one neighbourhood) and Open311 `POST requests.json`.

Run: `uv run python bench/reports.py` (both backends; `--help` for the options). PostgreSQL must answer at
127.0.0.1 (`--pg-url`); the script drops and recreates its own database (`citoyen_bench`) unless `--keep`.
Everything talks to 127.0.0.1 only; the durations are bounded and the server is stopped in every case.

Clients and server share the machine: the table says how the CPU was split between them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import secrets
import shlex
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import h3
import numpy as np
import numpy.typing as npt
import shapely
from databases import recreate_database
from loadgen import Client, HttpError, Measurement, serve
from shapely.geometry import shape
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from citoyen.app import build_event_hub
from citoyen.config import Settings
from citoyen.db import make_engine, make_sessionmaker
from citoyen.demo.generator import build_demo
from citoyen.migrations import upgrade_database_async
from citoyen.people import service as people
from citoyen.reports import service as reports
from citoyen.reports.models import AttributeType, Category, Report, ReportStatus, RoutingRule
from citoyen.territory import service as territory
from citoyen.territory.models import Neighbourhood

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/citoyen_bench"
DEFAULT_SQLITE_DIR = Path(tempfile.gettempdir()) / "citoyen-bench-sqlite"
DEFAULT_ROWS = {"postgresql": 1_000_000, "sqlite": 100_000}
DEFAULT_WORKERS = {"postgresql": 2, "sqlite": 2}
LOOPBACK = ("127.0.0.1", "localhost", "::1")
YEARS_DAYS = 730
SEED = 2026
CHUNK = 100_000

OPEN311_PATH = "/open311/v2/requests.json"
MAP_PATH = "/api/reports/map"


# --- what the city looks like -----------------------------------------------------------------


@dataclass(frozen=True)
class CategorySpec:
    code: str
    name: str
    name_en: str
    department: str
    weight: float
    descriptions: tuple[str, ...]
    # An Open311 attribute: (code, required, allowed values); filled in on loaded and posted reports.
    attribute: tuple[str, bool, tuple[str, ...]] | None = None


# Codes carry a prefix so that they never collide with the demo city's own categories.
CATEGORIES = (
    CategorySpec(
        "bench-pothole",
        "Nid-de-poule",
        "Pothole",
        "voirie",
        0.20,
        (
            "Nid-de-poule profond sur la chaussée",
            "Trou dans la chaussée devant l'école",
            "Chaussée défoncée au niveau du passage piéton",
            "Deep pothole in the cycle lane",
        ),
        ("depth", True, ("small", "medium", "deep")),
    ),
    CategorySpec(
        "bench-street-light",
        "Éclairage en panne",
        "Street light out",
        "eclairage",
        0.12,
        ("Lampadaire éteint depuis plusieurs jours", "Éclairage qui clignote toute la nuit", "Street light out"),
        ("pole_number", False, ()),
    ),
    CategorySpec(
        "bench-graffiti",
        "Graffiti",
        "Graffiti",
        "proprete",
        0.14,
        ("Tags sur la façade", "Graffiti sur le mobilier urbain", "Graffiti on the bus shelter"),
    ),
    CategorySpec(
        "bench-bulky-waste",
        "Encombrants",
        "Bulky waste",
        "proprete",
        0.18,
        ("Matelas abandonné sur le trottoir", "Dépôt sauvage d'encombrants", "Old fridge left on the pavement"),
    ),
    CategorySpec(
        "bench-overflowing-bin",
        "Corbeille pleine",
        "Overflowing bin",
        "proprete",
        0.10,
        ("Corbeille qui déborde", "Poubelles non ramassées", "Overflowing litter bin"),
    ),
    CategorySpec(
        "bench-tree",
        "Arbre dangereux",
        "Dangerous tree",
        "espaces-verts",
        0.06,
        ("Branche cassée au-dessus du trottoir", "Arbre penché après la tempête", "Fallen branch"),
    ),
    CategorySpec(
        "bench-parking",
        "Stationnement gênant",
        "Obstructive parking",
        "mobilite",
        0.12,
        ("Voiture garée sur la piste cyclable", "Stationnement sur le passage piéton", "Van blocking the pavement"),
    ),
    CategorySpec(
        "bench-water-leak",
        "Fuite d'eau",
        "Water leak",
        "proprete",
        0.08,
        ("Fuite d'eau sur la voie publique", "Bouche d'arrosage qui fuit", "Water leaking from a hydrant"),
    ),
)
# Neighbourhood-specific routing: parking in Paris Centre (arrondissements 1-4) goes to the roads department.
SPECIFIC_ROUTING = ("bench-parking", (1, 2, 3, 4), "voirie")
STATUSES = np.array(["open", "acknowledged", "in_progress", "closed"])
CLOSE_REASONS = np.array(["fixed", "duplicate", "not_responsible", "not_found", "no_action"])
CLOSE_REASON_WEIGHTS = (0.75, 0.08, 0.07, 0.06, 0.04)
STATUS_NOTES = np.array(
    [
        "Intervention réalisée, merci pour votre signalement.",
        "Doublon d'un signalement existant.",
        "Ce problème ne relève pas de la Ville ; transmis au gestionnaire.",
        "Nous n'avons pas constaté le problème sur place.",
        "Aucune intervention n'est prévue.",
    ]
)


@dataclass(frozen=True)
class Quartier:
    id: int
    geometry: Any  # a shapely (multi)polygon
    bounds: tuple[float, float, float, float]
    area_m2: float
    arrondissement: int


@dataclass(frozen=True)
class LoadedCategory:
    id: int
    spec: CategorySpec


@dataclass
class City:
    """What the loader and the clients need to know about the database they work on."""

    quartiers: list[Quartier]
    categories: list[LoadedCategory]
    routing: dict[tuple[int, int | None], int]
    bbox: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)

    def department(self, category_id: int, neighbourhood_id: int | None) -> int | None:
        specific = self.routing.get((category_id, neighbourhood_id))
        return specific if specific is not None else self.routing.get((category_id, None))


# --- databases --------------------------------------------------------------------------------


@dataclass
class Backend:
    name: str  # "postgresql" or "sqlite"
    url: str
    data_dir: Path
    rows: int

    @property
    def is_pg(self) -> bool:
        return self.name == "postgresql"


def check_loopback(url: str) -> None:
    host = make_url(url).host
    if host not in LOOPBACK:
        sys.exit(f"error: {url} is not on 127.0.0.1; this benchmark only talks to the loopback interface")


async def recreate_pg_database(url: str) -> None:
    await recreate_database(url)


async def pg_database_exists(url: str) -> bool:
    database = make_url(url).database
    maintenance = make_url(url).set(database="postgres")
    engine = make_engine(maintenance.render_as_string(hide_password=False))
    try:
        async with engine.connect() as conn:
            found = await conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database})
            return found.first() is not None
    finally:
        await engine.dispose()


async def report_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(Report))).scalar_one())


async def build_city(backend: Backend) -> None:
    """Schema, the demo city (territory, departments, a few residents), the bench categories and routing."""
    await upgrade_database_async(backend.url)
    # A small demo city: the benchmark brings its own categories and reports (none from the demo).
    overrides: dict[str, Any] = {"demo_citizens": 100, "demo_reports": 0, "demo_seed": SEED}
    settings = Settings(database_url=backend.url, data_dir=backend.data_dir, **overrides)
    engine = make_engine(backend.url)
    try:
        async with make_sessionmaker(engine, build_event_hub())() as session, session.begin():
            await build_demo(session, settings)
            departments = {d.code: d.id for d in await people.list_departments(session)}
            neighbourhoods = await territory.list_neighbourhoods(session)
            for position, spec in enumerate(CATEGORIES):
                attributes = []
                if spec.attribute is not None:
                    code, required, values = spec.attribute
                    attributes.append(
                        reports.AttributeInput(
                            code=code,
                            datatype=AttributeType.SINGLE if values else AttributeType.STRING,
                            description=code.replace("_", " "),
                            required=required,
                            values=[{"key": v, "name": v} for v in values],
                        )
                    )
                category = await reports.save_category(
                    session,
                    reports.CategoryInput(code=spec.code, name=spec.name, name_en=spec.name_en, attributes=attributes),
                )
                category.position = position
                await reports.set_routing_rule(session, category.id, departments[spec.department])
                if spec.code == SPECIFIC_ROUTING[0]:
                    for neighbourhood in neighbourhoods:
                        if int(neighbourhood.properties.get("c_ar", 0)) in SPECIFIC_ROUTING[1]:
                            await reports.set_routing_rule(
                                session, category.id, departments[SPECIFIC_ROUTING[2]], neighbourhood.id
                            )
    finally:
        await engine.dispose()


async def read_city(engine: AsyncEngine) -> City:
    async with make_sessionmaker(engine, build_event_hub())() as session:
        specs = {spec.code: spec for spec in CATEGORIES}
        categories = [
            LoadedCategory(c.id, specs[c.code])
            for c in (await session.execute(select(Category).where(Category.code.in_(specs)))).scalars()
        ]
        categories.sort(key=lambda c: c.spec.code)
        routing = {
            (r.category_id, r.neighbourhood_id): r.department_id
            for r in (await session.execute(select(RoutingRule))).scalars()
        }
        quartiers = [
            Quartier(
                n.id,
                shape(n.geometry),
                (n.min_lon, n.min_lat, n.max_lon, n.max_lat),
                n.area_m2,
                int(n.properties.get("c_ar", 0)),
            )
            for n in (await session.execute(select(Neighbourhood).order_by(Neighbourhood.position))).scalars()
        ]
    if len(categories) != len(CATEGORIES) or not quartiers:
        sys.exit("error: the database lacks the bench categories or the territory; run without --keep")
    bbox = (
        min(q.bounds[0] for q in quartiers),
        min(q.bounds[1] for q in quartiers),
        max(q.bounds[2] for q in quartiers),
        max(q.bounds[3] for q in quartiers),
    )
    return City(quartiers, categories, routing, bbox)


# --- generating reports -----------------------------------------------------------------------

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def points_in_city(city: City, n: int, rng: np.random.Generator) -> tuple[FloatArray, FloatArray]:
    """`n` random points inside the quartiers, more in some than others (area times a random appeal),
    by rejection sampling in each quartier's bounding box."""
    weights = np.array([q.area_m2 for q in city.quartiers]) * rng.lognormal(0.0, 0.6, len(city.quartiers))
    counts = rng.multinomial(n, weights / weights.sum())
    lons: list[FloatArray] = []
    lats: list[FloatArray] = []
    for quartier, count in zip(city.quartiers, counts, strict=True):
        minx, miny, maxx, maxy = quartier.bounds
        fill = max(quartier.geometry.area / ((maxx - minx) * (maxy - miny)), 0.05)
        need = int(count)
        while need > 0:
            size = int(need / fill * 1.2) + 16
            xs = rng.uniform(minx, maxx, size)
            ys = rng.uniform(miny, maxy, size)
            inside = shapely.contains_xy(quartier.geometry, xs, ys)
            lons.append(xs[inside][:need])
            lats.append(ys[inside][:need])
            need -= min(int(inside.sum()), need)
    order = rng.permutation(n)
    return np.concatenate(lons)[order], np.concatenate(lats)[order]


@dataclass
class Generated:
    """Column arrays of `n` reports, oldest first (ids grow with time, as they would)."""

    lon: FloatArray
    lat: FloatArray
    category: IntArray  # index into City.categories
    requested_us: IntArray  # microseconds since the epoch
    updated_us: IntArray
    closed_us: IntArray  # -1: not closed
    status: IntArray  # index into STATUSES
    close_reason: IntArray  # index into CLOSE_REASONS, -1 when open
    description: IntArray  # index into the category's descriptions
    answer: IntArray  # index into the category's attribute values
    supports: IntArray
    open311: npt.NDArray[np.bool_]


def generate(city: City, n: int, now: datetime, seed: int) -> Generated:
    rng = np.random.default_rng(seed)
    lon, lat = points_in_city(city, n, rng)
    weights = np.array([c.spec.weight for c in city.categories])
    category = rng.choice(len(city.categories), n, p=weights / weights.sum())
    # Half uniform over two years, half growing linearly towards today: recent months are denser.
    u = rng.random(n)
    position = np.where(rng.random(n) < 0.5, u, np.sqrt(u))
    span_us = YEARS_DAYS * 86_400 * 1_000_000
    now_us = int(now.timestamp() * 1_000_000)
    requested = np.sort(now_us - ((1.0 - position) * span_us).astype(np.int64))
    age_days = (now_us - requested) / 86_400e6
    # Status by age: most reports are closed within weeks; recent ones are still being handled.
    closed = rng.random(n) < np.clip(1.0 - np.exp(-age_days / 12.0), 0.0, 0.97)
    handled = rng.random(n)
    status = np.where(
        closed,
        3,
        np.where(
            age_days < 2,
            np.where(handled < 0.7, 0, np.where(handled < 0.9, 1, 2)),
            np.searchsorted([0.3, 0.65], handled),
        ),
    ).astype(np.int64)
    close_delay_us = (rng.exponential(7.0, n) * 86_400e6).astype(np.int64)
    closed_us = np.where(closed, np.minimum(requested + close_delay_us, now_us), -1)
    touched_us = requested + (rng.random(n) * (now_us - requested) * 0.5).astype(np.int64)
    updated_us = np.where(closed, closed_us, np.where(status == 0, requested, touched_us))
    close_reason = np.where(closed, rng.choice(len(CLOSE_REASONS), n, p=CLOSE_REASON_WEIGHTS), -1)
    return Generated(
        lon=lon,
        lat=lat,
        category=category.astype(np.int64),
        requested_us=requested,
        updated_us=updated_us.astype(np.int64),
        closed_us=closed_us.astype(np.int64),
        status=status,
        close_reason=close_reason.astype(np.int64),
        description=rng.integers(0, 1_000_000, n),
        answer=rng.integers(0, 1_000_000, n),
        supports=(rng.geometric(0.6, n) - 1).astype(np.int64),
        open311=rng.random(n) < 0.35,
    )


REPORT_COLUMNS = (
    "id",
    "category_id",
    "status",
    "close_reason",
    "description",
    "lon",
    "lat",
    "address",
    "address_id",
    "zipcode",
    "neighbourhood_id",
    "h3_r6",
    "h3_r8",
    "h3_r10",
    "department_id",
    "status_notes",
    "attributes",
    "media_url",
    "supports",
    "duplicate_of_id",
    "source",
    "token",
    "requested_at",
    "updated_at",
    "expected_at",
    "closed_at",
)
EVENT_COLUMNS = ("report_id", "at", "kind", "status", "public", "text", "actor_id")
DateConverter = Callable[[IntArray], list[Any]]


def pg_dates(us: IntArray) -> list[Any]:
    """Aware datetimes for asyncpg (NULL where negative)."""
    naive = np.where(us < 0, np.datetime64("NaT"), us.astype("datetime64[us]")).tolist()
    return [None if d is None else d.replace(tzinfo=UTC) for d in naive]


def sqlite_dates(us: IntArray) -> list[Any]:
    """Naive UTC in SQLAlchemy's SQLite storage format ("YYYY-MM-DD HH:MM:SS.ffffff"), NULL where negative."""
    texts = np.datetime_as_string(us.astype("datetime64[us]"), unit="us").tolist()
    return [None if value < 0 else t.replace("T", " ") for t, value in zip(texts, us.tolist(), strict=True)]


def report_rows(
    city: City,
    data: Generated,
    index: territory.TerritoryIndex,
    start: int,
    stop: int,
    first_id: int,
    dates: DateConverter,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Rows for the reports and their "created" events, [start, stop) of the generated data."""
    lons = data.lon[start:stop].tolist()
    lats = data.lat[start:stop].tolist()
    neighbourhoods = index.locate_many(lons, lats)
    zipcodes = {q.id: f"750{q.arrondissement:02d}" for q in city.quartiers}
    requested = dates(data.requested_us[start:stop])
    updated = dates(data.updated_us[start:stop])
    closed = dates(data.closed_us[start:stop])
    statuses = STATUSES[data.status[start:stop]].tolist()
    reasons = data.close_reason[start:stop].tolist()
    rows: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    for i in range(stop - start):
        k = start + i
        category = city.categories[int(data.category[k])]
        spec = category.spec
        lon, lat, neighbourhood_id = lons[i], lats[i], neighbourhoods[i]
        attributes = "{}"
        if spec.attribute is not None:
            code, _required, values = spec.attribute
            answer = values[int(data.answer[k]) % len(values)] if values else f"P{int(data.answer[k]) % 9000 + 1000}"
            attributes = json.dumps({code: answer})
        reason = reasons[i]
        report_id = first_id + k
        rows.append(
            (
                report_id,
                category.id,
                statuses[i],
                None if reason < 0 else str(CLOSE_REASONS[reason]),
                spec.descriptions[int(data.description[k]) % len(spec.descriptions)],
                lon,
                lat,
                "",
                "",
                zipcodes.get(neighbourhood_id or 0, ""),
                neighbourhood_id,
                h3.latlng_to_cell(lat, lon, 6),
                h3.latlng_to_cell(lat, lon, 8),
                h3.latlng_to_cell(lat, lon, 10),
                city.department(category.id, neighbourhood_id),
                "" if reason < 0 else str(STATUS_NOTES[reason]),
                attributes,
                "",
                int(data.supports[k]),
                None,
                "open311" if data.open311[k] else "web",
                secrets.token_urlsafe(18),
                requested[i],
                updated[i],
                None,
                closed[i],
            )
        )
        events.append((report_id, requested[i], "created", "open", True, "", None))
    return rows, events


@dataclass
class LoadResult:
    rows: int
    seconds: float
    generate_seconds: float
    index_seconds: float
    analyze_seconds: float
    last_week: int  # reports written with requested_at in the 7 days before the load
    count_seconds: float = 0.0  # rebuilding the map counts (rebuild_map_counts)


def last_week(data: Generated, now: datetime) -> int:
    return int((data.requested_us >= int((now - timedelta(days=7)).timestamp() * 1e6)).sum())


async def next_report_id(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.coalesce(func.max(Report.id), 0)))).scalar_one()) + 1


async def load_postgresql(backend: Backend, city: City, engine: AsyncEngine) -> LoadResult:
    """COPY the reports and their events; secondary indexes are dropped first and rebuilt after (the
    usual bulk-load recipe: one sort per index instead of a million random insertions)."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    first_id = await next_report_id(engine)
    data = generate(city, backend.rows, now, SEED)
    index = territory.TerritoryIndex("bench", [(q.id, q.geometry) for q in city.quartiers])
    generate_seconds = 0.0
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.execute("SET synchronous_commit = off")
        await raw.execute("SET maintenance_work_mem = '256MB'")
        # Foreign keys are checked once after the load (check_loaded), not row by row.
        await raw.execute("SET session_replication_role = replica")
        definitions = await raw.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
            "AND tablename IN ('reports', 'report_events') "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
        for definition in definitions:
            await raw.execute(f'DROP INDEX "{definition["indexname"]}"')

        # Rows for the next chunk are built in a thread while PostgreSQL ingests the current one.
        def build(start: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], float]:
            tick = time.perf_counter()
            rows, events = report_rows(city, data, index, start, min(start + CHUNK, backend.rows), first_id, pg_dates)
            return rows, events, time.perf_counter() - tick

        starts = list(range(0, backend.rows, CHUNK))
        pending = asyncio.ensure_future(asyncio.to_thread(build, starts[0]))
        for position, start in enumerate(starts):
            rows, events, spent = await pending
            generate_seconds += spent
            if position + 1 < len(starts):
                pending = asyncio.ensure_future(asyncio.to_thread(build, starts[position + 1]))
            await raw.copy_records_to_table("reports", records=rows, columns=REPORT_COLUMNS)
            await raw.copy_records_to_table("report_events", records=events, columns=EVENT_COLUMNS)
            done = min(start + CHUNK, backend.rows)
            print(
                f"  {done:>10,} / {backend.rows:,} reports copied ({time.perf_counter() - started:.0f} s)", flush=True
            )
        await raw.execute("SELECT setval(pg_get_serial_sequence('reports', 'id'), (SELECT max(id) FROM reports))")
        tick = time.perf_counter()
        for definition in definitions:
            await raw.execute(definition["indexdef"])
        index_seconds = time.perf_counter() - tick
        tick = time.perf_counter()
        # What autovacuum would have done on a live database: statistics and the visibility map.
        await raw.execute("VACUUM (ANALYZE) reports, report_events")
        analyze_seconds = time.perf_counter() - tick
    return LoadResult(
        backend.rows,
        time.perf_counter() - started,
        generate_seconds,
        index_seconds,
        analyze_seconds,
        last_week(data, now),
    )


def sqlite_path(url: str) -> str:
    return url.split("///", 1)[1]


def sqlite_exists(url: str) -> bool:
    return Path(sqlite_path(url)).exists()


async def load_sqlite(backend: Backend, city: City, engine: AsyncEngine) -> LoadResult:
    """executemany in one transaction per chunk, secondary indexes rebuilt after."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    first_id = await next_report_id(engine)
    await engine.dispose()
    data = generate(city, backend.rows, now, SEED)
    index = territory.TerritoryIndex("bench", [(q.id, q.geometry) for q in city.quartiers])
    generate_seconds = 0.0
    db = sqlite3.connect(sqlite_path(backend.url), isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=OFF")
        definitions = db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND tbl_name IN ('reports', 'report_events')"
        ).fetchall()
        for name, _sql in definitions:
            db.execute(f'DROP INDEX "{name}"')
        report_sql = (
            f"INSERT INTO reports ({', '.join(REPORT_COLUMNS)}) VALUES ({', '.join('?' * len(REPORT_COLUMNS))})"
        )
        event_sql = (
            f"INSERT INTO report_events ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join('?' * len(EVENT_COLUMNS))})"
        )
        for start in range(0, backend.rows, CHUNK):
            stop = min(start + CHUNK, backend.rows)
            tick = time.perf_counter()
            rows, events = report_rows(city, data, index, start, stop, first_id, sqlite_dates)
            generate_seconds += time.perf_counter() - tick
            db.execute("BEGIN")
            db.executemany(report_sql, rows)
            db.executemany(event_sql, events)
            db.execute("COMMIT")
            print(
                f"  {stop:>10,} / {backend.rows:,} reports inserted ({time.perf_counter() - started:.0f} s)", flush=True
            )
        tick = time.perf_counter()
        for _name, sql in definitions:
            db.execute(sql)
        index_seconds = time.perf_counter() - tick
        tick = time.perf_counter()
        db.execute("ANALYZE")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        analyze_seconds = time.perf_counter() - tick
    finally:
        db.close()
    return LoadResult(
        backend.rows,
        time.perf_counter() - started,
        generate_seconds,
        index_seconds,
        analyze_seconds,
        last_week(data, now),
    )


ORPHANS = """
SELECT (SELECT count(*) FROM reports r WHERE r.neighbourhood_id IS NULL OR r.department_id IS NULL
        OR NOT EXISTS (SELECT 1 FROM report_categories c WHERE c.id = r.category_id)
        OR NOT EXISTS (SELECT 1 FROM neighbourhoods n WHERE n.id = r.neighbourhood_id)
        OR NOT EXISTS (SELECT 1 FROM departments d WHERE d.id = r.department_id))
     + (SELECT count(*) FROM report_events e WHERE NOT EXISTS (SELECT 1 FROM reports r WHERE r.id = e.report_id))
"""


async def check_loaded(engine: AsyncEngine, expected_last_week: int) -> None:
    """The app's own search must see what was written (dates, statuses and ids in the right format)."""
    async with make_sessionmaker(engine, build_event_hub())() as session:
        week = await reports.count_reports(
            session, reports.ReportFilters(start=datetime.now(UTC) - timedelta(days=7) + timedelta(minutes=5))
        )
        open_ = await reports.count_reports(session, reports.ReportFilters(statuses=[ReportStatus.OPEN]))
        # Foreign keys were not checked during the load (PostgreSQL): check them all now.
        orphans = int((await session.execute(text(ORPHANS))).scalar_one())
    if not (0.9 * expected_last_week <= week <= expected_last_week) or open_ == 0 or orphans:
        sys.exit(
            f"error: loaded data looks wrong (last week {week} vs {expected_last_week} written, "
            f"{open_} open, {orphans} without neighbourhood or department or with a dangling reference)"
        )


async def prepare(backend: Backend, keep: bool) -> tuple[City, LoadResult | None, int]:
    """The database ready to serve: reused with --keep when it holds reports, else rebuilt and loaded."""
    if backend.is_pg:
        exists = await pg_database_exists(backend.url)
    else:
        exists = sqlite_exists(backend.url)
    if keep and exists:
        engine = make_engine(backend.url)
        try:
            rows = await report_count(engine)
            if rows:
                print(f"{backend.name}: reusing {rows:,} reports (--keep)")
                return await read_city(engine), None, rows
        finally:
            await engine.dispose()
    print(f"{backend.name}: building the demo city and loading {backend.rows:,} reports")
    if backend.is_pg:
        await recreate_pg_database(backend.url)
    else:
        shutil.rmtree(backend.data_dir, ignore_errors=True)
        backend.data_dir.mkdir(parents=True)
    tick = time.perf_counter()
    await build_city(backend)
    print(f"{backend.name}: schema, demo city, categories and routing in {time.perf_counter() - tick:.1f} s")
    engine = make_engine(backend.url)
    try:
        city = await read_city(engine)
        loader = load_postgresql if backend.is_pg else load_sqlite
        result = await loader(backend, city, engine)
        tick = time.perf_counter()
        async with make_sessionmaker(engine, build_event_hub())() as session, session.begin():
            await reports.rebuild_map_counts(session)
            for table in ("report_map_counts", "report_map_totals"):
                await session.execute(text(f"ANALYZE {table}"))
        result.count_seconds = time.perf_counter() - tick
        result.seconds += result.count_seconds
        await check_loaded(engine, result.last_week)
        rows = await report_count(engine)
    finally:
        await engine.dispose()
    return city, result, rows


async def create_open311_key(url: str) -> str:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine, build_event_hub())() as session, session.begin():
            _token, secret = await people.create_api_token(session, f"bench {secrets.token_hex(3)}", ["open311"])
        return secret
    finally:
        await engine.dispose()


# --- the server -------------------------------------------------------------------------------


async def routes_of(base_url: str) -> list[re.Pattern[str]]:
    """The app's routes, from its OpenAPI document, as patterns (`/open311/v2/requests.{fmt}`)."""
    client = Client(base_url)
    try:
        spec = json.loads((await client.get("/openapi.json")).body)
    except (HttpError, ValueError):
        return []
    finally:
        await client.close()
    return [re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path))) for path in spec.get("paths", {})]


# --- CPU accounting ---------------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class CpuSnapshot:
    at: float
    busy: float  # seconds, all cores
    processes: dict[int, tuple[int, str, float]]  # pid -> (parent, name, cpu seconds)


def cpu_snapshot() -> CpuSnapshot:
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    busy = (sum(fields[:8]) - fields[3] - fields[4]) / TICK
    processes: dict[int, tuple[int, str, float]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                raw = stat.read()
        except OSError:
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        rest = raw[raw.rindex(")") + 2 :].split()
        processes[int(entry.name)] = (int(rest[1]), name, (int(rest[11]) + int(rest[12])) / TICK)
    return CpuSnapshot(time.monotonic(), busy, processes)


def cpu_split(before: CpuSnapshot, after: CpuSnapshot, server_pid: int) -> dict[str, float]:
    """Percent of one core used by this client, the app server (and each of its processes, `server:PID`),
    PostgreSQL and everything else."""
    wall = after.at - before.at
    parents = {pid: parent for pid, (parent, _name, _cpu) in after.processes.items()}

    def under_server(pid: int) -> bool:
        while pid > 1:
            if pid == server_pid:
                return True
            pid = parents.get(pid, 0)
        return False

    split = {"client": 0.0, "server": 0.0, "postgres": 0.0}
    for pid, (_parent, name, cpu) in after.processes.items():
        used = cpu - before.processes.get(pid, (0, "", 0.0))[2]
        if pid == os.getpid():
            split["client"] += used
        elif under_server(pid):
            split["server"] += used
            split[f"server:{pid}"] = used
        elif name == "postgres":
            split["postgres"] += used
    total = after.busy - before.busy
    split["other"] = max(total - sum(split[key] for key in ("client", "server", "postgres")), 0.0)
    return {key: 100 * value / wall for key, value in split.items()}


# --- load generation --------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    label: str
    method: str
    path: str
    params: dict[str, str] | None = None
    form: dict[str, str] | None = None


@dataclass
class Scenario:
    name: str
    route: str
    target: str
    make: Callable[[random.Random], Request]
    passes: Callable[[Measurement], bool]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def scenarios(
    city: City, api_keys: list[str], id_range: tuple[int, int], post_points: list[tuple[float, float]]
) -> list[Scenario]:
    codes = [c.spec.code for c in city.categories]
    weights = [c.spec.weight for c in city.categories]
    low, high = id_range
    minx, miny, maxx, maxy = city.bbox
    city_bbox = f"{minx:.5f},{miny:.5f},{maxx:.5f},{maxy:.5f}"

    def open311_get(rng: random.Random) -> Request:
        now = datetime.now(UTC)
        code = rng.choices(codes, weights)[0]
        match rng.randrange(4):
            case 0:
                params = {"service_code": code, "start_date": iso(now - timedelta(days=7)), "end_date": iso(now)}
                return Request("last 7 days, one service", "GET", OPEN311_PATH, params)
            case 1:
                params = {
                    "service_code": code,
                    "status": "open",
                    "start_date": iso(now - timedelta(days=30)),
                    "end_date": iso(now),
                }
                return Request("open, one service, 30 days", "GET", OPEN311_PATH, params)
            case 2:
                ids = ",".join(str(rng.randint(low, high)) for _ in range(10))
                return Request("10 service_request_ids", "GET", OPEN311_PATH, {"service_request_id": ids})
            case _:
                return Request("default (90 days, max 1000)", "GET", OPEN311_PATH, {})

    def map_city(rng: random.Random) -> Request:
        zoom = rng.choice((11, 12))
        return Request(f"zoom {zoom}", "GET", MAP_PATH, {"zoom": str(zoom), "bbox": city_bbox})

    def map_neighbourhood(rng: random.Random) -> Request:
        quartier = rng.choice(city.quartiers)
        zoom = rng.choice((14, 15))
        bbox = ",".join(f"{v:.5f}" for v in quartier.bounds)
        return Request(
            f"zoom {zoom}", "GET", MAP_PATH, {"zoom": str(zoom), "bbox": bbox, "neighbourhood": str(quartier.id)}
        )

    def open311_post(rng: random.Random) -> Request:
        category = rng.choices(city.categories, weights)[0]
        lon, lat = rng.choice(post_points)
        form = {
            "api_key": rng.choice(api_keys),
            "service_code": category.spec.code,
            "lat": f"{lat:.6f}",
            "long": f"{lon:.6f}",
            "description": rng.choice(category.spec.descriptions),
        }
        if rng.random() < 0.5:
            form["email"] = f"reporter{rng.randrange(100_000)}@example.org"
        if category.spec.attribute is not None:
            code, _required, values = category.spec.attribute
            form[f"attribute[{code}]"] = rng.choice(values) if values else f"P{rng.randrange(1000, 9999)}"
        return Request("form-encoded, 50 % with e-mail", "POST", OPEN311_PATH, form=form)

    def p95_below(limit_ms: float) -> Callable[[Measurement], bool]:
        return lambda m: m.error_count == 0 and m.p(95) < limit_ms

    return [
        Scenario("GET requests.json, typical filters", OPEN311_PATH, "p95 < 50 ms", open311_get, p95_below(50)),
        Scenario("map, whole city", MAP_PATH, "p95 < 100 ms", map_city, p95_below(100)),
        Scenario("map, one neighbourhood", MAP_PATH, "p95 < 100 ms", map_neighbourhood, p95_below(100)),
        Scenario(
            "POST requests.json",
            OPEN311_PATH,
            "≥ 500/s, 0 errors",
            open311_post,
            lambda m: m.error_count == 0 and m.throughput >= 500,
        ),
    ]


async def sample_waits(url: str, stop: asyncio.Event, waits: Counter[str]) -> None:
    """What the app's PostgreSQL sessions are doing, sampled every 100 ms (pg_stat_activity)."""
    database = make_url(url).database
    engine = make_engine(url, pool_size=1)
    query = text(
        "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
        "WHERE datname = :d AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
    )
    try:
        async with engine.connect() as conn:
            while not stop.is_set():
                for state, kind, event in (await conn.execute(query, {"d": database})).all():
                    if state == "active":
                        waits["active: " + (f"{kind}:{event}" if kind else "on CPU")] += 1
                    elif state == "idle in transaction":
                        waits["idle in transaction (app working)"] += 1
                    else:
                        waits[str(state)] += 1
                await conn.rollback()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.1)
    finally:
        await engine.dispose()


async def measure(
    base_url: str,
    scenario: Scenario,
    concurrency: int,
    duration: float,
    warmup: float,
    server_pid: int,
    pg_url: str | None,
) -> Measurement:
    """`concurrency` clients, each sending its next request as soon as the previous one is answered."""
    result = Measurement()
    started = time.perf_counter()
    measure_from = started + warmup
    end = measure_from + duration
    stop_sampling = asyncio.Event()
    sampler: asyncio.Task[None] | None = None

    async def one_client(index: int) -> None:
        rng = random.Random(SEED + index)
        client = Client(base_url)
        # Staggered first connections: uvicorn's workers share one listening socket and an idle worker
        # accepts every pending connection at once, so a burst of connects would all land on one worker.
        await asyncio.sleep(index * warmup / (2 * concurrency))
        try:
            while (now := time.perf_counter()) < end:
                request = scenario.make(rng)
                tick = time.perf_counter()
                try:
                    answer = await client.request(request.method, request.path, request.params, request.form)
                    problem = "" if 200 <= answer.status < 300 else f"HTTP {answer.status}: {answer.text[:160]}"
                except HttpError as exc:
                    problem = str(exc)[:200]
                if now >= measure_from:
                    result.record(request.label, time.perf_counter() - tick, problem)
        finally:
            await client.close()

    async def measuring_window() -> None:
        nonlocal sampler
        await asyncio.sleep(max(measure_from - time.perf_counter(), 0))
        before = cpu_snapshot()
        if pg_url is not None:
            sampler = asyncio.create_task(sample_waits(pg_url, stop_sampling, result.waits))
        await asyncio.sleep(max(end - time.perf_counter(), 0))
        stop_sampling.set()
        result.cpu = cpu_split(before, cpu_snapshot(), server_pid)

    await asyncio.gather(measuring_window(), *(one_client(i) for i in range(concurrency)))
    if sampler is not None:
        await sampler
    result.seconds = duration
    return result


# --- the run ----------------------------------------------------------------------------------


def int_list(value: str) -> list[int]:
    try:
        numbers = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a comma-separated list of integers") from None
    if not numbers or min(numbers) < 1:
        raise argparse.ArgumentTypeError("give positive integers")
    return numbers


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--backend", choices=("postgresql", "sqlite", "both"), default="both")
    parser.add_argument("--rows", type=int, help="reports to load (default 1,000,000 PostgreSQL, 100,000 SQLite)")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds measured per operation (default 15)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds sent before measuring (default 3)")
    parser.add_argument(
        "--concurrency", type=int_list, default=[16], help="concurrent clients; a list runs each (default 16)"
    )
    parser.add_argument(
        "--workers", type=int_list, help="uvicorn workers; a list runs each (default 2 PostgreSQL, 1 SQLite)"
    )
    parser.add_argument(
        "--post-keys", type=int, default=1, help="Open311 api_keys the POST clients share (default 1: one partner)"
    )
    parser.add_argument("--keep", action="store_true", help="reuse the loaded database when there is one")
    parser.add_argument("--load-only", action="store_true", help="load the database(s) and stop")
    parser.add_argument("--only", help="run only the operations whose name contains this text (e.g. POST, map)")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help=f"the benchmark's own database ({DEFAULT_PG_URL})")
    parser.add_argument("--sqlite-dir", type=Path, default=DEFAULT_SQLITE_DIR, help=f"(default {DEFAULT_SQLITE_DIR})")
    return parser.parse_args(argv)


@dataclass
class Row:
    operation: str
    workers: int | str
    clients: int | str
    rows: int
    requests: int | str
    errors: int | str
    p50: float | None
    p95: float | None
    throughput: float
    target: str = ""
    met: str = ""
    cpu: str = ""


def print_table(title: str, rows: list[Row]) -> None:
    def ms(value: float | None) -> str:
        return "" if value is None or value != value else f"{value:.1f}"

    header = (
        f"{'operation':<38}{'workers':>8}{'clients':>8}{'rows':>11}{'requests':>10}{'errors':>8}"
        f"{'p50 ms':>9}{'p95 ms':>9}{'req/s':>9}  {'target':<18}{'met?':<6}{'CPU % of a core: client/app/pg/other'}"
    )
    print(f"\n{title}")
    print(header)
    print("-" * len(header))
    for row in rows:
        requests = f"{row.requests:,}" if isinstance(row.requests, int) else row.requests
        print(
            f"{row.operation:<38}{row.workers!s:>8}{row.clients!s:>8}{row.rows:>11,}{requests:>10}{row.errors!s:>8}"
            f"{ms(row.p50):>9}{ms(row.p95):>9}{row.throughput:>9,.0f}  {row.target:<18}{row.met:<6}{row.cpu}"
        )


async def run_backend(backend: Backend, args: argparse.Namespace) -> None:
    city, loaded, rows = await prepare(backend, args.keep)
    table: list[Row] = []
    if loaded is not None:
        print(
            f"{backend.name}: loaded {loaded.rows:,} reports in {loaded.seconds:.1f} s "
            f"({loaded.rows / loaded.seconds:,.0f} rows/s; building rows {loaded.generate_seconds:.1f} s, "
            f"indexes {loaded.index_seconds:.1f} s, analyze {loaded.analyze_seconds:.1f} s, "
            f"map counts {loaded.count_seconds:.1f} s)"
        )
        table.append(
            Row(
                "load (" + ("COPY" if backend.is_pg else "executemany") + ")",
                "",
                "",
                rows,
                "",
                "",
                None,
                None,
                loaded.rows / loaded.seconds,
                f"{loaded.seconds:.0f} s total",
            )
        )
    if args.load_only:
        print_table(f"{backend.name}", table)
        return
    engine = make_engine(backend.url)
    try:
        async with engine.connect() as conn:
            low, high = (await conn.execute(select(func.min(Report.id), func.max(Report.id)))).one()
    finally:
        await engine.dispose()
    post_x, post_y = points_in_city(city, 20_000, np.random.default_rng(SEED + 1))
    post_points = list(zip(post_x.tolist(), post_y.tolist(), strict=True))
    notes: list[str] = []
    for workers in args.workers or [DEFAULT_WORKERS[backend.name]]:
        api_keys = [await create_open311_key(backend.url) for _ in range(args.post_keys)]
        settings = {"CITOYEN_OPEN311_REQUESTS_PER_MINUTE": "10000000"}
        with serve(backend.url, backend.data_dir, workers, settings) as server:
            print(f"{backend.name}: server: {server.command}")
            available = await routes_of(server.base_url)
            for clients in args.concurrency:
                for scenario in scenarios(city, api_keys, (int(low), int(high)), post_points):
                    if args.only and args.only.lower() not in scenario.name.lower():
                        continue
                    engine = make_engine(backend.url)
                    try:
                        rows = await report_count(engine)
                    finally:
                        await engine.dispose()
                    if not any(template.fullmatch(scenario.route) for template in available):
                        table.append(
                            Row(
                                scenario.name,
                                workers,
                                clients,
                                rows,
                                "-",
                                "-",
                                None,
                                None,
                                0.0,
                                scenario.target,
                                "n/a",
                                "endpoint not there yet",
                            )
                        )
                        continue
                    print(f"{backend.name}: {scenario.name}, {workers} worker(s), {clients} clients …", flush=True)
                    result = await measure(
                        server.base_url,
                        scenario,
                        clients,
                        args.duration,
                        args.warmup,
                        server.process.pid,
                        backend.url if backend.is_pg else None,
                    )
                    cpu = "/".join(f"{result.cpu.get(k, 0):.0f}" for k in ("client", "server", "postgres", "other"))
                    processes = sorted(
                        (v for k, v in result.cpu.items() if k.startswith("server:") and v >= 1), reverse=True
                    )
                    if len(processes) > 1:
                        cpu += " (app: " + "+".join(f"{v:.0f}" for v in processes) + ")"
                    table.append(
                        Row(
                            scenario.name,
                            workers,
                            clients,
                            rows,
                            len(result.all_latencies),
                            result.error_count,
                            result.p(50),
                            result.p(95),
                            result.throughput,
                            scenario.target,
                            "yes" if scenario.passes(result) else "NO",
                            cpu,
                        )
                    )
                    if len(result.latencies) > 1:
                        for label in sorted(result.latencies):
                            count = len(result.latencies[label])
                            table.append(
                                Row(
                                    f"  · {label}",
                                    "",
                                    "",
                                    rows,
                                    count,
                                    "",
                                    result.p(50, label),
                                    result.p(95, label),
                                    count / result.seconds,
                                )
                            )
                    for problem, count in result.errors.most_common(3):
                        notes.append(f"{scenario.name} ({workers} w, {clients} c): {count} × {problem}")
                    if result.waits:
                        total = sum(result.waits.values())
                        seen = ", ".join(f"{k} {100 * v / total:.0f} %" for k, v in result.waits.most_common(5))
                        notes.append(f"{scenario.name} ({workers} w, {clients} c): PostgreSQL sessions seen: {seen}")
    print_table(f"{backend.name}: {rows:,} reports", table)
    for note in notes:
        print(f"  {note}")


def main() -> None:
    args = parse_args()
    check_loopback(args.pg_url)
    print("command:", shlex.join(sys.orig_argv))
    print(
        f"machine: {os.cpu_count()} cores shared by the clients (this process), the app server and the database; "
        f"closed-loop clients, {args.duration:g} s measured after {args.warmup:g} s of warm-up per operation"
    )
    started = time.perf_counter()
    names = ("postgresql", "sqlite") if args.backend == "both" else (args.backend,)
    for name in names:
        if name == "postgresql":
            backend = Backend(name, args.pg_url, Path(tempfile.gettempdir()) / "citoyen-bench-pg", 0)
        else:
            url = f"sqlite+aiosqlite:///{args.sqlite_dir.resolve() / 'citoyen.sqlite3'}"
            backend = Backend(name, url, args.sqlite_dir, 0)
        backend.rows = args.rows or DEFAULT_ROWS[name]
        asyncio.run(run_backend(backend, args))
    print(f"\nwall time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
