from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from citoyen.app import build_event_hub
from citoyen.config import Settings
from citoyen.db import make_sessionmaker, utcnow
from citoyen.demo.common import DEMO_ACCOUNTS
from citoyen.demo.generator import build_demo
from citoyen.notifications import service as notifications
from citoyen.people import service as people
from citoyen.people.models import OutboxMessage
from citoyen.reports import service as reports
from citoyen.reports.models import (
    AttributeType,
    EventKind,
    Report,
    ReportContact,
    ReportEvent,
    ReportFollower,
    ReportStatus,
)
from citoyen.territory.service import TerritoryIndexCache
from tests.demo.conftest import demo_engine, rolled_back_connection
from tests.demo.test_typography import plain_spaces


@pytest.fixture(scope="module")
async def reports_city(
    module_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AsyncEngine]:
    """The city these tests read, built once (80 residents, 400 reports); the same-seed test builds its own."""
    data_dir = tmp_path_factory.mktemp("demo-reports")
    async with demo_engine(
        module_database_url, data_dir, frozenset({"reports"}), demo_citizens=80, demo_reports=400
    ) as engine:
        yield engine


@pytest.fixture
async def connection(reports_city: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """The tests' `session` is on the module's city, in a transaction rolled back after each test."""
    async for connection in rolled_back_connection(reports_city):
        yield connection


@pytest.fixture
async def empty_session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session on the run's database, without the module's city (what `session` is elsewhere)."""
    async for connection in rolled_back_connection(engine):
        sessions = make_sessionmaker(connection, build_event_hub(), join_transaction_mode="create_savepoint")
        async with sessions() as session:
            yield session


async def _all_reports(session: AsyncSession) -> list[Report]:
    return list((await session.execute(select(Report).order_by(Report.id))).scalars())


async def test_categories_have_questions_and_three_departments_get_reports(session: AsyncSession) -> None:
    categories = {category.code: category for category in await reports.list_categories(session)}
    assert set(categories) >= {
        "nid-de-poule",
        "eclairage-panne",
        "depot-sauvage",
        "graffiti",
        "fuite-eau",
        "mobilier-urbain",
        "arbre-dangereux",
        "stationnement-genant",
    }
    assert all(category.name and category.name_en for category in categories.values())
    questions = await reports.attributes_of(session, [category.id for category in categories.values()])
    kinds = {code: {q.code: q.datatype for q in questions[category.id]} for code, category in categories.items()}
    assert kinds["nid-de-poule"] == {"size": AttributeType.SINGLE, "hazards": AttributeType.MULTI}
    assert kinds["depot-sauvage"] == {"volume": AttributeType.SINGLE, "waste_types": AttributeType.MULTI}
    assert kinds["eclairage-panne"]["lights_out"] == AttributeType.NUMBER
    assert kinds["fuite-eau"]["where"] == AttributeType.SINGLE

    departments = {department.id: department.code for department in await people.list_departments(session)}
    rules = await reports.list_routing_rules(session)
    assert {departments[rule.department_id] for rule in rules} >= {"voirie", "proprete", "eclairage"}
    general = {rule.category_id: departments[rule.department_id] for rule in rules if rule.neighbourhood_id is None}
    assert general[categories["nid-de-poule"].id] == "voirie"
    assert general[categories["graffiti"].id] == "proprete"
    assert general[categories["eclairage-panne"].id] == "eclairage"


async def test_reports_are_placed_routed_and_answered(session: AsyncSession) -> None:
    found = await _all_reports(session)
    assert len(found) == 400
    index = await TerritoryIndexCache().get(session)
    assert index is not None
    questions = await reports.attributes_of(session, list((await reports.categories_by_id(session)).keys()))
    for report in found:
        assert report.neighbourhood_id is not None
        assert index.locate(report.lon, report.lat) == report.neighbourhood_id
        assert report.department_id is not None
        assert report.department_id == await reports.route(session, report.category_id, report.neighbourhood_id)
        required = {q.code for q in questions[report.category_id] if q.required}
        assert required <= set(report.attributes)
    within_year = utcnow() - timedelta(days=366)
    assert all(within_year < report.requested_at <= utcnow() for report in found)
    # Some quartiers and categories report much more than others.
    per_neighbourhood = {r.neighbourhood_id for r in found}
    assert len(per_neighbourhood) > 40
    counts: dict[int, int] = {}
    for report in found:
        counts[report.category_id] = counts.get(report.category_id, 0) + 1
    assert max(counts.values()) > 2 * min(counts.values())


async def test_descriptions_read_like_residents_wrote_them(session: AsyncSession) -> None:
    descriptions = [report.description for report in await _all_reports(session)]
    written = [text for text in descriptions if text]
    assert len(written) > 0.85 * len(descriptions)
    assert len(set(written)) > 0.95 * len(written)  # varied
    english = [text for text in written if any(word in text for word in (" the ", " on ", " in front of "))]
    assert 0.05 * len(written) < len(english) < 0.3 * len(written)
    assert not any("lorem" in text.lower() for text in written)


async def test_statuses_follow_age_with_a_consistent_history(session: AsyncSession) -> None:
    found = await _all_reports(session)
    now = utcnow()
    old = [r for r in found if now - r.requested_at > timedelta(days=90)]
    recent = [r for r in found if now - r.requested_at < timedelta(days=14)]
    assert old and recent

    def closed_share(items: list[Report]) -> float:
        return sum(r.status == ReportStatus.CLOSED for r in items) / len(items)

    assert closed_share(old) > 0.95
    assert closed_share(recent) < 0.8
    assert {r.status for r in recent} & {ReportStatus.OPEN, ReportStatus.ACKNOWLEDGED, ReportStatus.IN_PROGRESS}

    events: dict[int, list[ReportEvent]] = {}
    query = select(ReportEvent).order_by(ReportEvent.at, ReportEvent.id)
    for event in (await session.execute(query)).scalars():
        events.setdefault(event.report_id, []).append(event)
    for report in found:
        history = events[report.id]
        assert history[0].kind == EventKind.CREATED and history[0].at == report.requested_at
        statuses = [e.status for e in history if e.kind in (EventKind.CREATED, EventKind.STATUS)]
        assert statuses[-1] == report.status
        assert all(e.at >= report.requested_at for e in history)
        if report.status == ReportStatus.CLOSED:
            assert report.close_reason is not None and report.closed_at is not None
            assert history[-1].at <= report.closed_at or history[-1].kind == EventKind.ANSWER
        else:
            assert report.close_reason is None and report.closed_at is None
        if report.expected_at is not None:
            assert EventKind.EXPECTED in {e.kind for e in history}
        if report.duplicate_of_id is not None:
            assert report.close_reason is not None and report.close_reason.value == "duplicate"
    closed = [r for r in found if r.status == ReportStatus.CLOSED]
    assert len({r.close_reason for r in closed}) >= 4
    assert sum(bool(r.status_notes) for r in closed) > 0.6 * len(closed)
    assert any(r.expected_at is not None for r in found if r.status == ReportStatus.IN_PROGRESS) or not [
        r for r in found if r.status == ReportStatus.IN_PROGRESS
    ]


async def test_residents_file_and_follow_reports_without_flooding_the_outbox(session: AsyncSession) -> None:
    filed = list((await session.execute(select(ReportContact).where(ReportContact.person_id.is_not(None)))).scalars())
    assert 0.2 * 400 < len(filed) < 0.6 * 400
    followed = {
        (f.report_id, f.person_id) for f in (await session.execute(select(ReportFollower))).scalars() if f.person_id
    }
    assert all((contact.report_id, contact.person_id) in followed for contact in filed)
    assert int((await session.execute(select(func.count()).select_from(OutboxMessage))).scalar_one()) == 0

    citizen = await people.find_person_by_email(session, DEMO_ACCOUNTS[0].email)
    assert citizen is not None
    assert any(contact.person_id == citizen.id for contact in filed)
    inbox = await notifications.list_notifications(session, citizen)
    assert inbox and all(n.link.startswith("/reports/") for n in inbox)
    assert await notifications.unread_count(session, citizen.id) == min(2, len(inbox))


async def _snapshot(session: AsyncSession) -> list[tuple[Any, ...]]:
    codes = {category.id: category.code for category in await reports.list_categories(session, True)}
    return [
        (codes[r.category_id], r.description, r.status, r.close_reason, r.lon, r.lat, r.attributes, r.status_notes)
        for r in await _all_reports(session)
    ]


async def test_the_same_seed_files_the_same_reports(empty_session: AsyncSession, settings: Settings) -> None:
    demo_settings = settings.model_copy(update={"demo_citizens": 40, "demo_reports": 120})
    first_build = await empty_session.begin_nested()
    await build_demo(empty_session, demo_settings, with_open_data=False, only=frozenset({"reports"}))
    first = await _snapshot(empty_session)
    await first_build.rollback()
    empty_session.expunge_all()
    await build_demo(empty_session, demo_settings, with_open_data=False, only=frozenset({"reports"}))
    assert await _snapshot(empty_session) == first
    assert len(first) == 120


async def test_seeded_french_texts_keep_a_no_break_space_before_punctuation(session: AsyncSession) -> None:
    categories = await reports.list_categories(session)
    questions = await reports.attributes_of(session, [category.id for category in categories])
    french = [category.name for category in categories] + [category.description for category in categories]
    french += [question.description for each in questions.values() for question in each]
    french += [str(value.get("name", "")) for each in questions.values() for q in each for value in q.values or []]
    french += [report.description for report in await _all_reports(session) if report.locale == "fr"]
    assert len(french) > 300
    assert [place for text in french for place in plain_spaces(text)] == []
