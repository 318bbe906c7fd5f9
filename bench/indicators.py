"""Indicators: what the rollups cost on ingest, and what they buy on reading.

One run, on SQLite (default) or PostgreSQL (`--backend postgresql`), in process (the service functions the
routes call, no HTTP):
1. a fresh migrated database with the 80 Paris quartiers and `--datastreams` Datastreams (half NO2, half
   bicycle counts), each on its own Thing placed in a quartier;
2. **ingest overhead**: `--batches` batches of one reading per Datastream per hour (`--hours-per-batch`
   hours a batch) stored through sensing's ingest (`bulk.insert_observations`, what CreateObservations and
   MQTT call), alternately with the indicators' rollups subscribed (the app's event hub: each write notes what
   it touched) and without (a bare hub), side by side in the same run: readings/s of each and their ratio
   (target ≥ 80 %). After each batch with rollups, the fold (`indicators.fold`, what the app's timer runs every
   few seconds) is run and timed apart: its rate, the lag it leaves (the app's fold interval plus a fold's
   time), and the ratio with the fold's time counted in the ingest's (the rollups keep up if that one too is
   ≥ 80 %; a fold per batch is the dearest way: the app's timer folds several writes at once);
3. `--days` of hourly history for every Datastream loaded in bulk (no events), then **`rebuild`** timed (what
   `citoyen indicators rebuild` runs; target < 60 s for 8.8 M readings on PostgreSQL);
4. **reading**, `--repeats` times each after one request not counted (templates compile on first use), through
   the app in process (httpx's ASGI transport: routing, the service, the template or the JSON document, no
   network), after `gc.collect(); gc.freeze()` as the served app does once started (citoyen.app's lifespan;
   without it a full garbage collection over the bench's heap lands in whichever request allocates most, and its
   pause was taken for the chart's time): the indicators page (`GET /indicators`: every indicator's figure,
   trend, sparkline and choropleth values; target p95 < 100 ms) and a quartier's year of hourly NO2 as its chart
   asks for it (`GET /api/indicators/air-no2/series?step=hour`, 365 days; target p95 < 50 ms); also the page's
   view alone (`views.city_page`) and the chart's series alone (`series.series`); and a quartier's page
   (`GET /indicators/quartiers/{id}`, read from the pages' snapshots; target p95 well under 100 ms) beside the
   same page computed on the request (`views.quartier_page`, what every request did before the snapshots), and
   the time `snapshots.refresh` takes to compute every quartier's and the city's figures.

The issue's full size is 1,000 Datastreams with a year of hourly data (8.8 M readings) on PostgreSQL:
`--datastreams 1000 --days 365 --backend postgresql` (loading alone takes a while: see the README's figures).

Run: `uv run python bench/indicators.py [--backend sqlite|postgresql] [--datastreams 100] [--days 90]`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
from shapely.geometry import shape
from sqlalchemy import Table, insert, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

sys.path.insert(0, str(Path(__file__).parent))

from databases import recreate_database
from tables import print_aligned

from citoyen.app import build_event_hub, create_app
from citoyen.config import Settings
from citoyen.db import make_sessionmaker
from citoyen.demo.generator import QUARTIERS_FILE
from citoyen.engines import make_app_engine
from citoyen.events import EventHub
from citoyen.indicators import service as indicators
from citoyen.indicators import snapshots, views
from citoyen.indicators.series import series
from citoyen.migrations import upgrade_database_async
from citoyen.sensing import bulk
from citoyen.sensing.events import SensingEventBus
from citoyen.sensing.models import (
    Datastream,
    FeatureOfInterest,
    Location,
    Observation,
    ObservedProperty,
    ResultType,
    Sensor,
    Thing,
    ThingKind,
    ThingLocation,
)
from citoyen.sensing.service import Access, Context
from citoyen.territory import service as territory

PG_URL = os.environ.get("CITOYEN_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/citoyen_bench_indicators")
SQLITE_DIR = Path(tempfile.gettempdir()) / "citoyen-bench-indicators"
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Row:
    figure: str
    value: str
    target: str
    note: str


def _url(backend: str) -> str:
    return PG_URL if backend == "postgresql" else f"sqlite+aiosqlite:///{SQLITE_DIR / 'bench.sqlite3'}"


async def _fresh_database(backend: str) -> str:
    url = _url(backend)
    if backend == "postgresql":
        await recreate_database(PG_URL)
    else:
        shutil.rmtree(SQLITE_DIR, ignore_errors=True)
        SQLITE_DIR.mkdir(parents=True)
    await upgrade_database_async(url)
    return url


async def _drop(backend: str) -> None:
    if backend == "postgresql":
        await recreate_database(PG_URL, drop_only=True)
    else:
        shutil.rmtree(SQLITE_DIR, ignore_errors=True)


async def _city(session: AsyncSession, datastreams: int) -> list[tuple[int, int]]:
    """The quartiers and the Datastreams: [(datastream id, feature id)]."""
    items = territory.parse_neighbourhoods(
        json.loads(QUARTIERS_FILE.read_text(encoding="utf-8")), name_field="l_qu", code_field="c_quinsee"
    )
    await territory.replace_neighbourhoods(session, "Paris", items, source="bench")
    quartiers = await territory.list_neighbourhoods(session)
    no2 = ObservedProperty(name="Nitrogen dioxide (NO2)", definition="no2")
    bikes = ObservedProperty(name="Bicycles passing", definition="bicycles")
    sensor = Sensor(name="bench", encoding_type="text/plain", sensor_metadata="bench")
    session.add_all([no2, bikes, sensor])
    await session.flush()
    made = []
    for number in range(datastreams):
        quartier = quartiers[number % len(quartiers)]
        point = shape(quartier.geometry).representative_point()
        air = number % 2 == 0
        thing = Thing(name=f"bench {number}", kind=ThingKind.AIR if air else ThingKind.MOBILITY)
        location = Location(
            name=quartier.name,
            location=json.dumps({"type": "Point", "coordinates": [point.x, point.y]}),
            lon=point.x,
            lat=point.y,
            neighbourhood_id=quartier.id,
        )
        session.add_all([thing, location])
        await session.flush()
        feature = FeatureOfInterest(
            name=quartier.name, feature=location.location, generated_from_location_id=location.id
        )
        session.add_all([ThingLocation(thing_id=thing.id, location_id=location.id), feature])
        stream = Datastream(
            name=f"bench {number}",
            observation_type="OM_Measurement",
            unit_of_measurement={"symbol": "µg/m³" if air else "bicycles/h"},
            thing_id=thing.id,
            sensor_id=sensor.id,
            observed_property_id=(no2 if air else bikes).id,
        )
        session.add(stream)
        await session.flush()
        made.append((stream.id, feature.id))
    return made


def _value(rng: random.Random, datastream_number: int) -> float:
    return round(rng.uniform(5, 90) if datastream_number % 2 == 0 else rng.randrange(0, 400), 1)


async def _ingest(
    makers: dict[str, tuple[async_sessionmaker[AsyncSession], EventHub]],
    streams: list[tuple[int, int]],
    start: datetime,
    batches: int,
    hours_per_batch: int,
) -> tuple[dict[str, tuple[int, float]], list[float]]:
    """Alternate batches with and without rollups; {mode: (readings, seconds)}, and the seconds of each fold that
    followed a batch with rollups."""
    rng = random.Random(14)
    done = {mode: (0, 0.0) for mode in makers}
    folds: list[float] = []
    for number in range(batches):
        mode = list(makers)[number % 2]
        first = start + number * hours_per_batch * HOUR
        rows = [
            bulk.ObservationRow(
                stream_id,
                first + hour * HOUR,
                None,
                first + hour * HOUR,
                _value(rng, index),
                feature_of_interest_id=feature_id,
            )
            for hour in range(hours_per_batch)
            for index, (stream_id, feature_id) in enumerate(streams)
        ]
        maker, hub = makers[mode]
        context = Context(access=Access(is_staff=True), base_url="http://bench", bus=SensingEventBus(hub))
        began = time.perf_counter()
        async with maker() as session:
            await bulk.insert_observations(session, context, rows)
            await session.commit()
        readings, seconds = done[mode]
        done[mode] = (readings + len(rows), seconds + time.perf_counter() - began)
        if mode == "with rollups":
            began = time.perf_counter()
            async with maker() as session:
                folded = await indicators.fold(session)
                await session.commit()
            assert folded is not None and folded.datastreams == len(streams)
            folds.append(time.perf_counter() - began)
    return done, folds


async def _history(session: AsyncSession, streams: list[tuple[int, int]], end: datetime, days: int) -> int:
    rng = random.Random(2026)
    table = cast(Table, Observation.__table__)
    rows: list[dict[str, Any]] = []
    stored = 0
    for index, (stream_id, feature_id) in enumerate(streams):
        for hour in range(days * 24):
            moment = end - (hour + 1) * HOUR
            rows.append(
                {
                    "datastream_id": stream_id,
                    "feature_of_interest_id": feature_id,
                    "phenomenon_time_start": moment,
                    "result_type": ResultType.FLOAT,
                    "result_number": _value(rng, index),
                }
            )
            if len(rows) == 20_000:
                await session.execute(insert(table), rows)
                stored += len(rows)
                rows = []
    if rows:
        await session.execute(insert(table), rows)
        stored += len(rows)
    return stored


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) >= 2 else samples[0]


async def measure(
    backend: str = "sqlite",
    datastreams: int = 100,
    days: int = 90,
    batches: int = 20,
    hours_per_batch: int = 10,
    repeats: int = 30,
) -> list[Row]:
    """Every figure of the module's docstring, as rows of the printed table."""
    fold_interval = Settings.model_fields["indicators_fold_interval_seconds"].default
    url = await _fresh_database(backend)
    engine = make_app_engine(url)
    try:
        hub, bare_hub = build_event_hub(), EventHub()
        with_rollups = make_sessionmaker(engine, hub)
        bare = make_sessionmaker(engine, bare_hub)
        async with with_rollups() as session:
            streams = await _city(session, datastreams)
            await session.commit()
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        # Ingest first, into hours after the history: the tables are small, as after a rebuild they are not.
        ingested, folds = await _ingest(
            {"with rollups": (with_rollups, hub), "without": (bare, bare_hub)}, streams, now, batches, hours_per_batch
        )
        async with bare() as session:
            began = time.perf_counter()
            loaded = await _history(session, streams, now, days)
            await session.commit()
            load_seconds = time.perf_counter() - began
        async with with_rollups() as session:
            if backend == "postgresql":
                await session.execute(text("ANALYZE"))
            began = time.perf_counter()
            rebuilt = await indicators.rebuild(session)
            await session.commit()
            rebuild_seconds = time.perf_counter() - began
        refreshes = []
        for _ in range(3):
            async with with_rollups() as session:
                began = time.perf_counter()
                await snapshots.refresh(session)
                await session.commit()
                refreshes.append(time.perf_counter() - began)
        quartier = await _first_quartier(with_rollups)
        page, chart, page_view, chart_series, quartier_page, quartier_view, snapshot_view = await _read(
            url, engine, with_rollups, quartier, now, repeats
        )
    finally:
        await engine.dispose()
        await _drop(backend)
    rate = {mode: readings / seconds for mode, (readings, seconds) in ingested.items()}
    ratio = rate["with rollups"] / rate["without"]
    folded_readings, noting_seconds = ingested["with rollups"]
    fold_seconds = sum(folds)
    with_fold = folded_readings / (noting_seconds + fold_seconds)
    fold_ratio = with_fold / rate["without"]
    total = loaded + sum(readings for readings, _ in ingested.values())
    return [
        Row(
            "ingest with rollups",
            f"{rate['with rollups']:,.0f} readings/s",
            "",
            f"{batches // 2} batches of {hours_per_batch * datastreams}",
        ),
        Row("ingest without", f"{rate['without']:,.0f} readings/s", "", "same batches, alternating"),
        Row("ingest ratio", f"{ratio:.0%}", "≥ 80 %", "PASS" if ratio >= 0.8 else "MISS"),
        Row(
            "fold",
            f"{folded_readings / fold_seconds:,.0f} readings/s",
            "",
            f"{len(folds)} folds, p95 {_p95(folds) * 1000:.0f} ms each",
        ),
        Row(
            "ingest with rollups, fold counted",
            f"{with_fold:,.0f} readings/s",
            "",
            f"{fold_ratio:.0%} of without: {'PASS' if fold_ratio >= 0.8 else 'MISS'} (≥ 80 %)",
        ),
        Row(
            "rollups' lag",
            f"≤ {fold_interval:g} s + {max(folds):.2f} s",
            "",
            "the app's fold interval + the longest fold",
        ),
        Row(
            "rebuild",
            f"{rebuild_seconds:.1f} s",
            "< 60 s at 8.8 M",
            f"{total:,} readings, {rebuilt.datastream_buckets:,} buckets",
        ),
        Row("indicators page p95", f"{_p95(page) * 1000:.1f} ms", "< 100 ms", f"GET /indicators, {repeats} times"),
        Row("  its view alone p95", f"{_p95(page_view) * 1000:.1f} ms", "", "views.city_page, computed"),
        Row(
            "quartier page p95",
            f"{_p95(quartier_page) * 1000:.1f} ms",
            "< 100 ms",
            f"GET /indicators/quartiers/{{id}}, {repeats} times, from the snapshots",
        ),
        Row("  its view alone p95", f"{_p95(snapshot_view) * 1000:.1f} ms", "", "snapshots.quartier_page"),
        Row(
            "  computed on the request p95",
            f"{_p95(quartier_view) * 1000:.1f} ms",
            "",
            "views.quartier_page (before: what each request did)",
        ),
        Row(
            "pages' snapshots refresh",
            f"{statistics.median(refreshes) * 1000:.0f} ms",
            "",
            "snapshots.refresh (every quartier and the city), median of 3",
        ),
        Row(
            "quartier year chart p95",
            f"{_p95(chart) * 1000:.1f} ms",
            "< 50 ms",
            "GET .../air-no2/series, step hour, 365 days",
        ),
        Row("  its series alone p95", f"{_p95(chart_series) * 1000:.1f} ms", "", "series.series"),
        Row("history load", f"{load_seconds:.1f} s", "", f"{loaded:,} readings in bulk, no events"),
    ]


async def _read(
    url: str,
    engine: Any,
    maker: async_sessionmaker[AsyncSession],
    quartier: int,
    now: datetime,
    repeats: int,
) -> tuple[list[float], list[float], list[float], list[float], list[float], list[float], list[float]]:
    """Seconds of each reading: the page, the chart and a quartier's page as requests, then the view, the series
    and the quartier's page computed alone."""
    settings = Settings(
        data_dir=SQLITE_DIR if url.startswith("sqlite") else Path(tempfile.gettempdir()),
        database_url=url,
        secret_key="bench-indicators-" + "x" * 32,
        indicators_fold_interval_seconds=0,
        housekeeping_interval_seconds=0,
        digest_task_enabled=False,
        events_across_workers=False,
    )
    app = create_app(settings, engine=engine)
    no2 = indicators.get_indicator("air-no2")
    first, after = now - timedelta(days=365), now + HOUR
    chart_path = (
        f"/api/indicators/air-no2/series?step=hour&neighbourhood={quartier}"
        f"&from={first.isoformat().replace('+00:00', 'Z')}&to={after.isoformat().replace('+00:00', 'Z')}"
    )
    page: list[float] = []
    chart: list[float] = []
    page_view: list[float] = []
    chart_series: list[float] = []
    quartier_page: list[float] = []
    quartier_view: list[float] = []
    snapshot_view: list[float] = []
    quartier_path = f"/indicators/quartiers/{quartier}"
    async with app.router.lifespan_context(app):
        # What the served app does once started (citoyen.app): what lives as long as the process is frozen.
        gc.collect()
        gc.freeze()
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                # One request of each first, not counted: the page's templates are compiled on first use.
                for path in ("/indicators", chart_path, quartier_path):
                    assert (await client.get(path)).status_code == 200
                for _ in range(repeats):
                    began = time.perf_counter()
                    response = await client.get("/indicators")
                    page.append(time.perf_counter() - began)
                    assert response.status_code == 200, response.status_code
                    began = time.perf_counter()
                    response = await client.get(chart_path)
                    chart.append(time.perf_counter() - began)
                    assert response.status_code == 200, response.text[:200]
                    assert len(response.json()["points"]) == 365 * 24 + 1
                    began = time.perf_counter()
                    response = await client.get(quartier_path)
                    quartier_page.append(time.perf_counter() - began)
                    assert response.status_code == 200, response.status_code
            for _ in range(repeats):
                async with maker() as session:
                    began = time.perf_counter()
                    await views.city_page(session)
                    page_view.append(time.perf_counter() - began)
                    began = time.perf_counter()
                    await series(session, no2, "hour", first, after, quartier)
                    chart_series.append(time.perf_counter() - began)
                    began = time.perf_counter()
                    await views.quartier_page(session, quartier)
                    quartier_view.append(time.perf_counter() - began)
                    began = time.perf_counter()
                    await snapshots.quartier_page(session, quartier)
                    snapshot_view.append(time.perf_counter() - began)
        finally:
            gc.unfreeze()
    return page, chart, page_view, chart_series, quartier_page, quartier_view, snapshot_view


async def _first_quartier(maker: async_sessionmaker[AsyncSession]) -> int:
    async with maker() as session:
        return (await territory.list_neighbourhoods(session))[0].id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--datastreams", type=int, default=100)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--hours-per-batch", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    rows = asyncio.run(
        measure(args.backend, args.datastreams, args.days, args.batches, args.hours_per_batch, args.repeats)
    )
    command = "uv run python bench/indicators.py " + " ".join(sys.argv[1:])
    print_aligned(
        ["figure", "measured", "target", "note"],
        [[row.figure, row.value, row.target, row.note] for row in rows],
        title=f"{command}\n{args.backend}: {args.datastreams} Datastreams, {args.days} days of hourly history",
    )


if __name__ == "__main__":
    main()
