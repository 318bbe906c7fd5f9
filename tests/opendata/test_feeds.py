"""The platform's own datasets: every feed written from a small city made through the services, each dataset
valid for `frictionless validate`, the rows the public sees (and no others), and not one trace of a person."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import frictionless
import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.app import build_personal_data_registry
from citoyen.config import Settings
from citoyen.db import utcnow
from citoyen.opendata import aggregates, feeds, privacy
from citoyen.opendata import service as opendata
from citoyen.opendata.feed_kit import PublishContext
from citoyen.participation import service as participation
from citoyen.participation.budgets import service as budgets
from citoyen.participation.models import ProposalStatus
from citoyen.participation.surveys import service as surveys
from citoyen.people import service as people
from citoyen.people.models import Person, Role
from citoyen.reports import service as reports
from citoyen.reports.models import CloseReason, ReportStatus
from citoyen.sensing.models import ObservedProperty, Thing
from tests.factories import claim_of, create_person
from tests.participation.budget_helpers import create_budget, verified_residents, voting_phase
from tests.participation.helpers import EAST, WEST, create_process, neighbourhood_ids, setup_territory, submit
from tests.participation.survey_helpers import create_survey, question_ids
from tests.reports.helpers import create_reports_world, file_report
from tests.sensing.helpers import STA, bearer, create_station, station


@dataclass(frozen=True)
class Resident:
    first: str
    last: str
    email: str
    phone: str

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


RESIDENTS = [
    Resident("Gwendoline", "Kerbrat-Lemaistre", "gwendoline.kerbrat@example.org", "+33 6 12 34 56 78"),
    Resident("Anatole", "Vasseur-Ndiaye", "anatole.vasseur@example.net", "06 98 76 54 32"),
    Resident("Solveig", "Marchetti", "solveig.m@example.com", "0711223344"),
]


@pytest.fixture
async def token(session: AsyncSession) -> str:
    _token, secret = await people.create_api_token(session, "Sensor gateway", ["sensing:write"])
    await session.commit()
    return secret


@dataclass
class City:
    residents: list[Person]
    report_ids: list[int]
    public_proposal_ids: list[int]
    hidden_proposal_id: int
    public_datastreams: list[int]
    personal_thing: str


async def build_city(session: AsyncSession, settings: Settings, client: httpx.AsyncClient, token: str) -> City:
    """A small city made as its people and staff would: reports with their reporters' contacts, proposals,
    supports and an answer, an ended budget with ballots, a closed survey, a public station and a household's
    meter named after its owner."""
    world = await create_reports_world(session)
    residents = [await create_person(session, email=r.email, display_name=r.name, role=Role.CITIZEN) for r in RESIDENTS]
    staff = await create_person(session, role=Role.ADMIN, display_name="Agent Voirie")
    report_ids = []
    for number, (resident, person) in enumerate(zip(RESIDENTS, residents, strict=True)):
        for where, category in ((WEST, "streetlight"), (EAST, "pothole")):
            report = await file_report(
                session,
                world,
                where,
                category,
                person_id=person.id,
                email=resident.email,
                first_name=resident.first,
                last_name=resident.last,
                phone=resident.phone,
                description=f"Signalé par {resident.name}, joignable au {resident.phone} ({number}).",
            )
            report_ids.append(report.id)
    anonymous = await file_report(session, world, WEST, "streetlight", description="Lampe éteinte.")
    report_ids.append(anonymous.id)
    first = await reports.get_report(session, report_ids[0])
    await reports.update_report(
        session,
        settings,
        staff,
        first,
        reports.StaffUpdate(
            status=ReportStatus.CLOSED,
            close_reason=CloseReason.FIXED,
            public_answer="Lampe remplacée le 3 décembre.",
            internal_note=f"Rappeler {RESIDENTS[0].name}",
        ),
    )

    process = await create_process(session)
    proposals = [
        await submit(session, process, person, WEST if n % 2 else EAST, title=f"Des bancs rue {n}")
        for n, person in enumerate(residents)
    ]
    for supporter in residents[1:]:
        await participation.support(session, proposals[0].id, await claim_of(session, supporter))
    await participation.answer_proposal(session, staff, proposals[0], ProposalStatus.ACCEPTED, "Nous l’installons.")
    await participation.add_milestone(session, staff, proposals[0], "Bancs commandés", 40)
    hidden = await submit(session, process, residents[0], WEST, title="Une proposition masquée")
    hidden.hidden_at = utcnow()
    await session.flush()

    budget, projects = await create_budget(session, open_now=False)
    phase = await voting_phase(session, await budgets.process_of(session, budget))
    for voter in await verified_residents(session, settings, 3):
        await budgets.cast_ballot(session, budget, voter, [projects[0].id], now=phase.starts_at + timedelta(hours=1))

    survey = await create_survey(session, public_results=True, slug="enquete-mobilite")
    ids = await question_ids(session, survey)
    for n in range(12):
        answers = {ids[0]: ["1" if n < 11 else "2"], ids[2]: [f"rue de {RESIDENTS[n % 3].name}"], ids[4]: ["4"]}
        answers |= {ids[5]: ["2", "1", "3"]}
        await surveys.submit_response(session, survey, residents[n] if n < 3 else await create_person(session), answers)
    survey.closes_at = utcnow() - timedelta(minutes=1)
    await session.commit()

    public = await create_station(client, token)
    meter_name = f"Compteur de {RESIDENTS[0].name}"
    meter = station(name=meter_name, access="personal")
    meter["properties"]["citoyen"]["owner"] = residents[0].id
    created = await client.post(f"{STA}/Things", json=meter, headers=bearer(token))
    assert created.status_code == 201, created.text
    now = utcnow()
    for datastream in public["Datastreams"]:
        readings = [{"phenomenonTime": (now - timedelta(minutes=m)).isoformat(), "result": 10.5 + m} for m in range(7)]
        for reading in readings:
            answer = await client.post(
                f"{datastream['@iot.selfLink']}/Observations", json=reading, headers=bearer(token)
            )
            assert answer.status_code == 201, answer.text
    return City(
        residents=residents,
        report_ids=report_ids,
        public_proposal_ids=[p.id for p in proposals],
        hidden_proposal_id=hidden.id,
        public_datastreams=[d["@iot.id"] for d in public["Datastreams"]],
        personal_thing=meter_name,
    )


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


async def publish_all(session: AsyncSession, directory: Path) -> tuple[PublishContext, dict[str, feeds.WrittenFeed]]:
    # A week on: this week's reports are then in the last complete week, the one the weekly counts release.
    ctx = PublishContext(session, now=utcnow() + timedelta(days=7))
    written = {}
    for feed in await feeds.platform_feeds(session, ctx.now):
        written[feed.slug] = await feeds.write_feed(ctx, feed, directory / feed.slug)
    return ctx, written


async def test_every_platform_feed_is_a_valid_data_package_with_the_public_rows(
    session: AsyncSession, settings: Settings, client: httpx.AsyncClient, token: str, tmp_path: Path
) -> None:
    city = await build_city(session, settings, client, token)
    # Names the platform seeds are bilingual (the SensorThings API gives the French name; staff and the demo the
    # English one): the files carry both.
    await session.execute(update(Thing).where(Thing.name == "Station Bastille").values(name_en="Bastille station"))
    await session.execute(update(ObservedProperty).values(name_en="Nitrogen dioxide"))
    ctx, written = await publish_all(session, tmp_path)
    assert set(written) == {
        "signalements",
        "propositions-citoyennes",
        "budget-participatif-resultats",
        "capteurs",
        "capteurs-qualite-de-l-air",
        "capteurs-moyennes-journalieres",
        "signalements-delais-de-traitement",
        "propositions-budget-quartiers",
        "quartiers",
        "services-municipaux",
        "categories-de-signalement",
        "demarches-participatives",
        "budget-participatif-projets",
        "suivi-des-propositions",
        "signalements-par-quartier-et-semaine",
        "participation-par-quartier",
        "resultats-des-questionnaires",
        "covoiturage-flux-entre-quartiers",
        "projets-urbains",
    }
    for slug, feed in written.items():
        report = frictionless.validate(str(feed.datapackage))
        assert report.valid, (slug, report.flatten(["resourceName", "rowNumber", "fieldName", "type", "note"]))
        assert await feeds.validate(feed) == []
        package = json.loads(feed.datapackage.read_text(encoding="utf-8"))
        assert package["licenses"][0]["name"] == "etalab-2.0"
        for resource in package["resources"]:
            if resource["format"] == "csv":
                fields = resource["schema"]["fields"]
                assert all("FR\u00a0: " in f["description"] and "EN: " in f["description"] for f in fields)
                assert resource["schema"]["missingValues"] == [""]
                raw = (feed.directory / resource["path"]).read_bytes()
                assert raw.endswith(b"\r\n")  # RFC 4180 line ends
        assert feed.feed.themes and feed.feed.frequency and feed.feed.title_en and feed.feed.description_en

    rows = read_csv(tmp_path / "signalements" / "signalements.csv")
    assert [int(row["id"]) for row in rows] == city.report_ids
    assert set(rows[0]) >= {"category", "status", "neighbourhood", "lon", "lat", "requested_at", "public_answer"}
    assert rows[0]["status"] == "closed" and rows[0]["public_answer"] == "Lampe remplacée le 3 décembre."
    assert rows[0]["neighbourhood"] == "Ouest" and rows[0]["requested_at"].endswith("Z")
    layer = json.loads((tmp_path / "signalements" / "signalements-carte.geojson").read_text(encoding="utf-8"))
    assert len(layer["features"]) == len(city.report_ids)
    assert layer["features"][0]["geometry"] == {"type": "Point", "coordinates": [WEST[0], WEST[1]]}

    proposals = read_csv(tmp_path / "propositions-citoyennes" / "propositions.csv")
    assert [int(row["id"]) for row in proposals] == city.public_proposal_ids  # the hidden one is not published
    assert proposals[0]["supports"] == "2" and proposals[0]["status"] == "in_progress"  # a milestone moved it
    assert proposals[0]["language"] == "fr"  # the language the author wrote in
    answers = read_csv(tmp_path / "propositions-citoyennes" / "reponses.csv")
    assert [(row["proposal_id"], row["answer"]) for row in answers] == [
        (str(city.public_proposal_ids[0]), "Nous l’installons.")
    ]

    results = read_csv(tmp_path / "budget-participatif-resultats" / "resultats.csv")
    assert [(row["project"], row["votes"], row["funded"]) for row in results][:2] == [
        ("Projet A", "3", "true"),
        ("Projet B", "0", "false"),
    ]

    categories = read_csv(tmp_path / "categories-de-signalement" / "categories.csv")
    assert sorted((row["code"], row["name_en"]) for row in categories) == [
        ("pothole", "Pothole"),
        ("streetlight", "Street light out"),
    ]
    processes = {row["slug"]: row for row in read_csv(tmp_path / "demarches-participatives" / "demarches.csv")}
    assert set(processes) == {"budget-quartiers", "budget-2027", "enquete-mobilite"}
    assert processes["budget-quartiers"]["proposals"] == "3"  # the hidden proposal is not counted
    assert processes["budget-quartiers"]["phases"].startswith("information ")
    projects = read_csv(tmp_path / "budget-participatif-projets" / "projets.csv")
    assert [(row["title"], row["cost_cents"]) for row in projects] == [
        ("Projet A", "6000"),
        ("Projet B", "4000"),
        ("Projet C", "4000"),
    ]
    milestones = read_csv(tmp_path / "suivi-des-propositions" / "etapes.csv")
    assert [(row["proposal_id"], row["title"], row["progress"]) for row in milestones] == [
        (str(city.public_proposal_ids[0]), "Bancs commandés", "40")
    ]

    sensors = written["capteurs"]
    assert [r.resource.name for r in sensors.resources] == ["capteurs", "capteurs-carte", "flux"]
    things = read_csv(tmp_path / "capteurs" / "capteurs.csv")
    assert [(row["name"], row["name_en"]) for row in things] == [("Station Bastille", "Bastille station")]
    assert {row["observed_property_en"] for row in read_csv(tmp_path / "capteurs" / "flux.csv")} == {"Nitrogen dioxide"}
    air = written["capteurs-qualite-de-l-air"]  # the station's kind: its dataset, with the readings by day
    names = [r.resource.name for r in air.resources]
    assert names[:3] == ["capteurs", "capteurs-carte", "flux"] and 1 <= len(names[3:]) <= 2
    readings = []
    for name in names[3:]:
        for row in read_csv(tmp_path / air.feed.slug / f"{name}.csv"):
            # Each file holds its day's readings (its month's, for a month past: midnight may fall in between).
            assert row["phenomenon_time"].startswith(name.removeprefix("mesures-"))
            readings.append(row)
    assert {row["datastream_id"] for row in readings} == {str(d) for d in city.public_datastreams}  # no meter's
    first = [row for row in readings if row["datastream_id"] == str(city.public_datastreams[0])]
    assert sorted(float(row["result"]) for row in first) == [10.5 + m for m in range(7)]
    summaries = read_csv(tmp_path / "capteurs-moyennes-journalieres" / "moyennes-journalieres.csv")
    of_first = [row for row in summaries if row["datastream_id"] == str(city.public_datastreams[0])]
    assert sum(int(row["readings"]) for row in of_first) == 7  # one or two days (midnight may fall in between)
    assert min(float(row["minimum"]) for row in of_first) == 10.5 and max(float(r["maximum"]) for r in of_first) == 16.5
    assert {row["datastream_id"] for row in summaries} <= {str(d) for d in city.public_datastreams}
    assert {row["observed_property_en"] for row in summaries} == {"Nitrogen dioxide"}

    handling = read_csv(tmp_path / "signalements-delais-de-traitement" / "delais.csv")
    assert sum(int(row["reports"]) for row in handling) == len(city.report_ids)
    assert sum(int(row["closed"]) for row in handling) == 1  # the first report, closed by the staff
    closed = next(row for row in handling if row["closed"] == "1")
    assert closed["category"] == "streetlight" and 0 <= float(closed["median_days_to_close"]) < 1

    quarters = json.loads((tmp_path / "quartiers" / "quartiers.geojson").read_text(encoding="utf-8"))
    assert sorted(f["properties"]["name"] for f in quarters["features"]) == ["Est", "Ouest"]
    assert quarters["features"][0]["geometry"]["type"] == "Polygon"
    departments = read_csv(tmp_path / "services-municipaux" / "services.csv")
    assert sorted(row["code"] for row in departments) == ["eclairage", "voirie"]
    assert set(departments[0]) == {"id", "code", "name"}

    # Counts about people went through the privacy layer, and each release is in the ledger.
    assert {(e.dataset, e.resource, e.mechanism) for e in ctx.ledger} == {
        ("signalements-par-quartier-et-semaine", "comptes", "laplace"),
        ("participation-par-quartier", "comptes", "laplace"),
        (
            "resultats-des-questionnaires",
            next(r.resource.name for r in written["resultats-des-questionnaires"].resources),
            "min_cell_size",
        ),
    }
    weekly = read_csv(tmp_path / "signalements-par-quartier-et-semaine" / "comptes.csv")
    assert len(weekly) == 2 * 2  # every neighbourhood x category of the week, empty cells included
    assert all(row["count"].isdigit() and row["suppressed"] == "false" for row in weekly)
    survey = read_csv(next(r.path for r in written["resultats-des-questionnaires"].resources))
    by_cell = {(row["question"], row["option"]): row for row in survey}
    assert by_cell[("1", "2")]["count"] == "" and by_cell[("1", "2")]["suppressed"] == "true"  # one person: hidden
    # 11 of the 12 known respondents would tell who is left: the 11 are hidden too.
    assert by_cell[("1", "1")]["count"] == "" and by_cell[("1", "1")]["suppressed"] == "true"
    assert by_cell[("3", "4")]["count"] == "12"  # the scale question (free-text ones are never counted)
    assert not any("rue de" in row["question_text"] + row["option_label"] for row in survey)
    totals = privacy.totals(ctx.ledger)
    assert all(value in (0.0, 1.0) for value in totals.values())


def published_files(directory: Path) -> list[Path]:
    return [path for path in directory.rglob("*") if path.is_file()]


def phone_patterns(phone: str) -> list[str]:
    digits = re.sub(r"\D", "", phone)
    national = "0" + digits[2:] if digits.startswith("33") else digits
    return [phone, digits, national, national[1:]]


async def test_no_published_file_holds_anything_about_a_person(
    session: AsyncSession, settings: Settings, client: httpx.AsyncClient, token: str, tmp_path: Path
) -> None:
    city = await build_city(session, settings, client, token)
    await publish_all(session, tmp_path)
    files = published_files(tmp_path)
    assert len(files) >= 15
    needles = [city.personal_thing]
    for resident in RESIDENTS:
        needles += [resident.email, resident.first, resident.last, resident.name, *phone_patterns(resident.phone)]
    needles += [person.email for person in city.residents]
    hits = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        folded = re.sub(r"\s", "", text).lower()
        for needle in needles:
            if needle.lower() in text.lower() or re.sub(r"\s", "", needle).lower() in folded:
                hits.append((path.name, needle))
    assert hits == []


async def test_a_resource_is_written_into_a_stream_the_caller_gives(session: AsyncSession, tmp_path: Path) -> None:
    await create_reports_world(session)
    ctx = PublishContext(session)
    stream = io.StringIO(newline="")
    resource = feeds.neighbourhoods_feed().resources[1]
    assert await feeds.write_resource(ctx, resource, stream) == 2
    lines = stream.getvalue().split("\r\n")
    assert lines[0] == "id,name,code,area_m2,centroid_lon,centroid_lat"
    assert {line.split(",")[1] for line in lines[1:3]} == {"Ouest", "Est"}


async def test_public_rows_come_in_batches_by_id(session: AsyncSession) -> None:
    world = await create_reports_world(session)
    ids = [(await file_report(session, world)).id for _ in range(7)]
    batches = [batch async for batch in reports.public_reports(session, batch=3)]
    assert [len(batch) for batch in batches] == [3, 3, 1]
    assert [row["id"] for batch in batches for row in batch] == ids
    assert "description" not in batches[0][0] and "email" not in batches[0][0]


async def test_reporters_count_once_per_cell_and_in_a_bounded_number_of_cells(session: AsyncSession) -> None:
    world = await create_reports_world(session)
    person = await create_person(session)
    for where, category in ((WEST, "streetlight"), (WEST, "streetlight"), (EAST, "pothole"), (EAST, "streetlight")):
        await file_report(session, world, where, category, person_id=person.id, email=person.email)
    await file_report(session, world, WEST, "streetlight")  # names nobody: not counted
    for email in ("voisine@example.org", "Voisine@Example.org"):
        await file_report(session, world, WEST, "streetlight", email=email)
    places = await neighbourhood_ids(session)
    light, pothole = world.light.id, world.pothole.id
    week = reports.week_of(utcnow())
    start, end = utcnow() - timedelta(days=1), utcnow() + timedelta(days=1)
    assert await reports.reporter_counts(session, start, end, max_cells_per_person=2) == {
        (places["Ouest"], light, week): 2,
        (places["Est"], pothole, week): 1,
    }
    before = await reports.reporter_counts(session, start, end, max_cells_per_person=3)
    assert before[(places["Est"], light, week)] == 1
    assert await reports.reporter_counts(session, end, end + timedelta(days=1), max_cells_per_person=3) == {}

    # Erasing an account removes that person from the counts, and only them: at most 3 cells change by one.
    provider = next(p for p in build_personal_data_registry().providers if p.domain == "reports")
    await provider.erase(session, person)
    after = await reports.reporter_counts(session, start, end, max_cells_per_person=3)
    assert sum(abs(before.get(cell, 0) - after.get(cell, 0)) for cell in before.keys() | after.keys()) == 3
    assert after == {(places["Ouest"], light, week): 1}


async def test_participants_count_once_in_the_neighbourhood_of_their_first_contribution(session: AsyncSession) -> None:
    places = await setup_territory(session)
    process = await create_process(session)
    alice, bruno = await create_person(session), await create_person(session)
    west = await submit(session, process, alice, WEST)
    await submit(session, process, bruno, EAST, title="Un jardin partagé")
    await participation.support(session, west.id, await claim_of(session, bruno))
    start, end = utcnow() - timedelta(days=1), utcnow() + timedelta(days=1)
    assert await participation.participant_counts(session, start, end, 1) == {
        (places["Ouest"],): 1,
        (places["Est"],): 1,
    }
    assert await participation.participant_counts(session, start, end, 2) == {
        (places["Ouest"],): 2,
        (places["Est"],): 1,
    }


def test_aggregates_release_each_complete_period_once() -> None:
    wednesday = datetime(2026, 12, 9, 15, 30, tzinfo=UTC)
    assert aggregates.last_complete_week(wednesday) == (
        datetime(2026, 11, 30, tzinfo=UTC),
        datetime(2026, 12, 7, tzinfo=UTC),
        "2026-W49",
    )
    assert aggregates.last_complete_week(datetime(2026, 1, 2, tzinfo=UTC))[2] == "2025-W52"
    assert aggregates.last_complete_month(wednesday) == (
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
        "2026-11",
    )
    assert aggregates.last_complete_month(datetime(2027, 1, 15, tzinfo=UTC))[2] == "2026-12"
    feed = aggregates.reports_weekly_feed(wednesday)
    assert feed.period == "2026-W49" and "2026-W49" in feed.description and "2026-W49" in feed.description_en
    entry = privacy.LedgerEntry(feed.slug, "comptes", wednesday, "2026-W49", "laplace", 1.0, None, "", "")
    assert privacy.already_released([entry], feed.slug, "2026-W49")
    assert not privacy.already_released([entry], feed.slug, "2026-W50")


async def test_a_refresh_skips_the_counts_whose_period_was_already_released(
    session: AsyncSession, tmp_path: Path
) -> None:
    await create_reports_world(session)
    first = PublishContext(session)
    written = await feeds.write_platform(first, tmp_path / "first")
    assert {entry.dataset for entry in first.ledger} == {
        "signalements-par-quartier-et-semaine",
        "participation-par-quartier",
    }
    assert "signalements" in {w.feed.slug for w in written}
    again = PublishContext(session, now=first.now)
    rewritten = await feeds.write_platform(again, tmp_path / "again", released=first.ledger)
    assert again.ledger == []  # no ε spent twice on the same week or month
    assert {w.feed.slug for w in written} - {w.feed.slug for w in rewritten} == {
        "signalements-par-quartier-et-semaine",
        "participation-par-quartier",
    }
    later = PublishContext(session, now=first.now + timedelta(days=7))
    await feeds.write_platform(later, tmp_path / "later", released=first.ledger)
    assert "signalements-par-quartier-et-semaine" in [entry.dataset for entry in later.ledger]  # a new week
    assert not any(privacy.already_released(first.ledger, entry.dataset, entry.period) for entry in later.ledger)
    assert privacy.total_epsilon([*first.ledger, *later.ledger], later.ledger[0].dataset, later.ledger[0].period) == 1.0


async def test_the_catalogue_records_every_release_and_its_totals_match_the_privacy_layer(
    session: AsyncSession, tmp_path: Path
) -> None:
    await create_reports_world(session)
    ctx = PublishContext(session)
    written = await feeds.write_platform(ctx, tmp_path)
    await opendata.create_organization(session, "ville", "Ville de Testville")
    for feed in (w.feed for w in written if w.feed.period is not None):
        data = {"name": feed.slug, "title": feed.title, "owner_org": "ville", "license_id": feed.licence}
        await opendata.save_dataset(
            session, await opendata.check_dataset(session, data | {"frequency": feed.frequency})
        )
    for entry in ctx.ledger:
        await opendata.record_release(session, entry)
    stored = {(t.dataset_name, t.period): t.epsilon for t in await opendata.ledger_totals(session)}
    assert stored == privacy.totals(ctx.ledger)
    lines = await opendata.ledger(session)
    assert sorted((line.dataset_name, line.release.epsilon) for line in lines) == sorted(
        (entry.dataset, entry.epsilon) for entry in ctx.ledger
    )


async def test_validation_names_the_resource_row_and_field_of_each_problem(
    session: AsyncSession, tmp_path: Path
) -> None:
    await create_reports_world(session)
    written = await feeds.write_feed(PublishContext(session), feeds.departments_feed(), tmp_path)
    path = written.resources[0].path
    path.write_text(path.read_text(encoding="utf-8") + "not-a-number,x,y\r\n", encoding="utf-8")
    problems = await feeds.validate(written)
    assert problems[0].startswith("services row 4 field id: type-error")


async def test_only_closed_surveys_with_public_results_are_counted(session: AsyncSession) -> None:
    public = await create_survey(session, public_results=True, slug="publique")
    private = await create_survey(session, public_results=False, slug="privee")
    still_open = await create_survey(session, public_results=True, slug="ouverte")
    for survey in (public, private):
        survey.closes_at = utcnow() - timedelta(days=1)
    await session.flush()
    counted = await participation.survey_counts(session, closed_by=utcnow())
    assert [survey.survey_id for survey in counted] == [public.id]
    assert still_open.id in [survey.survey_id for survey in await participation.survey_counts(session)]
    # Cells: single (3 options), multiple (3), scale (5), ranking (3); the text questions are never counted.
    assert len(counted[0].labels) == 14 and counted[0].max_contributions == 1 + 3 + 1 + 1
