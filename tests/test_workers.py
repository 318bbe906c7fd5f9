"""`citoyen serve --workers N` as a city runs it: several uvicorn processes on one PostgreSQL database, whose live
charts hear readings stored through any of them, and whose links carry the address they serve on. On SQLite
several workers are refused, with the reason."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from citoyen.app import build_event_hub
from citoyen.cli import app
from citoyen.db import make_engine, make_sessionmaker
from tests.conftest import POSTGRES_URL, copy_of_template, run_on_postgres_server
from tests.sensing.live_helpers import SensorWorld, create_sensor

runner = CliRunner()
WORKERS = 2
STREAMS = 4
READINGS = 6
# Generous: two workers start (imports, migrations check, the event connection) on a shared, loaded machine.
STARTUP_TIMEOUT_S = 180
EVENT_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_several_workers_are_refused_on_sqlite(tmp_path: Path) -> None:
    env = {"CITOYEN_DATA_DIR": str(tmp_path), "CITOYEN_DATABASE_URL": "", "CITOYEN_SECRET_KEY": "x" * 32}
    result = runner.invoke(app, ["serve", "--workers", "2"], env=env)
    assert result.exit_code == 2
    assert "--workers 2 needs PostgreSQL" in result.output and "one writer" in result.output
    assert not (tmp_path / "citoyen.sqlite3").exists()  # refused before anything was made


@pytest.fixture
def postgres_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A migrated database of the test's own (the workers commit for real; a copy of the run's template), and the
    settings the server runs with."""
    if not POSTGRES_URL:
        pytest.skip("several workers need PostgreSQL: set CITOYEN_TEST_DATABASE_URL")
    name = f"citoyen_workers_{uuid.uuid4().hex[:10]}"
    database = copy_of_template(request.getfixturevalue("postgres_template"), name)
    env = {
        "CITOYEN_DATA_DIR": str(tmp_path),
        "CITOYEN_DATABASE_URL": database,
        "CITOYEN_SECRET_KEY": "workers-test-" + "x" * 32,
        # The test's own client on the loopback is then no trusted proxy: links follow the served address.
        "CITOYEN_TRUSTED_PROXIES": "192.0.2.1",
        "CITOYEN_HOUSEKEEPING_INTERVAL_SECONDS": "0",
        "CITOYEN_OPENDATA_REFRESH_SECONDS": "0",
        "CITOYEN_DIGEST_TASK_ENABLED": "false",
        "CITOYEN_SENSING_LIVE_HEARTBEAT_SECONDS": "1",
    }
    yield env
    run_on_postgres_server(f'DROP DATABASE "{name}" WITH (FORCE)')


async def _sensor(database_url: str) -> SensorWorld:
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine, build_event_hub())() as session:
            world = await create_sensor(session)
            await session.commit()
            return world
    finally:
        await engine.dispose()


async def _started(server: asyncio.subprocess.Process) -> list[str]:
    """Reads the server's log until every worker said its startup is complete; the lines read."""
    assert server.stderr is not None
    lines: list[str] = []
    ready = 0
    while ready < WORKERS:
        line = (await server.stderr.readline()).decode()
        if not line:
            raise AssertionError("the server stopped:\n" + "".join(lines))
        lines.append(line)
        ready += "Application startup complete" in line
    return lines


@pytest.fixture
async def served(postgres_env: dict[str, str]) -> AsyncIterator[tuple[str, str, SensorWorld]]:
    """`citoyen serve --workers 2` on a free port: its address, a sensing:write token and a sensor."""
    environment = {**os.environ, **postgres_env}
    made = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "citoyen", "token", "create", "--name", "capteurs", "--scope", "sensing:write"],
        env=environment,
        stdout=asyncio.subprocess.PIPE,
    )
    output, _ = await made.communicate()
    assert made.returncode == 0
    token = output.decode().strip()
    world = await _sensor(postgres_env["CITOYEN_DATABASE_URL"])
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "citoyen", "serve", "--workers", str(WORKERS), "--port", str(port)],
        env=environment,
        stderr=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
    )
    assert server.stderr is not None
    try:
        log = await asyncio.wait_for(_started(server), STARTUP_TIMEOUT_S)
        assert sum("Started server process" in line for line in log) >= WORKERS, "".join(log)
        # The rest of the log is drained, so that a full pipe never blocks a worker.
        drain = asyncio.create_task(server.stderr.read())
        yield f"http://127.0.0.1:{port}", token, world
        drain.cancel()
    finally:
        server.terminate()
        try:
            await asyncio.wait_for(server.wait(), 30)
        except TimeoutError:
            server.kill()
            await server.wait()


async def _connected(response: httpx.Response) -> AsyncIterator[str]:
    lines = response.aiter_lines()
    async for line in lines:
        if line == ": connected":
            break
    return lines


async def _results(lines: AsyncIterator[str], wanted: int) -> list[float]:
    results: list[float] = []
    kind = ""
    async for line in lines:
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: ") and kind == "observation":
            results.append(httpx.Response(200, content=line.removeprefix("data: ")).json()["result"])
            if len(results) == wanted:
                break
    return results


async def test_readings_posted_through_any_worker_reach_every_live_stream_and_links_follow_the_address(
    served: tuple[str, str, SensorWorld],
) -> None:
    address, token, world = served
    live = f"/api/sensing/datastreams/{world.datastream_id}/live"
    # A connection per stream and per reading (no keep-alive), so that both workers take some of each.
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=address, timeout=EVENT_TIMEOUT_S, limits=limits) as client:
        streams = [client.stream("GET", live) for _ in range(STREAMS)]
        responses = [await stream.__aenter__() for stream in streams]
        try:
            assert all(response.status_code == 200 for response in responses)
            readers = [await _connected(response) for response in responses]  # each worker listens now
            for value in range(READINGS):
                posted = await client.post(
                    f"/sta/v1.1/Datastreams({world.datastream_id})/Observations",
                    json={"result": float(value), "phenomenonTime": f"2026-12-01T00:0{value}:00Z"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert posted.status_code == 201, posted.text
                # The selfLink follows the address the workers serve on, not a default.
                assert posted.headers["location"].startswith(f"{address}/sta/v1.1/Observations(")
            heard = await asyncio.wait_for(
                asyncio.gather(*(_results(reader, READINGS) for reader in readers)), EVENT_TIMEOUT_S
            )
        finally:
            for stream in streams:
                await stream.__aexit__(None, None, None)
    # Each stream heard every reading, whichever worker stored it (in the order each worker heard them).
    async with httpx.AsyncClient(base_url=address, timeout=30) as client:
        discovery = (await client.get("/open311/v2/discovery.json", headers={"Host": "evil.example"})).json()
    assert discovery["endpoints"][0]["url"] == f"{address}/open311/v2"
    assert [sorted(results) for results in heard] == [[float(value) for value in range(READINGS)]] * STREAMS
