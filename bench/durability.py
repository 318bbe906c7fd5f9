"""Durability under `kill -9`: the real server (uvicorn) is killed during HTTP ingest and during MQTT ingest,
restarted, and every acknowledged Observation must be stored; a batch whose answer was lost, sent again with
its Idempotency-Key, must be stored once.

    uv run python bench/durability.py [--backend sqlite|postgresql] [--seconds 3]

HTTP: CreateObservations batches of 500, each with its own key and phenomenon times no other batch uses.
MQTT: QoS 1 messages to a Mosquitto of its own, started on a free port with the settings docs/mqtt.md asks of a
city's broker (acknowledged = PUBACK from the broker; the server acknowledges the broker only after its commit,
so the broker delivers again what a killed server had not stored). `--max-queued-messages 1000` (Mosquitto's
default) shows the loss a default broker causes: it drops QoS 1 messages queued beyond that for a subscriber that
is behind or dead, and logs "Outgoing messages are being dropped". Prints a table; exits 1 when an acknowledged
Observation is missing or a keyed batch is doubled.

    uv run python bench/durability.py --backend postgresql --pg-database citoyen_durability
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import httpx

sys.path.insert(0, str(Path(__file__).parent))
import sensing_common
from loadgen import serve
from sensing_common import create_database, create_stations, print_table
from sqlalchemy import text

from citoyen.db import make_engine

BATCH = 500
START = datetime(2026, 1, 1, tzinfo=UTC)
# docs/mqtt.md: what a broker needs so that no acknowledged QoS 1 message is lost while the ingest is behind or
# restarting (`max_queued_messages` is the one that matters; 0 = no limit).
BROKER_CONFIG = """\
listener {port} 127.0.0.1
user {user}
allow_anonymous true
persistence true
persistence_location {work}/
autosave_interval 1
max_queued_messages {max_queued}
max_queued_bytes 0
max_inflight_messages 1000
log_dest file {work}/mosquitto.log
"""


@dataclass
class Broker:
    port: int
    log: Path

    def dropped(self) -> int:
        """How many times Mosquitto said it dropped messages queued for a client."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return text.count("Outgoing messages are being dropped")


@contextmanager
def broker(max_queued: int) -> Iterator[Broker]:
    """A Mosquitto of our own on a free port, stopped on exit."""
    work = Path(tempfile.mkdtemp(prefix="citoyen-durability-mqtt-"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (work / "mosquitto.conf").write_text(
        BROKER_CONFIG.format(port=port, work=work, max_queued=max_queued, user=getpass.getuser())
    )
    process = subprocess.Popen(
        [shutil.which("mosquitto") or "mosquitto", "-c", str(work / "mosquitto.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        yield Broker(port, work / "mosquitto.log")
    finally:
        process.terminate()
        process.wait()
        shutil.rmtree(work, ignore_errors=True)


def moment(index: int) -> str:
    return (START + timedelta(seconds=index)).isoformat().replace("+00:00", "Z")


def kill(server: object) -> None:
    process = server.process  # type: ignore[attr-defined]
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


async def stored_times(url: str, datastream_id: int) -> tuple[int, set[datetime]]:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    text("SELECT phenomenon_time_start FROM sta_observations WHERE datastream_id = :d"),
                    {"d": datastream_id},
                )
            ).scalars()
            times = [row if isinstance(row, datetime) else datetime.fromisoformat(str(row)) for row in rows]
    finally:
        await engine.dispose()
    return len(times), {t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC) for t in times}


async def http_phase(url: str, data_dir: Path, datastream_id: int, token: str, seconds: float) -> list[str]:
    headers = {"Authorization": f"Bearer {token}"}
    acknowledged: list[int] = []
    in_flight: dict[int, bytes] = {}

    def body(batch: int) -> bytes:
        rows = [[moment(batch * BATCH + i), float(i)] for i in range(BATCH)]
        document = [
            {"Datastream": {"@iot.id": datastream_id}, "components": ["phenomenonTime", "result"], "dataArray": rows}
        ]
        return json.dumps(document).encode()

    with serve(url, data_dir, 1) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:

            async def sender(lane: int) -> None:
                batch = lane
                while True:
                    in_flight[batch] = body(batch)
                    response = await client.post(
                        "/sta/v1.1/CreateObservations",
                        content=in_flight[batch],
                        headers={**headers, "Idempotency-Key": f"batch-{batch}", "Content-Type": "application/json"},
                    )
                    assert response.status_code == 201, response.text
                    acknowledged.append(batch)
                    del in_flight[batch]
                    batch += 4

            tasks = [asyncio.create_task(sender(lane)) for lane in range(4)]
            await asyncio.sleep(seconds)
            kill(server)
            await asyncio.gather(*tasks, return_exceptions=True)
    with serve(url, data_dir, 1) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
            retried = [*in_flight, acknowledged[-1]]
            for batch in retried:
                response = await client.post(
                    "/sta/v1.1/CreateObservations",
                    content=body(batch),
                    headers={**headers, "Idempotency-Key": f"batch-{batch}", "Content-Type": "application/json"},
                )
                assert response.status_code == 201, response.text
    rows, times = await stored_times(url, datastream_id)
    expected = {START + timedelta(seconds=b * BATCH + i) for b in acknowledged + retried for i in range(BATCH)}
    missing = len(expected - times)
    return [
        "HTTP",
        f"{len(acknowledged)} batches ({len(acknowledged) * BATCH:,} Observations)",
        f"{len(in_flight)} in flight, retried with their keys (+1 acknowledged one)",
        f"{missing:,}",
        f"{rows - len(times):,}",
    ]


async def mqtt_phase(url: str, data_dir: Path, datastream_id: int, seconds: float, max_queued: int) -> list[str]:
    with broker(max_queued) as mosquitto:
        row = await _mqtt_phase(url, data_dir, datastream_id, seconds, mosquitto.port)
        row[-1] += f"; broker dropped messages {mosquitto.dropped()} time(s)"
        return row


async def _mqtt_phase(url: str, data_dir: Path, datastream_id: int, seconds: float, port: int) -> list[str]:
    prefix = f"durability-{uuid.uuid4().hex[:8]}/"
    settings = {
        "CITOYEN_MQTT_URL": f"mqtt://127.0.0.1:{port}",
        "CITOYEN_MQTT_TOPIC_PREFIX": prefix,
        "CITOYEN_MQTT_CLIENT_ID": f"citoyen-{prefix.rstrip('/')}",
    }
    topic = f"{prefix}v1.1/Datastreams({datastream_id})/Observations"
    acknowledged: list[int] = []
    offset = 10_000_000  # times apart from the HTTP phase's
    with serve(url, data_dir, 1, settings) as server:
        await asyncio.sleep(1.5)  # the bridge subscribes (its session then lives on in the broker)
        async with aiomqtt.Client("127.0.0.1", port, identifier=f"device-{uuid.uuid4().hex[:8]}") as device:
            deadline = time.monotonic() + seconds
            index = 0
            while time.monotonic() < deadline:
                payload = json.dumps({"phenomenonTime": moment(offset + index), "result": float(index)})
                await device.publish(topic, payload, qos=1)
                acknowledged.append(index)
                index += 1
            kill(server)
            # The broker keeps these for the bridge's session while the server is down (Mosquitto keeps at most
            # max_queued_messages, 1000 by default, per session: docs/mqtt.md says to lift it).
            for _ in range(2_000):
                payload = json.dumps({"phenomenonTime": moment(offset + index), "result": float(index)})
                await device.publish(topic, payload, qos=1)
                acknowledged.append(index)
                index += 1
    expected = {START + timedelta(seconds=offset + i) for i in acknowledged}
    with serve(url, data_dir, 1, settings):
        for _ in range(120):
            await asyncio.sleep(0.5)
            _rows, times = await stored_times(url, datastream_id)
            if expected <= times:
                break
    _rows, times = await stored_times(url, datastream_id)
    mqtt_times = {t for t in times if t >= START + timedelta(seconds=offset)}
    return [
        "MQTT",
        f"{len(acknowledged):,} messages (PUBACK)",
        "redelivered by the broker after the restart",
        f"{len(expected - mqtt_times):,}",
        "(at least once: duplicates allowed)",
    ]


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seconds", type=float, default=3.0, help="ingest time before the kill")
    parser.add_argument(
        "--max-queued-messages", type=int, default=0, help="the broker's max_queued_messages (0: no limit, as advised)"
    )
    parser.add_argument(
        "--pg-database", default="citoyen_bench_durability", help="the PostgreSQL database to (re)create"
    )
    args = parser.parse_args()
    # A database of its own (the other sensing benchmarks drop and recreate theirs).
    sensing_common.BENCH_PG_URL = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{args.pg_database}"
    sensing_common.SQLITE_DIR = Path(tempfile.gettempdir()) / "citoyen-bench-durability"
    url = await create_database(args.backend)
    ids, token = await create_stations(url, 1, 2)
    data_dir = sensing_common.SQLITE_DIR if args.backend == "sqlite" else Path("/tmp/citoyen-bench-durability-pg")
    rows = [
        await http_phase(url, data_dir, ids[0], token, args.seconds),
        await mqtt_phase(url, data_dir, ids[1], args.seconds, args.max_queued_messages),
    ]
    print(
        f"backend: {args.backend}; server killed with SIGKILL after {args.seconds} s of ingest; "
        f"broker max_queued_messages {args.max_queued_messages}"
    )
    print_table(["path", "acknowledged before the kill", "unanswered", "missing", "duplicates"], rows)
    failed = any(row[3] != "0" for row in rows) or rows[0][4] != "0"
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
