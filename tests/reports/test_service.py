from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.db import utcnow
from citoyen.events import DomainEvent, EventHub, ReportFiled, ReportUpdated, attach
from citoyen.notifications import service as notifications
from citoyen.people import service as people
from citoyen.people.models import OutboxMessage, Role
from citoyen.people.registry import PersonalDataRegistry
from citoyen.reports import service as reports
from citoyen.reports.models import CloseReason, ReportContact, ReportStatus
from citoyen.territory import maplayer
from citoyen.territory import service as territory
from tests.factories import create_person
from tests.reports.helpers import EAST, WEST, create_reports_world, file_report


@pytest.fixture
def registry() -> PersonalDataRegistry:
    from citoyen.app import build_personal_data_registry

    return build_personal_data_registry()


async def test_a_report_is_placed_routed_and_indexed(session: AsyncSession) -> None:
    world = await create_reports_world(session)
    report = await file_report(
        session, world, EAST, "pothole", answers={"size": ["large"], "hazards": ["bikes", "cars"], "depth_cm": ["12,5"]}
    )
    assert report.department_id == world.roads.id
    assert report.neighbourhood_id is not None
    assert report.status == ReportStatus.OPEN
    assert report.attributes == {"size": "large", "hazards": ["bikes", "cars"], "depth_cm": 12.5}
    assert report.h3_r8.startswith("88") and report.h3_r6.startswith("86")
    events = await reports.history(session, report.id)
    assert [e.kind.value for e in events] == ["created"]


async def test_a_neighbourhood_rule_wins_over_the_general_rule(session: AsyncSession) -> None:
    world = await create_reports_world(session)
    east = await reports.place_from_text(session, territory.TerritoryIndexCache(), "12 rue de l'Est")
    assert east is not None
    await reports.set_routing_rule(session, world.light.id, world.roads.id, east[1])
    assert (await file_report(session, world, EAST)).department_id == world.roads.id
    assert (await file_report(session, world, WEST)).department_id == world.lighting.id


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({}, "Please answer"),
        ({"size": ["huge"]}, "Unknown value huge for size"),
        ({"size": ["small"], "hazards": ["bikes", "trains"]}, "Unknown value trains for hazards"),
        ({"size": ["small"], "depth_cm": ["deep"]}, "depth_cm must be a number"),
        ({"size": ["small"], "colour": ["red"]}, "Unknown question: colour"),
    ],
)
async def test_wrong_answers_are_refused_and_nothing_is_stored(
    session: AsyncSession, answers: dict[str, list[str]], message: str
) -> None:
    world = await create_reports_world(session)
    with pytest.raises(reports.ReportError, match=message):
        await file_report(session, world, WEST, "pothole", answers=answers)
    assert await reports.count_reports(session, reports.ReportFilters()) == 0


async def test_location_is_required_and_must_be_in_the_city(session: AsyncSession) -> None:
    world = await create_reports_world(session)
    with pytest.raises(reports.ReportError, match="outside the city"):
        await file_report(session, world, (2.6, 48.6))
    with pytest.raises(reports.ReportError, match="Say where"):
        await reports.create_report(session, world.index, reports.NewReport(category_code="streetlight"))
    with pytest.raises(reports.ReportError, match="could not find this address"):
        await reports.create_report(
            session, world.index, reports.NewReport(category_code="streetlight", address="Lyon")
        )
    placed = await reports.create_report(
        session, world.index, reports.NewReport(category_code="streetlight", address="Place de l'Ouest")
    )
    assert placed.address == "Place de l'Ouest" and placed.neighbourhood_id is not None
    with pytest.raises(reports.ReportError, match="at most 4000"):
        await file_report(session, world, WEST, description="x" * 4001)
    with pytest.raises(reports.ReportError) as unknown:
        await file_report(session, world, WEST, "graffiti")
    assert unknown.value.kind == "not_found"


async def test_duplicates_are_the_same_category_within_50_m_in_the_last_30_days(session: AsyncSession) -> None:
    world = await create_reports_world(session)
    near = await file_report(session, world, WEST)
    await file_report(session, world, (WEST[0] + 0.001, WEST[1]))  # about 73 m east
    await file_report(session, world, WEST, "pothole")  # other category
    old = await file_report(session, world, WEST)
    old.requested_at = utcnow() - timedelta(days=31)
    await session.flush()
    found = await reports.nearby_duplicates(session, "streetlight", WEST[0] + 0.0003, WEST[1])
    assert [report.id for report, _ in found] == [near.id]
    assert 20 < found[0][1] < 25


async def test_supports_count_once_per_supporter(session: AsyncSession) -> None:
    world = await create_reports_world(session)
    report = await file_report(session, world)
    await reports.support(session, report, "session:abc")
    await reports.support(session, report, "person:7")
    with pytest.raises(reports.ReportError, match="already support"):
        await reports.support(session, report, "session:abc")
    assert report.supports == 2


async def test_staff_workflow_records_history_and_notifies_followers(session: AsyncSession, settings: Settings) -> None:
    world = await create_reports_world(session)
    staff = await create_person(session, role=Role.STAFF)
    staff.department_id = world.lighting.id
    follower = await create_person(session)
    report = await file_report(session, world, email="anonyme@example.org")
    await reports.follow(session, report, follower.id)

    await reports.update_report(
        session,
        settings,
        staff,
        report,
        reports.StaffUpdate(status=ReportStatus.ACKNOWLEDGED, internal_note="équipe B"),
    )
    with pytest.raises(reports.ReportError, match="Say why"):
        await reports.update_report(session, settings, staff, report, reports.StaffUpdate(status=ReportStatus.CLOSED))
    await reports.update_report(
        session,
        settings,
        staff,
        report,
        reports.StaffUpdate(
            status=ReportStatus.CLOSED, close_reason=CloseReason.FIXED, public_answer="Lampe remplacée."
        ),
    )
    assert report.status == ReportStatus.CLOSED and report.close_reason == CloseReason.FIXED
    assert report.status_notes == "Lampe remplacée." and report.closed_at is not None
    public = [e.kind.value for e in await reports.history(session, report.id)]
    everything = [e.kind.value for e in await reports.history(session, report.id, include_internal=True)]
    assert public == ["created", "status", "status", "answer"]
    assert "note" in everything and "note" not in public

    mails = list((await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())
    assert {m.recipient for m in mails} == {"anonyme@example.org", follower.email}
    inbox = await notifications.list_notifications(session, follower)
    assert len(inbox) == 2 and "Lampe remplacée." in inbox[0].body


async def test_filing_and_updating_are_told_to_other_domains_once_committed(
    session: AsyncSession, settings: Settings
) -> None:
    hub = EventHub()
    heard: list[DomainEvent] = []
    hub.subscribe(ReportFiled, heard.append)
    hub.subscribe(ReportUpdated, heard.append)
    attach(session, hub)
    world = await create_reports_world(session)
    staff = await create_person(session, role=Role.STAFF)
    staff.department_id = world.lighting.id
    report = await file_report(session, world)
    await reports.update_report(session, settings, staff, report, reports.StaffUpdate(status=ReportStatus.IN_PROGRESS))
    assert heard == []  # nothing before the commit
    await session.commit()
    await hub.drain()
    assert heard == [ReportFiled(report_id=report.id), ReportUpdated(report_id=report.id, status="in_progress")]


async def test_staff_of_another_department_cannot_handle_the_report(session: AsyncSession, settings: Settings) -> None:
    world = await create_reports_world(session)
    roads_staff = await create_person(session, role=Role.STAFF)
    roads_staff.department_id = world.roads.id
    report = await file_report(session, world)  # a street light: lighting department
    with pytest.raises(reports.ReportError) as refused:
        await reports.update_report(
            session, settings, roads_staff, report, reports.StaffUpdate(status=ReportStatus.IN_PROGRESS)
        )
    assert refused.value.kind == "forbidden"
    assert report.status == ReportStatus.OPEN


async def test_merging_a_duplicate_moves_followers_and_supports(session: AsyncSession, settings: Settings) -> None:
    world = await create_reports_world(session)
    admin = await create_person(session, role=Role.ADMIN)
    original = await file_report(session, world)
    duplicate = await file_report(session, world, email="voisin@example.org")
    await reports.support(session, duplicate, "session:x")
    await reports.merge_into(session, settings, admin, duplicate, original)
    assert duplicate.status == ReportStatus.CLOSED and duplicate.close_reason == CloseReason.DUPLICATE
    assert duplicate.duplicate_of_id == original.id
    assert original.supports == 2  # the moved support and the duplicate report itself
    export_followers = await reports.search_reports(session, reports.ReportFilters(ids=[original.id]))
    assert export_followers[0].id == original.id


async def test_staff_cannot_merge_into_a_report_of_another_department(
    session: AsyncSession, settings: Settings
) -> None:
    world = await create_reports_world(session)
    cleaning_staff = await create_person(session, role=Role.STAFF)
    roads_report = await file_report(session, world, EAST, "pothole")  # roads department
    cleaning_staff.department_id = roads_report.department_id
    original = await file_report(session, world)  # a street light: lighting department
    duplicate = await file_report(session, world, EAST, "pothole", email="voisin@example.org")
    await reports.support(session, duplicate, "session:x")
    with pytest.raises(reports.ReportError) as refused:
        await reports.merge_into(session, settings, cleaning_staff, duplicate, original)
    assert refused.value.kind == "forbidden"
    assert duplicate.status == ReportStatus.OPEN and duplicate.duplicate_of_id is None
    assert original.supports == 0 and duplicate.supports == 1


async def test_filters_and_the_map_layer(session: AsyncSession) -> None:
    world = await create_reports_world(session)
    for _ in range(3):
        await file_report(session, world, WEST)
    await file_report(session, world, EAST, "pothole")
    assert await reports.count_reports(session, reports.ReportFilters(category_codes=["pothole"])) == 1
    assert await reports.count_reports(session, reports.ReportFilters(statuses=[ReportStatus.CLOSED])) == 0
    cells = await reports.map_layer(session, reports.ReportFilters(), zoom=11)
    assert cells["kind"] == "cells" and sum(c["count"] for c in cells["cells"]) == 4
    points = await reports.map_layer(session, reports.ReportFilters(category_codes=["streetlight"]), zoom=17)
    assert points["kind"] == "points" and len(points["points"]) == 3


async def test_erasing_a_reporter_keeps_the_report_but_no_link_to_them(
    session: AsyncSession, registry: PersonalDataRegistry
) -> None:
    world = await create_reports_world(session)
    person = await create_person(session, "reporter@example.org")
    report = await file_report(session, world, person_id=person.id, first_name="Jeanne", phone="0601020304")
    other = await file_report(session, world, EAST, email="reporter@example.org")
    await reports.support(session, other, f"person:{person.id}", person.id)
    exported = await people.export_personal_data(session, registry, person)
    tables = exported["domains"]["reports"]["tables"]
    assert {row["report_id"] for row in tables["reports_filed"]} == {report.id, other.id}
    assert tables["reports_supported"][0]["report_id"] == other.id

    await people.erase_person(session, registry, person)
    await session.flush()
    assert (await session.execute(select(ReportContact))).first() is None
    kept = await reports.search_reports(session, reports.ReportFilters())
    assert {r.id for r in kept} == {report.id, other.id}
    assert other.supports == 1


async def test_a_crowded_close_up_of_the_reports_map_counts_per_small_cell_until_zoom_18(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(maplayer, "DENSE_POINTS", 3)
    world = await create_reports_world(session)
    for _ in range(3):
        await file_report(session, world, WEST)
    assert (await reports.map_layer(session, reports.ReportFilters(), zoom=16))["kind"] == "points"  # 3: not crowded
    await file_report(session, world, EAST, "pothole")
    crowded = await reports.map_layer(session, reports.ReportFilters(), zoom=16)
    assert crowded["kind"] == "cells" and crowded["resolution"] == 10
    assert sorted(cell["count"] for cell in crowded["cells"]) == [1, 3]
    assert (await reports.map_layer(session, reports.ReportFilters(), zoom=17))["kind"] == "cells"
    everything = await reports.map_layer(session, reports.ReportFilters(), zoom=18)
    assert everything["kind"] == "points" and len(everything["points"]) == 4
