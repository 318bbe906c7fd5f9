"""A real Citoyen server for the tests that drive it with real clients (ckanapi, frost-sta-client): uvicorn in a
thread on a free port, with a database of its own copied from the run's migrated template, which a `prepare`
coroutine fills (a SQLite file, or on PostgreSQL a database made beside the template and dropped afterwards).

The server commits for real, which the rolled-back transaction of the other tests cannot show to a client
in another thread; so it never shares their database."""

from __future__ import annotations

import asyncio
import shutil
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import httpx
import pytest
import uvicorn
from sqlalchemy import make_url, text

from citoyen.app import create_app
from citoyen.config import Settings
from citoyen.db import make_engine

T = TypeVar("T")


@dataclass(frozen=True)
class Served(Generic[T]):
    url: str  # http://127.0.0.1:PORT
    prepared: T  # what `prepare` returned (tokens...)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def run_in_thread(coroutine: Awaitable[T]) -> T:
    """Run a coroutine to completion in a fresh thread (the test session's event loop must stay untouched)."""
    result: list[T] = []
    errors: list[BaseException] = []

    async def wrapped() -> T:
        return await coroutine

    def target() -> None:
        try:
            result.append(asyncio.run(wrapped()))
        except BaseException as error:  # re-raised below, in the caller's thread
            errors.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


async def _admin(url: str, statement: str) -> None:
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@contextmanager
def live_server(
    template: str, data_dir: Path, suffix: str, prepare: Callable[[str], Awaitable[T]]
) -> Iterator[Served[T]]:
    """Serve the app on a copy of `template` (the run's migrated template of the test's backend) until the block
    ends; `suffix` names its PostgreSQL database (`<template>_<suffix>`), so two live servers of one run never
    share one."""
    dropped: str | None = None
    admin = ""
    if template.startswith("sqlite"):
        server_url = f"sqlite+aiosqlite:///{data_dir / 'live.sqlite3'}"
        shutil.copyfile(template.removeprefix("sqlite+aiosqlite:///"), data_dir / "live.sqlite3")
    else:
        parsed = make_url(template)
        dropped = f"{parsed.database}_{suffix}"
        admin = parsed.set(database="postgres").render_as_string(hide_password=False)
        run_in_thread(_admin(admin, f'DROP DATABASE IF EXISTS "{dropped}" WITH (FORCE)'))
        run_in_thread(_admin(admin, f'CREATE DATABASE "{dropped}" TEMPLATE "{parsed.database}"'))
        server_url = parsed.set(database=dropped).render_as_string(hide_password=False)
    try:
        prepared = run_in_thread(prepare(server_url))
        # No housekeeping beside the clients: its first run publishes the platform's datasets, which would
        # change the catalogue under a client comparing two listings.
        settings = Settings(
            data_dir=data_dir,
            database_url=server_url,
            secret_key=f"{suffix}-live-" + "x" * 40,
            housekeeping_interval_seconds=0,
        )
        port = free_port()
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_healthy(base)
            yield Served(base, prepared)
        finally:
            server.should_exit = True
            thread.join(timeout=15)
    finally:
        if dropped is not None:
            run_in_thread(_admin(admin, f'DROP DATABASE IF EXISTS "{dropped}" WITH (FORCE)'))


def _wait_until_healthy(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail("the live server did not start")
