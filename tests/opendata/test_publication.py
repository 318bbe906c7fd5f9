"""The platform publishes its own data into the catalogue: datasets with their files (each a valid Frictionless
package), a new version only when a file's content changed with a note saying what changed, the privacy
ledger's releases recorded, not one trace of a person in any stored file or CKAN answer, one publication at a
time, the scheduled refresh and the `citoyen opendata publish` command."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import frictionless
import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from citoyen.addresses import base_url
from citoyen.app import build_event_hub
from citoyen.cli import app as cli
from citoyen.config import Settings
from citoyen.db import make_sessionmaker, utcnow
from citoyen.demo.common import DEMO_DOMAIN
from citoyen.demo.generator import build_demo
from citoyen.engines import make_app_engine
from citoyen.migrations import upgrade_engine
from citoyen.opendata import publication
from citoyen.opendata import service as opendata
from citoyen.opendata.change_notes import sentence as _sentence
from citoyen.opendata.errors import OpendataError
from citoyen.opendata.feed_kit import Batches, Feed, FeedResource, PublishContext, col
from citoyen.opendata.feeds import platform_feeds
from citoyen.opendata.models import Dataset, PrivacyRelease, ResourceVersion
from citoyen.opendata.publication import PublicationReport, publish_platform
from citoyen.opendata.tasks import refresh_if_due
from citoyen.people import service as people
from citoyen.people.models import Person
from citoyen.reports import service as reports
from citoyen.territory.service import TerritoryIndexCache
from tests.opendata.test_feeds import RESIDENTS, City, build_city, phone_patterns, token
from tests.participation.helpers import EAST
from tests.test_cli import cli_env

__all__ = ["cli_env", "token"]  # the fixtures, used by name

PLATFORM = {
    "signalements",
    "propositions-citoyennes",
    "budget-participatif-resultats",
    "capteurs",
    "quartiers",
    "services-municipaux",
    "signalements-par-quartier-et-semaine",
    "participation-par-quartier",
    "resultats-des-questionnaires",
}


def a_week_on() -> datetime:
    # A week on: this week's reports are then in the last complete week, the one the weekly counts release.
    return utcnow() + timedelta(days=7)


async def versions_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(ResourceVersion)) or 0)


def assert_published(report: PublicationReport) -> None:
    assert report.failed == [], [(o.name, o.error) for o in report.failed]


async def test_publishing_makes_every_platform_dataset_with_valid_files(
    session: AsyncSession, settings: Settings, client: httpx.AsyncClient, token: str, tmp_path: Path
) -> None:
    await build_city(session, settings, client, token)
    now = a_week_on()
    report = await publish_platform(session, settings, now)
    assert_published(report)
    assert {o.name for o in report.datasets} == {feed.slug for feed in await platform_feeds(session, now)} >= PLATFORM
    assert all(o.created and o.versions == o.resources for o in report.datasets)

    for name in (o.name for o in report.datasets):
        view = await opendata.load_view(session, await opendata.find_dataset(session, name))
        dataset = view.dataset
        assert dataset.source == f"platform:{name}" and dataset.refreshed_at == now
        assert dataset.change_note.startswith("Première publication\u00a0: ")
        assert dataset.change_note_en.startswith("First publication: ")
        assert dataset.title_en and dataset.notes_en and dataset.license_id == "etalab-2.0" and dataset.frequency
        assert "simulated" not in dataset.notes_en  # a real city's data is not called simulated
        assert view.organization is not None and view.groups and view.tags
        assert json.loads(dataset.spatial)["type"] == "Polygon"
        # The files, side by side as the package describes them, pass `frictionless validate`.
        package_dir = tmp_path / "check" / name
        package_dir.mkdir(parents=True)
        for item in view.resources:
            assert item.version is not None and item.version.number == 1
            shutil.copy(settings.opendata_path / item.version.path, package_dir / item.version.filename)
        filenames = {item.version.filename for item in view.resources if item.version}
        assert "datapackage.json" in filenames
        # The package names each file by its download address; here they are read side by side instead.
        package = json.loads((package_dir / "datapackage.json").read_text(encoding="utf-8"))
        downloads = {
            f"{base_url(settings)}/data/{name}/resources/{item.resource.uuid}/download/{item.version.filename}"
            for item in view.resources
            if item.version
        }
        assert {described["path"] for described in package["resources"]} <= downloads
        for described in package["resources"]:
            described["path"] = described["path"].rsplit("/", 1)[1]
        (package_dir / "datapackage.json").write_text(json.dumps(package), encoding="utf-8")
        validated = frictionless.validate(str(package_dir / "datapackage.json"))
        assert validated.valid, (name, validated.flatten(["resourceName", "rowNumber", "fieldName", "note"]))
        tables = [item for item in view.resources if item.resource.format == "CSV"]
        assert all(item.version and item.version.table_schema for item in tables)

    reports_view = await opendata.load_view(session, await opendata.find_dataset(session, "signalements"))
    assert [item.resource.format for item in reports_view.resources] == ["CSV", "GEOJSON", "JSON"]
    assert reports_view.dataset.temporal_start is not None and reports_view.organization is not None
    assert reports_view.organization.name == "ville"  # the city as a whole publishes the reports
    proposals = await opendata.load_view(session, await opendata.find_dataset(session, "propositions-citoyennes"))
    assert proposals.organization is None or proposals.organization.department_code in (None, "participation")
    departments = {o.department_code for o in await opendata.list_organizations(session)}
    assert {"voirie", "eclairage"} <= departments  # one publisher per department of the city

    weekly = await opendata.find_dataset(session, "signalements-par-quartier-et-semaine")
    assert weekly.temporal_start is not None and weekly.temporal_end is not None
    assert (weekly.temporal_end - weekly.temporal_start).days == 6


async def test_publishing_again_without_change_makes_no_version_and_a_new_report_makes_one(
    session: AsyncSession, settings: Settings, client: httpx.AsyncClient, token: str
) -> None:
    city = await build_city(session, settings, client, token)
    now = a_week_on()
    assert_published(await publish_platform(session, settings, now))
    made = await versions_count(session)
    reports_dataset = await opendata.find_dataset(session, "signalements")
    modified = reports_dataset.modified_at
    stored = sorted(path for path in settings.opendata_path.rglob("*") if path.is_file())

    later = now + timedelta(hours=1)
    again = await publish_platform(session, settings, later)
    assert_published(again)
    assert again.versions == 0 and await versions_count(session) == made
    assert sorted(path for path in settings.opendata_path.rglob("*") if path.is_file()) == stored
    # The counts about people of a period already released are not released (nor their ε spent) again.
    skipped = {o.name for o in again.datasets if o.skipped}
    assert skipped == {"signalements-par-quartier-et-semaine", "participation-par-quartier"}
    await session.refresh(reports_dataset)
    assert reports_dataset.modified_at == modified and reports_dataset.refreshed_at == later
    assert (reports_dataset.change_note, reports_dataset.change_note_en) == ("Aucun changement.", "No change.")

    new = reports.NewReport(category_code="pothole", lon=EAST[0], lat=EAST[1], answers={"size": ["large"]})
    await reports.create_report(session, TerritoryIndexCache(), new)
    third = await publish_platform(session, settings, later + timedelta(hours=1))
    assert_published(third)
    changed = {o.name: o for o in third.datasets if o.versions}
    assert set(changed) == {"signalements", "signalements-delais-de-traitement"}  # the reports and their figures
    assert changed["signalements"].versions == 2  # the table and the map; the package's description is the same
    view = await opendata.load_view(session, await opendata.find_dataset(session, "signalements"))
    assert view.dataset.change_note == (
        "1 nouvelle ligne dans signalements.csv\u00a0; 1 nouvel objet dans signalements-carte.geojson."
    )
    assert view.dataset.change_note_en == "1 new row in signalements.csv; 1 new feature in signalements-carte.geojson."
    assert view.dataset.modified_at > modified
    table = next(item for item in view.resources if item.resource.format == "CSV")
    assert table.version is not None and table.version.number == 2
    assert table.version.row_count == len(city.report_ids) + 1
    earlier = await opendata.versions(session, table.resource)
    assert [v.number for v in earlier] == [1, 2] and earlier[0].row_count == len(city.report_ids)


async def test_the_ledger_holds_the_runs_releases_and_its_totals_are_their_sum(
    session: AsyncSession, settings: Settings, client: httpx.AsyncClient, token: str
) -> None:
    await build_city(session, settings, client, token)
    report = await publish_platform(session, settings, a_week_on())
    assert_published(report)
    releases = list((await session.execute(select(PrivacyRelease))).scalars())
    assert len(releases) == report.releases >= 3
    by_dataset = {}
    for release in releases:
        dataset = await session.get(Dataset, release.dataset_id)
        assert dataset is not None and release.resource_id is not None
        by_dataset[dataset.name] = release
    assert set(by_dataset) >= {
        "signalements-par-quartier-et-semaine",
        "participation-par-quartier",
        "resultats-des-questionnaires",
    }
    assert by_dataset["signalements-par-quartier-et-semaine"].epsilon == 1.0
    assert by_dataset["resultats-des-questionnaires"].k == 10
    totals = await opendata.ledger_totals(session)
    spent = sum(r.epsilon or 0.0 for r in releases)
    assert sum(total.epsilon for total in totals) == spent >= 2.0
    # A refresh spends nothing more.
    again = await publish_platform(session, settings, a_week_on())
    assert again.releases == 0
    assert sum(t.epsilon for t in await opendata.ledger_totals(session)) == spent


async def test_nothing_about_a_person_is_in_a_stored_file_or_a_ckan_answer(
    session: AsyncSession, settings: Settings, client: httpx.AsyncClient, token: str
) -> None:
    city: City = await build_city(session, settings, client, token)
    assert_published(await publish_platform(session, settings, a_week_on()))
    await session.commit()
    texts = {
        str(path): path.read_text(encoding="utf-8") for path in settings.opendata_path.rglob("*") if path.is_file()
    }
    assert len(texts) >= 20
    listed = await client.get("/api/3/action/package_list")
    assert set(listed.json()["result"]) >= PLATFORM
    for name in listed.json()["result"]:
        answer = await client.get("/api/3/action/package_show", params={"id": name})
        assert answer.status_code == 200
        texts[f"package_show {name}"] = answer.text
    needles = [city.personal_thing, *(person.email for person in city.residents)]
    for resident in RESIDENTS:
        needles += [resident.email, resident.first, resident.last, resident.name, *phone_patterns(resident.phone)]
    hits = []
    for where, text in texts.items():
        folded = re.sub(r"\s", "", text).lower()
        for needle in needles:
            if needle.lower() in text.lower() or re.sub(r"\s", "", needle).lower() in folded:
                hits.append((where, needle))
    assert hits == []


async def test_a_feed_that_fails_is_rolled_back_alone_and_reported(
    session: AsyncSession, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await people.create_department(session, "voirie", "Voirie")
    columns = (col("id", "integer", "Identifiant", "Identifier", required=True),)

    async def bad_rows(_ctx: PublishContext) -> Batches:
        yield [{"id": 1}, {"id": None}]  # the second row breaks its schema: the file is refused when stored

    broken = Feed(
        slug="jeu-casse",
        title="Jeu cassé",
        title_en="Broken dataset",
        description="",
        description_en="",
        themes=("GOVE",),
        frequency="IRREG",
        keywords=("test",),
        resources=(FeedResource("lignes", "Lignes", "Rows", "", "", "csv", columns, bad_rows, ("id",)),),
    )
    real = platform_feeds

    async def with_a_broken_feed(session: AsyncSession, now: datetime | None = None) -> list[Feed]:
        feeds = await real(session, now)
        return [*feeds[:2], broken, *feeds[2:]]

    monkeypatch.setattr(publication, "platform_feeds", with_a_broken_feed)
    report = await publish_platform(session, settings)
    assert [outcome.name for outcome in report.failed] == ["jeu-casse"]
    assert "Table Schema" in (report.failed[0].error or "")
    assert {o.name for o in report.datasets if o.error is None} >= {"signalements", "quartiers"}
    with pytest.raises(OpendataError):
        await opendata.find_dataset(session, "jeu-casse")  # its dataset, made before its file failed, is gone
    assert (await opendata.find_dataset(session, "quartiers")).source == "platform:quartiers"


async def test_the_scheduled_refresh_publishes_when_due_only(
    session: AsyncSession, settings: Settings, client: httpx.AsyncClient, token: str
) -> None:
    await build_city(session, settings, client, token)
    now = utcnow()
    assert await refresh_if_due(session, settings, now) > 0
    assert await refresh_if_due(session, settings, now + timedelta(minutes=59)) == 0
    assert (await opendata.find_dataset(session, "signalements")).refreshed_at == now
    assert await refresh_if_due(session, settings, now + timedelta(minutes=61)) == 0  # due, but nothing changed
    assert (await opendata.find_dataset(session, "signalements")).refreshed_at == now + timedelta(minutes=61)


async def test_two_publications_at_once_make_one_set_of_versions(own_database_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=own_database_url, secret_key="test-secret-key-" + "x" * 32)
    engine = make_app_engine(own_database_url)
    try:
        await upgrade_engine(engine)
        sessions = make_sessionmaker(engine, build_event_hub())
        async with sessions() as session, session.begin():
            await people.create_department(session, "voirie", "Voirie")

        async def publish() -> PublicationReport:
            async with sessions() as session, session.begin():
                return await publish_platform(session, settings)

        first, second = await asyncio.gather(publish(), publish())
        assert_published(first)
        assert_published(second)
        assert sorted([first.versions, second.versions])[0] == 0  # the second found the first's files
        async with sessions() as session:
            numbers = list((await session.execute(select(ResourceVersion.number))).scalars())
            datasets = int(await session.scalar(select(func.count()).select_from(Dataset)) or 0)
        assert numbers and set(numbers) == {1} and len(numbers) == max(first.versions, second.versions)
        assert datasets == max(len([o for o in r.datasets if o.created]) for r in (first, second))
    finally:
        await engine.dispose()


async def test_two_processes_due_at_once_refresh_once(own_database_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=own_database_url, secret_key="test-secret-key-" + "x" * 32)
    engine = make_app_engine(own_database_url)
    try:
        await upgrade_engine(engine)
        sessions = make_sessionmaker(engine, build_event_hub())
        now = utcnow()

        async def housekeeping_round() -> int:
            async with sessions() as session, session.begin():
                return await refresh_if_due(session, settings, now)

        done = sorted(await asyncio.gather(housekeeping_round(), housekeeping_round()))
        assert done[0] == 0 and done[1] > 0  # the second found the first's refresh: not due any more
        async with sessions() as session:
            numbers = list((await session.execute(select(ResourceVersion.number))).scalars())
        assert len(numbers) == done[1] and set(numbers) == {1}
    finally:
        await engine.dispose()


# --- the command ------------------------------------------------------------------------------------------

runner = CliRunner()


def test_the_command_publishes_and_says_what_it_did(cli_env: dict[str, str]) -> None:
    first = runner.invoke(cli, ["opendata", "publish"], env=cli_env)
    assert first.exit_code == 0, first.output
    assert "signalements" in first.output and "services-municipaux" in first.output
    assert "First publication" in first.output and "versions made" in first.output
    again = runner.invoke(cli, ["opendata", "publish"], env=cli_env)
    assert again.exit_code == 0, again.output
    assert "No change" in again.output and "First publication" not in again.output


def test_the_command_fails_with_a_message_when_a_dataset_cannot_be_published(cli_env: dict[str, str]) -> None:
    async def hand_made_quartiers() -> None:
        settings = Settings(data_dir=Path(cli_env["CITOYEN_DATA_DIR"]), database_url=cli_env["CITOYEN_DATABASE_URL"])
        engine = make_app_engine(settings.database_url)
        try:
            await upgrade_engine(engine)
            async with make_sessionmaker(engine, build_event_hub())() as session, session.begin():
                organization = await opendata.create_organization(session, "cartographie", "Cartographie")
                checked = await opendata.check_dataset(
                    session, {"name": "quartiers", "title": "Nos quartiers", "owner_org": organization.name}
                )
                await opendata.save_dataset(session, checked)
        finally:
            await engine.dispose()

    asyncio.run(hand_made_quartiers())
    result = runner.invoke(cli, ["opendata", "publish"], env=cli_env)
    assert result.exit_code == 1
    assert "1 dataset(s) not published: quartiers" in result.output
    assert "signalements" in result.output  # the others are published
    again = runner.invoke(cli, ["opendata", "publish"], env=cli_env)
    assert "No change" in again.output  # they were committed


async def test_the_demo_city_fills_the_catalogue_and_no_demo_resident_is_in_it(
    session: AsyncSession, settings: Settings, client: httpx.AsyncClient
) -> None:
    demo_settings = settings.model_copy(update={"demo_citizens": 60, "demo_reports": 150, "demo_mode": True})
    await build_demo(session, demo_settings)
    await session.commit()
    listed = (await client.get("/api/3/action/package_list")).json()["result"]
    assert set(listed) >= {"signalements", "capteurs", "quartiers", "propositions-citoyennes"}
    # About twenty datasets: the sensors by kind with their daily files, proposals by process, statistics...
    assert {"capteurs-qualite-de-l-air", "capteurs-moyennes-journalieres", "signalements-delais-de-traitement"} <= set(
        listed
    )
    assert len(listed) >= 19
    texts = {str(p): p.read_text(encoding="utf-8") for p in settings.opendata_path.rglob("*") if p.is_file()}
    for name in listed:
        texts[name] = (await client.get("/api/3/action/package_show", params={"id": name})).text
    people_rows = (await session.execute(select(Person.email, Person.display_name))).all()
    needles = {"@" + DEMO_DOMAIN} | {email for email, _ in people_rows} | {name for _, name in people_rows}
    assert len(needles) > 60
    hits = [(where, needle) for where, text in texts.items() for needle in needles if needle in text]
    assert hits == []
    # The demo's datasets say first that they are simulated, in both languages.
    shown = (await client.get("/api/3/action/package_show", params={"id": "signalements"})).json()["result"]
    assert shown["notes"].startswith("**Données simulées**")
    found = (await client.get("/api/3/action/package_search", params={"q": "signalements"})).json()["result"]
    assert 0 < found["count"] < len(listed)  # the notice does not make every dataset match


def test_a_long_change_note_names_a_few_files_and_counts_the_others() -> None:
    parts = [(f"1 nouvelle ligne dans mesures-{n}.csv", f"1 new row in mesures-{n}.csv") for n in range(6)]
    assert _sentence([fr for fr, _ in parts], "fr") == (
        "1 nouvelle ligne dans mesures-0.csv\u00a0; 1 nouvelle ligne dans mesures-1.csv\u00a0; "
        "1 nouvelle ligne dans mesures-2.csv\u00a0; 3 autres fichiers modifiés."
    )
    assert _sentence([en for _, en in parts], "en") == (
        "1 new row in mesures-0.csv; 1 new row in mesures-1.csv; 1 new row in mesures-2.csv; 3 more files."
    )
    assert _sentence(["datapackage.json mis à jour"], "fr") == "datapackage.json mis à jour."
    assert _sentence(["description updated"], "en") == "Description updated."
