"""Alerts: what the early warning costs in the running app (citoyen.alerts), on a demo city.

1. a fresh migrated SQLite database with the demo city's reports, sensors and indicators (`--citizens` residents;
   the reports and the sensors' history are the demo's own sizes: 3,000 reports over a year, 60 days of hourly
   readings, 400 for the bicycle counters), built without the alerts part;
2. **demo part**: the planted cluster and a run without forecasts (what `build_demo` does), timed, and whether
   the scan found the planted cluster (its reports inside a significant cluster);
3. **full run**: `run_foresight(force=True)` with the forecasts (what `citoyen foresight run` does), timed, with
   how many series could be forecast and each forecast's backtest;
4. **idle round**: the scheduled task right after (`force=False`), which must find nothing to do, timed.

Run: `uv run python bench/alerts.py [--citizens 50]`. Prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from citoyen.alerts import service as alerts
from citoyen.app import build_event_hub
from citoyen.config import Settings
from citoyen.db import make_sessionmaker, utcnow
from citoyen.demo.alerts import plant_cluster
from citoyen.demo.generator import build_demo
from citoyen.engines import make_app_engine
from citoyen.migrations import upgrade_database_async


async def main(citizens: int) -> None:
    directory = Path(tempfile.mkdtemp(prefix="bench-alerts-"))
    url = f"sqlite+aiosqlite:///{directory}/bench.sqlite3"
    settings = Settings(data_dir=directory, database_url=url, demo_citizens=citizens)
    await upgrade_database_async(url)
    engine = make_app_engine(url)
    rows: list[tuple[str, str, str]] = []
    async with make_sessionmaker(engine, build_event_hub())() as session, session.begin():
        await build_demo(session, settings, with_open_data=False, only=frozenset({"reports", "sensors", "indicators"}))
        now = utcnow()
        started = time.perf_counter()
        await plant_cluster(session, now, random.Random(settings.demo_seed + 15))
        planted_at = time.perf_counter()
        run = await alerts.run_foresight(session, "demo", now=now, forecasts=False, force=True)
        assert run is not None
        seconds = time.perf_counter() - started
        found, _ = await alerts.list_alerts(session, alerts.AlertFilters(kind=alerts.AlertKind.REPORT_CLUSTER))
        in_cluster = max((len(set(a.report_ids)) for a in found), default=0)
        rows.append(
            (
                "demo part (plant + run, no forecasts)",
                f"{seconds:.2f}",
                f"{run.series_checked} series, {run.not_enough_data} too short, {run.alerts_raised} alerts; "
                f"{len(found)} cluster(s), largest {in_cluster} reports",
            )
        )
        rows.append(
            ("  of which planting the cluster", f"{planted_at - started:.2f}", "16 reports, map counts rebuilt")
        )
        started = time.perf_counter()
        full = await alerts.run_foresight(session, "command", force=True)
        assert full is not None
        seconds = time.perf_counter() - started
        made = list((await session.execute(select(alerts.Forecast))).scalars())
        shown = [f for f in made if f.state == "forecast"]
        rows.append(
            (
                "full run with forecasts",
                f"{seconds:.2f}",
                f"{len(made)} series, {len(shown)} forecast(s) shown, "
                f"{sum(f.state == 'does_not_beat' for f in made)} not beating seasonal naive, "
                f"{sum(f.state == 'not_enough_data' for f in made)} too short",
            )
        )
        for forecast in shown:
            rows.append(
                (
                    f"  {forecast.series_key}",
                    "",
                    f"error {forecast.error_ratio:.2f}x seasonal naive's, 80 % interval held "
                    f"{(forecast.coverage80 or 0) * 100:.0f} % ({forecast.window} days, {forecast.method})",
                )
            )
        started = time.perf_counter()
        idle = await alerts.run_foresight(session, "schedule")
        rows.append(("scheduled round right after", f"{time.perf_counter() - started:.2f}", f"ran: {idle is not None}"))
    await engine.dispose()
    width = max(len(row[0]) for row in rows)
    print(f"| {'step':<{width}} | seconds | what |")
    print(f"|{'-' * (width + 2)}|---------|------|")
    for name, seconds_text, what in rows:
        print(f"| {name:<{width}} | {seconds_text:>7} | {what} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=50)
    asyncio.run(main(parser.parse_args().citizens))
