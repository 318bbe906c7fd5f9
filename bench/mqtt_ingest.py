"""MQTT ingest: N Observations published at QoS 1 by devices, stored by Citoyen's bridge; zero loss required.

A private Mosquitto (the configuration of docs/mqtt.md: queues large enough that the broker never drops QoS 1
messages for a slow subscriber) listens on a free port of 127.0.0.1. Publishers are `mosquitto_pub -l -q 1`
processes (C clients, one per Datastream topic, lines of JSON on stdin), so the publishing side does not limit
the figure. The bridge is the app's own (`make_bridge`: the bulk insert of CreateObservations, the event bus and
the notifications it publishes back to the broker for public Things), in this process.

The rate is N divided by the time from the first publish to the moment the database holds all N rows.

Run: `uv run python bench/mqtt_ingest.py` (SQLite and PostgreSQL; `--help`). PostgreSQL must answer at 127.0.0.1;
the script drops and recreates its own database (`citoyen_bench_mqtt`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from databases import recreate_database
from sqlalchemy import func, select

from citoyen.app import build_event_hub
from citoyen.config import Settings
from citoyen.db import make_sessionmaker
from citoyen.engines import make_app_engine
from citoyen.migrations import upgrade_engine
from citoyen.sensing.events import SensingEventBus
from citoyen.sensing.models import (
    Datastream,
    Location,
    Observation,
    ObservedProperty,
    Sensor,
    Thing,
    ThingLocation,
)
from citoyen.sensing.mqtt import make_bridge

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/citoyen_bench_mqtt"
BROKER_CONFIG = """\
listener {port} 127.0.0.1
allow_anonymous true
persistence false
# docs/mqtt.md: never drop QoS 1 messages queued for a subscriber that is momentarily behind.
max_queued_messages 0
max_inflight_messages 1000
"""
TARGET_RATE = 5_000


@dataclass
class Row:
    backend: str
    messages: int
    stored: int
    seconds: float
    notifications: int
    cpu_seconds: float
    load: str = field(default_factory=lambda: " ".join(f"{value:.1f}" for value in os.getloadavg()))

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _prepare_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    await recreate_database(url)


async def _sensors(session: Any, count: int) -> list[int]:
    """One public Thing with a Location and `count` Datastreams (the Observations' feature comes from the Location)."""
    thing = Thing(name="Bench station", description="bench")
    point = json.dumps({"type": "Point", "coordinates": [2.35, 48.85]})
    location = Location(name="Bench place", location=point, lon=2.35, lat=48.85)
    sensor = Sensor(name="Bench sensor", encoding_type="text/plain", sensor_metadata="bench")
    observed = ObservedProperty(name="Bench property", definition="https://example.org/bench")
    session.add_all([thing, location, sensor, observed])
    await session.flush()
    session.add(ThingLocation(thing_id=thing.id, location_id=location.id))
    ids = []
    for number in range(count):
        datastream = Datastream(
            name=f"Bench stream {number}",
            observation_type="http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
            unit_of_measurement={"name": "unit", "symbol": "u", "definition": "https://example.org/unit"},
            thing_id=thing.id,
            sensor_id=sensor.id,
            observed_property_id=observed.id,
        )
        session.add(datastream)
        await session.flush()
        ids.append(datastream.id)
    await session.commit()
    return ids


async def measure(backend: str, database_url: str, messages: int, streams: int, batch: int) -> Row:
    await _prepare_database(database_url)
    engine = make_app_engine(database_url)
    await upgrade_engine(engine)
    sessionmaker = make_sessionmaker(engine, build_event_hub())
    async with sessionmaker() as session:
        datastream_ids = await _sensors(session, streams)

    work = Path(tempfile.mkdtemp(prefix="citoyen-bench-mqtt-"))
    port = _free_port()
    (work / "mosquitto.conf").write_text(BROKER_CONFIG.format(port=port))
    broker = subprocess.Popen(  # noqa: ASYNC220 - our mosquitto; Popen does not wait
        [shutil.which("mosquitto") or "mosquitto", "-c", str(work / "mosquitto.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    publishers: list[subprocess.Popen[bytes]] = []
    bridge_task: asyncio.Task[None] | None = None
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                await asyncio.sleep(0.05)
        settings = Settings(
            data_dir=work,
            database_url=database_url,
            secret_key="b" * 40,
            mqtt_url=f"mqtt://127.0.0.1:{port}",
            mqtt_client_id=f"citoyen-bench-{os.getpid()}",
            mqtt_batch_size=batch,
        )
        state = SimpleNamespace(settings=settings, sessionmaker=sessionmaker, sensing_events=SensingEventBus())
        bridge = make_bridge(state)
        assert bridge is not None
        bridge_task = asyncio.create_task(bridge.run())
        await asyncio.wait_for(bridge.connected.wait(), 10)

        # The messages, written before the clock starts: one file of JSON lines per Datastream.
        start_time = datetime.now(UTC) - timedelta(seconds=messages)
        files = []
        for number, datastream_id in enumerate(datastream_ids):
            path = work / f"stream-{datastream_id}.jsonl"
            with path.open("w") as file:
                for index in range(number, messages, streams):
                    moment = (start_time + timedelta(seconds=index)).isoformat().replace("+00:00", "Z")
                    file.write(json.dumps({"phenomenonTime": moment, "result": index % 1000 / 10}) + "\n")
            files.append((datastream_id, path))

        began = time.perf_counter()
        cpu_began = time.process_time()
        for datastream_id, path in files:
            with path.open("rb") as lines:
                publishers.append(
                    subprocess.Popen(  # noqa: ASYNC220 - mosquitto_pub; Popen does not wait
                        [
                            shutil.which("mosquitto_pub") or "mosquitto_pub",
                            *("-h", "127.0.0.1", "-p", str(port), "-q", "1", "-M", "1000", "-l"),
                            *("-t", f"v1.1/Datastreams({datastream_id})/Observations"),
                        ],
                        stdin=lines,
                    )
                )
        deadline = began + max(180.0, messages / 100)  # long enough to tell slow from lost
        while time.perf_counter() < deadline:
            if bridge.counters.stored + bridge.counters.refused >= messages:
                break
            await asyncio.sleep(0.01)
        seconds = time.perf_counter() - began
        cpu_seconds = time.process_time() - cpu_began
        for publisher in publishers:
            publisher.wait(timeout=30)
        async with sessionmaker() as session:
            stored = int((await session.execute(select(func.count()).select_from(Observation))).scalar_one())
        await asyncio.sleep(0.5)  # let the last notifications go out before counting them
        return Row(backend, messages, stored, seconds, bridge.counters.published, cpu_seconds)
    finally:
        if bridge_task is not None:
            bridge_task.cancel()
            await asyncio.gather(bridge_task, return_exceptions=True)
        for publisher in publishers:
            if publisher.poll() is None:
                publisher.kill()
        broker.terminate()
        broker.wait(timeout=10)
        await engine.dispose()
        shutil.rmtree(work, ignore_errors=True)


def print_table(rows: list[Row], command: str) -> None:
    print(f"\nMQTT ingest (QoS 1, acknowledged once stored) — `{command}`\n")
    print(
        "| backend | messages | stored | not stored | seconds | msg/s | target | notifications published "
        "| CPU s of this process (bridge) | load average |"
    )
    print("|---|---:|---:|---:|---:|---:|---|---:|---:|---|")
    for row in rows:
        verdict = "ok" if row.rate >= TARGET_RATE and row.stored == row.messages else "MISSED"
        print(
            f"| {row.backend} | {row.messages:,} | {row.stored:,} | {row.messages - row.stored:,} | {row.seconds:.1f} "
            f"| {row.rate:,.0f} | ≥ {TARGET_RATE:,} msg/s, 0 lost: {verdict} | {row.notifications:,} "
            f"| {row.cpu_seconds:.1f} | {row.load} |"
        )


def database_url(backend: str, pg_url: str = DEFAULT_PG_URL) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp(prefix='citoyen-bench-mqtt-db-')) / 'bench.sqlite3'}"
    return pg_url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--streams", type=int, default=10, help="Datastreams, one publisher each")
    parser.add_argument("--batch", type=int, default=1000, help="CITOYEN_MQTT_BATCH_SIZE")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    args = parser.parse_args()
    if not shutil.which("mosquitto") or not shutil.which("mosquitto_pub"):
        sys.exit("this benchmark needs mosquitto and mosquitto_pub (apt-get install mosquitto mosquitto-clients)")
    rows = []
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        url = database_url(backend, args.pg_url)
        rows.append(asyncio.run(measure(backend, url, args.messages, args.streams, args.batch)))
    print_table(rows, "uv run python " + " ".join(sys.argv))


if __name__ == "__main__":
    main()
