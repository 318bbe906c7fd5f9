"""The refresh in transactions of its own (`publication.refresh_platform`, what the app's housekeeping and the
command run): each dataset is committed as soon as it is published, and other writers write while the refresh
runs (on SQLite it never holds the database's write lock for more than one dataset's short write)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from citoyen.app import build_event_hub
from citoyen.config import Settings
from citoyen.db import SQLITE_IMMEDIATE, make_sessionmaker
from citoyen.engines import make_app_engine
from citoyen.migrations import upgrade_engine
from citoyen.opendata import publication
from citoyen.opendata import service as opendata
from citoyen.opendata.feed_kit import Batches, Feed, FeedResource, PublishContext, Rows, col
from citoyen.opendata.models import Dataset, ResourceVersion
from citoyen.opendata.publication import publish_platform, refresh_platform
from citoyen.opendata.tabular import SchemaViolation, write_csv
from citoyen.people import service as people
from citoyen.people.models import Department
from tests.opendata.test_feeds import token
from tests.reports.helpers import create_reports_world
from tests.sensing.helpers import bearer, create_station

__all__ = ["token"]  # the fixture, used by name

COLUMNS = (col("id", "integer", "Identifiant", "Identifier", required=True),)


def one_table(slug: str, rows: Rows) -> Feed:
    return Feed(
        slug=slug,
        title=f"Jeu {slug}",
        title_en=f"Dataset {slug}",
        description="Un jeu de test.",
        description_en="A test dataset.",
        themes=("GOVE",),
        frequency="DAILY",
        keywords=("test",),
        resources=(FeedResource("lignes", "Lignes", "Rows", "", "", "csv", COLUMNS, rows, ("id",)),),
    )


@pytest.fixture
async def sessions(own_database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a database of the test's own, where commits are real (as in the served app)."""
    engine = make_app_engine(own_database_url)
    try:
        await upgrade_engine(engine)
        yield make_sessionmaker(engine, build_event_hub())
    finally:
        await engine.dispose()


@pytest.fixture
def own_settings(own_database_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, database_url=own_database_url, secret_key="test-secret-key-" + "x" * 32)


async def test_another_writer_commits_between_two_datasets_publications(
    sessions: async_sessionmaker[AsyncSession], own_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}

    async def first_rows(_ctx: PublishContext) -> Batches:
        yield [{"id": 1}, {"id": 2}]

    async def second_rows(_ctx: PublishContext) -> Batches:
        # While the refresh reads the second dataset, another writer (a request of the app) writes and commits.
        async with sessions() as other, other.begin():
            if other.get_bind().dialect.name == "sqlite":
                # Fail at once, not after the usual wait, if the refresh still held the database's write lock.
                await other.connection(execution_options={SQLITE_IMMEDIATE: True})
                await other.execute(select(1))
            await people.create_department(other, "espaces-verts", "Espaces verts")
        # And anyone already sees the first dataset: it was committed before the second was read.
        async with sessions() as other:
            seen["first"] = await other.scalar(select(Dataset.refreshed_at).where(Dataset.name == "jeu-a"))
            seen["second"] = await other.scalar(select(Dataset.id).where(Dataset.name == "jeu-b"))
        yield [{"id": 1}]

    async def two_feeds(_session: AsyncSession, _now: datetime | None = None) -> list[Feed]:
        return [one_table("jeu-a", first_rows), one_table("jeu-b", second_rows)]

    monkeypatch.setattr(publication, "platform_feeds", two_feeds)
    report = await refresh_platform(sessions, own_settings)
    assert report.failed == [], [(o.name, o.error) for o in report.failed]
    assert [o.name for o in report.datasets] == ["jeu-a", "jeu-b"] and report.versions == 4  # a table, a package each
    assert seen["first"] is not None and seen["second"] is None
    async with sessions() as session:
        assert await session.scalar(select(Department.name).where(Department.code == "espaces-verts"))
        published = await session.scalar(select(Dataset.change_note).where(Dataset.name == "jeu-b"))
        assert published is not None and published.startswith("Première publication")


async def test_a_failing_dataset_leaves_the_committed_ones_and_the_next_refresh_makes_no_version(
    sessions: async_sessionmaker[AsyncSession], own_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def rows(_ctx: PublishContext) -> Batches:
        yield [{"id": 1}]

    async def broken(_ctx: PublishContext) -> Batches:
        yield [{"id": 1}, {"id": None}]  # breaks its Table Schema: refused as it is written, before any write

    async def feeds(_session: AsyncSession, _now: datetime | None = None) -> list[Feed]:
        return [one_table("jeu-a", rows), one_table("jeu-casse", broken), one_table("jeu-c", rows)]

    monkeypatch.setattr(publication, "platform_feeds", feeds)
    report = await refresh_platform(sessions, own_settings)
    assert [o.name for o in report.failed] == ["jeu-casse"] and report.versions == 4
    again = await refresh_platform(sessions, own_settings)
    assert [o.name for o in again.failed] == ["jeu-casse"] and again.versions == 0
    async with sessions() as session:
        names = set((await session.execute(select(Dataset.name))).scalars())
        versions = list((await session.execute(select(ResourceVersion.number))).scalars())
    assert names == {"jeu-a", "jeu-c"} and versions == [1, 1, 1, 1]


# --- sensor readings as daily files -------------------------------------------------------------------------

AIR = "capteurs-qualite-de-l-air"


async def files_of(session: AsyncSession, name: str) -> dict[str, int]:
    """The dataset's files and the number of their current version."""
    view = await opendata.load_view(session, await opendata.find_dataset(session, name))
    return {item.version.filename: item.version.number for item in view.resources if item.version is not None}


async def test_readings_are_published_as_daily_files_and_only_changed_days_are_written_again(
    session: AsyncSession, settings: Settings, client: httpx.AsyncClient, token: str
) -> None:
    await create_reports_world(session)
    station = await create_station(client, token)
    link = f"{station['Datastreams'][0]['@iot.selfLink']}/Observations"

    async def read_at(moment: str) -> None:
        answer = await client.post(link, json={"phenomenonTime": moment, "result": 1}, headers=bearer(token))
        assert answer.status_code == 201, answer.text

    for moment in ("2026-09-15T08:00:00Z", "2026-10-20T08:00:00Z", "2026-11-30T23:59:59Z", "2026-12-06T00:00:00Z"):
        await read_at(moment)
    await read_at("2026-12-06T12:00:00Z")
    await read_at("2026-12-07T09:00:00Z")
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    first = await publish_platform(session, settings, now)
    assert first.failed == []
    # A file per day of this month, a file per month before: each holds its period's readings.
    daily = ["mesures-2026-12-06.csv", "mesures-2026-12-07.csv"]
    monthly = ["mesures-2026-09.csv", "mesures-2026-10.csv", "mesures-2026-11.csv"]
    assert await files_of(session, AIR) == dict.fromkeys(
        ["capteurs.csv", "capteurs-carte.geojson", "flux.csv", *monthly, *daily, "datapackage.json"], 1
    )
    view = await opendata.load_view(session, await opendata.find_dataset(session, AIR))
    rows = {item.version.filename: item.version.row_count for item in view.resources if item.version}
    assert [rows[name] for name in (*monthly, *daily)] == [1, 1, 1, 2, 1]
    assert (view.dataset.temporal_start, view.dataset.temporal_end) == (date(2026, 9, 15), date(2026, 12, 7))

    # A new reading today: today's file alone gets a new version; the past days' files are not even written.
    await read_at("2026-12-07T10:00:00Z")
    second = await publish_platform(session, settings, now + timedelta(hours=1))
    outcome = next(o for o in second.datasets if o.name == AIR)
    assert outcome.versions == 2 and outcome.kept == 4  # the Datastream's last reading moved too (flux.csv)
    assert outcome.change_note_en == "Rows updated in flux.csv; 1 new row in mesures-2026-12-07.csv."
    versions = await files_of(session, AIR)
    assert versions["mesures-2026-12-07.csv"] == 2 and versions["mesures-2026-12-06.csv"] == 1
    # A late reading for a past month: that month's file only.
    await read_at("2026-11-30T06:00:00Z")
    third = await publish_platform(session, settings, now + timedelta(hours=2))
    assert next(o for o in third.datasets if o.name == AIR).versions == 1
    assert (await files_of(session, AIR))["mesures-2026-11.csv"] == 2

    # December ends: its days become one file for the month, and the new month has its own days.
    await read_at("2027-01-02T08:00:00Z")
    later = await publish_platform(session, settings, datetime(2027, 1, 2, 12, tzinfo=UTC))
    assert later.failed == []
    versions = await files_of(session, AIR)
    assert "mesures-2026-12-07.csv" not in versions and versions["mesures-2026-12.csv"] == 1
    assert versions["mesures-2027-01-02.csv"] == 1 and versions["mesures-2026-11.csv"] == 2
    view = await opendata.load_view(session, await opendata.find_dataset(session, AIR))
    rows = {item.version.filename: item.version.row_count for item in view.resources if item.version}
    assert rows["mesures-2026-12.csv"] == 4


async def test_a_row_breaking_its_table_schema_stops_the_writer_naming_its_row_and_field() -> None:
    columns = (
        col("id", "integer", "Identifiant", "Identifier", required=True),
        col("status", "string", "État", "Status", allowed=("open", "closed")),
    )

    async def rows(values: list[dict[str, Any]]) -> Batches:
        yield values

    assert await write_csv(columns, rows([{"id": 1, "status": "open"}, {"id": 2}]), io.StringIO()) == 2
    with pytest.raises(SchemaViolation, match=r"row 3, field status: 'lost' is not allowed \(Table Schema\)"):
        await write_csv(columns, rows([{"id": 1}, {"id": 2, "status": "lost"}]), io.StringIO())
    with pytest.raises(SchemaViolation, match="row 2, field id: required"):
        await write_csv(columns, rows([{"id": None, "status": "open"}]), io.StringIO())
