"""The pages read precomputed figures: a quartier's page from its snapshot equals the page computed on the
request (figures, trends against earlier years, closing times), a snapshot the rollups moved past is not read,
and the app's fold takes its turn among SQLite's writers."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import make_engine, make_sessionmaker
from citoyen.indicators import rollups, snapshots, tasks, views
from citoyen.indicators import service as indicators
from citoyen.indicators.models import PENDING_SPANS
from citoyen.territory import service as territory
from tests.indicators.helpers import create_city, send


async def test_a_quartier_s_page_from_its_snapshot_equals_the_page_computed_then_a_newer_fold_wins(
    session: AsyncSession, client: httpx.AsyncClient, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    city = await create_city(session, client, token)
    # A year apart, the same weekday: the trend is against the same week of the year before.
    await send(client, token, city.west_no2, [["2025-11-26T10:00:00Z", 30.0], ["2026-11-25T10:00:00Z", 45.0]])
    east = [["2025-11-12T10:00:00Z", 22.0], ["2026-11-24T10:00:00Z", 20.0], ["2026-11-25T10:00:00Z", 25.0]]
    await send(client, token, city.east_no2, east)
    await send(client, token, city.bicycles, [["2026-11-25T07:00:00Z", 120], ["2026-11-25T18:00:00Z", 300]])
    await indicators.fold(session)
    day = datetime(2026, 11, 25, tzinfo=UTC)
    await indicators.replace_area_counts(session, "reports", {(city.west, day): 3, (city.east, day): 1})
    await indicators.replace_area_counts(session, "reports:streetlight", {(city.west, day): 2, (city.east, day): 1})
    await indicators.replace_area_counts(session, "reports:pothole", {(city.west, day): 1})
    await territory.store_populations(session, {city.west: 1000, city.east: 3000}, 2021, "test")
    await snapshots.refresh(session)
    await session.commit()

    for quartier in (city.west, city.east):
        computed = await views.quartier_page(session, quartier)
        assert await snapshots.quartier_page(session, quartier) == computed
    assert await snapshots.city_page(session) == await views.city_page(session)
    page = await snapshots.quartier_page(session, city.west)
    no2 = next(row for row in page.figures if row.indicator.id == "air-no2")
    assert no2.quartier is not None and no2.quartier.trend is not None and no2.quartier.trend.basis == "years"
    assert page.report_categories == (("streetlight", "streetlight", 2), ("pothole", "pothole", 1))
    assert page.bicycle_profile[7] == 120
    assert not await snapshots.is_stale(session)

    # A reading folded in later: the snapshot is behind the rollups, and once older than FRESH_SECONDS it is not
    # read (the page computes its figures itself until the next refresh).
    await send(client, token, city.west_no2, [["2026-11-25T11:00:00Z", 65.0]])
    await indicators.fold(session)
    await session.commit()
    assert await snapshots.is_stale(session)
    monkeypatch.setattr(snapshots, "FRESH_SECONDS", 0.0)
    page = await snapshots.quartier_page(session, city.west)
    assert page == await views.quartier_page(session, city.west)
    no2 = next(row for row in page.figures if row.indicator.id == "air-no2")
    assert no2.quartier is not None and no2.quartier.latest_value == pytest.approx(55.0)
    response = await client.get(f"/indicators/quartiers/{city.west}", headers={"Accept-Language": "fr"})
    assert response.status_code == 200 and "55" in response.text


async def test_on_sqlite_the_app_s_fold_writes_in_the_app_s_turn(
    own_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fold reads before it writes: outside the app's write turn, a request writing in between made it fail
    with "database is locked". In its turn the other writer waits."""
    if not own_database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's folds take turns by an advisory lock: nothing of SQLite's locking to check")
    database_file = own_database_url.split(":///", 1)[1]
    others_blocked: list[bool] = []
    real_fold = rollups.fold

    async def fold_with_a_writer_meanwhile(session: AsyncSession, *, wait: bool = True) -> object:
        await session.execute(text("SELECT count(*) FROM indicator_pending_spans"))
        try:
            with sqlite3.connect(database_file, timeout=0.1) as other:  # a request's write, meanwhile
                other.execute("CREATE TABLE IF NOT EXISTS written_meanwhile (x INTEGER)")
            others_blocked.append(False)
        except sqlite3.OperationalError:
            others_blocked.append(True)
        return await real_fold(session, wait=wait)

    monkeypatch.setattr(tasks, "fold", fold_with_a_writer_meanwhile)
    engine = make_engine(own_database_url)
    maker = make_sessionmaker(engine)
    moment = datetime(2026, 11, 25, 10, tzinfo=UTC)
    try:
        async with maker() as session:
            await session.execute(
                insert(PENDING_SPANS),
                [{"datastream_id": 1, "first_time": moment, "last_time": moment, "noted_at": moment}],
            )
            await session.commit()
        assert await tasks.fold_once(maker, SimpleNamespace()) == 1
        assert others_blocked == [True]
        assert await tasks.fold_once(maker, SimpleNamespace()) == 0  # nothing noted: no turn taken, no fold
        assert others_blocked == [True]
    finally:
        await engine.dispose()
