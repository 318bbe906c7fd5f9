"""The statement timeout: a query past it is cancelled by the database, answers a clear error in each API's
format, and leaves nothing half-written; the engines of long legitimate work have none."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from citoyen.app import create_app
from citoyen.config import Settings
from citoyen.db import is_statement_timeout, make_engine, without_statement_timeout
from citoyen.reports import service as reports_service
from citoyen.sensing import service as sensing_service

# Counts to a hundred million, one row at a time: many seconds on either database, and no data needed.
SLOW = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000000) SELECT count(*) FROM c"
TIMEOUT = 0.3


@pytest.fixture
async def timed_engine(database_url: str, engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """An engine on the (migrated) test database whose statements may run TIMEOUT seconds."""
    timed = make_engine(database_url, statement_timeout=TIMEOUT)
    yield timed
    await timed.dispose()


async def test_a_statement_past_the_timeout_is_cancelled_and_its_transaction_leaves_nothing(
    timed_engine: AsyncEngine,
) -> None:
    async with timed_engine.connect() as connection:
        await connection.execute(text("CREATE TEMPORARY TABLE written (n INTEGER)"))
        await connection.commit()
        started = time.monotonic()
        with pytest.raises(DBAPIError) as raised:
            async with connection.begin():
                await connection.execute(text("INSERT INTO written (n) VALUES (1)"))
                await connection.execute(text(SLOW))
        assert time.monotonic() - started < TIMEOUT + 3
        assert is_statement_timeout(raised.value)
        # The insert went with the cancelled transaction, and the connection serves the next statements.
        assert (await connection.execute(text("SELECT count(*) FROM written"))).scalar_one() == 0


async def test_other_database_errors_are_not_taken_for_a_timeout(timed_engine: AsyncEngine) -> None:
    async with timed_engine.connect() as connection:
        with pytest.raises(DBAPIError) as raised:
            await connection.execute(text("SELECT * FROM no_such_table"))
    assert not is_statement_timeout(raised.value)


async def test_engines_without_a_timeout_let_long_statements_finish(database_url: str, engine: AsyncEngine) -> None:
    shorter = SLOW.replace("100000000", "300000")
    untimed = make_engine(database_url)
    try:
        async with untimed.connect() as connection:
            assert (await connection.execute(text(shorter))).scalar_one() == 300_000
    finally:
        await untimed.dispose()
    if database_url.startswith("sqlite"):  # how the embedded app runs its own migrations at start
        timed = make_engine(database_url, statement_timeout=0.001)
        try:
            async with without_statement_timeout(timed).connect() as connection:
                assert (await connection.execute(text(shorter))).scalar_one() == 300_000
        finally:
            await timed.dispose()


@pytest.fixture
async def slow_client(
    settings: Settings, timed_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the timed engine, where reading reports and SensorThings entities runs the slow query."""

    async def slow(session: Any, *_args: Any, **_kwargs: Any) -> Any:
        await session.execute(text(SLOW))
        raise AssertionError("the statement timeout did not stop the query")

    monkeypatch.setattr(reports_service, "search_reports", slow)
    monkeypatch.setattr(reports_service, "request_rows", slow)
    monkeypatch.setattr(sensing_service, "read", slow)
    settings.database_statement_timeout_seconds = TIMEOUT
    app = create_app(settings, engine=timed_engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_a_cancelled_query_answers_503_in_each_apis_format(slow_client: httpx.AsyncClient) -> None:
    sta = await slow_client.get("/sta/v1.1/Things")
    assert sta.status_code == 503
    assert sta.json()["type"] == "error" and sta.json()["code"] == 503
    assert sta.json()["message"].startswith("the database took longer than 0.3 s on this request")
    assert sta.headers["Retry-After"] == "5"

    api = await slow_client.get("/api/reports")
    assert api.status_code == 503
    assert api.json()["error"]["status"] == 503

    open311 = await slow_client.get("/open311/v2/requests.json")
    assert open311.status_code == 503
    assert open311.json()[0]["code"] == 503

    page = await slow_client.get("/reports")
    assert page.status_code == 503
    assert page.headers["content-type"].startswith("text/html")
    assert "the database took longer than 0.3 s" in page.text

    # The server is not held: the next request is served.
    assert (await slow_client.get("/healthz")).status_code == 200
