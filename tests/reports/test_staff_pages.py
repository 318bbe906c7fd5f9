"""The reports back office: a department's queue, the update form (status, answer, note, date, department),
merging, and the reporter's contact shown to handlers only, with the access logged."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.people import service as people
from citoyen.people.models import OutboxMessage, Person, Role
from citoyen.reports import service as reports
from citoyen.reports.models import CloseReason, Report, ReportStatus
from tests.conftest import csrf_token
from tests.factories import create_person, log_in
from tests.reports.helpers import EAST, WEST, ReportsWorld, create_reports_world, file_report


@pytest.fixture
async def world(session: AsyncSession) -> ReportsWorld:
    return await create_reports_world(session)


async def staff_of(session: AsyncSession, department_id: int, email: str | None = None) -> Person:
    person = await create_person(session, email, role=Role.STAFF, display_name="Agent voirie")
    person.department_id = department_id
    await session.flush()
    return person


def update_form(**fields: str) -> dict[str, str]:
    form = {"status": "", "close_reason": "", "public_answer": "", "internal_note": "", "expected_at": ""}
    form.update(fields)
    return form


async def post_update(client: httpx.AsyncClient, report: Report, **fields: str) -> httpx.Response:
    token = await csrf_token(client, f"/staff/reports/{report.id}")
    data: dict[str, Any] = {**update_form(**fields), "csrf_token": token}
    data.setdefault("department_id", str(report.department_id or ""))
    return await client.post(f"/staff/reports/{report.id}", data=data, headers={"Accept-Language": "en"})


async def test_the_queue_shows_the_department_s_reports(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: ReportsWorld
) -> None:
    roads = await staff_of(session, world.roads.id)
    pothole = await file_report(session, world, EAST, "pothole")
    light = await file_report(session, world, WEST)
    closed = await file_report(session, world, EAST, "pothole")
    admin = await create_person(session, role=Role.ADMIN)
    closing = reports.StaffUpdate(status=ReportStatus.CLOSED, close_reason=CloseReason.FIXED)
    await reports.update_report(session, settings, admin, closed, closing)
    await session.commit()

    await log_in(client, roads.email)
    queue = await client.get("/staff/reports", headers={"Accept-Language": "en"})
    assert queue.status_code == 200 and "Reports to handle" in queue.text
    assert f'href="/staff/reports/{pothole.id}"' in queue.text
    assert f'href="/staff/reports/{light.id}"' not in queue.text
    assert f'href="/staff/reports/{closed.id}"' not in queue.text  # not closed, by default
    everything = await client.get("/staff/reports", params={"status": "all"})
    assert f'href="/staff/reports/{closed.id}"' in everything.text
    assert f'href="/staff/reports/{light.id}"' not in everything.text
    assert 'href="/staff/reports"' in everything.text  # in the main navigation

    await log_in(client, admin.email)
    all_departments = await client.get("/staff/reports")
    assert f'href="/staff/reports/{light.id}"' in all_departments.text
    lighting_only = await client.get("/staff/reports", params={"department": str(world.lighting.id)})
    assert f'href="/staff/reports/{light.id}"' in lighting_only.text
    assert f'href="/staff/reports/{pothole.id}"' not in lighting_only.text


async def test_visitors_and_citizens_are_kept_out(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld
) -> None:
    citizen = await create_person(session)
    report = await file_report(session, world)
    await session.commit()
    anonymous = await client.get(f"/staff/reports/{report.id}")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    await log_in(client, citizen.email)
    assert (await client.get("/staff/reports")).status_code == 403
    assert (await client.get(f"/staff/reports/{report.id}")).status_code == 403


async def test_another_department_s_staff_cannot_handle_the_report(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld
) -> None:
    roads = await staff_of(session, world.roads.id)
    light = await file_report(session, world)  # a street light: the lighting department's
    await session.commit()
    await log_in(client, roads.email)
    assert (await client.get(f"/staff/reports/{light.id}")).status_code == 403
    token = await csrf_token(client, "/staff/reports")
    response = await client.post(
        f"/staff/reports/{light.id}", data={**update_form(status="in_progress"), "csrf_token": token}
    )
    assert response.status_code == 403
    await session.refresh(light)
    assert light.status == ReportStatus.OPEN


async def test_closing_needs_a_reason(client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld) -> None:
    lighting = await staff_of(session, world.lighting.id)
    report = await file_report(session, world)
    await session.commit()
    await log_in(client, lighting.email)
    response = await post_update(client, report, status="closed", public_answer="Réparé hier")
    assert response.status_code == 400
    assert "Say why the report is closed." in response.text and "Réparé hier" in response.text
    await session.refresh(report)
    assert report.status == ReportStatus.OPEN and report.status_notes == ""


async def test_closing_with_an_answer_tells_the_follower_and_shows_on_the_public_page(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld
) -> None:
    lighting = await staff_of(session, world.lighting.id)
    report = await file_report(session, world, email="riverain@example.org")
    await session.commit()
    await log_in(client, lighting.email)
    response = await post_update(
        client,
        report,
        status="closed",
        close_reason="fixed",
        public_answer="La lampe a été remplacée.",
        internal_note="Équipe de nuit, nacelle 3",
        expected_at="2026-12-01",
    )
    assert response.status_code == 303 and response.headers["location"] == f"/staff/reports/{report.id}"
    mails = list((await session.execute(select(OutboxMessage))).scalars())
    assert [mail.recipient for mail in mails] == ["riverain@example.org"]
    assert "La lampe a été remplacée." in mails[0].body

    public = await client.get(f"/reports/{report.id}", headers={"Accept-Language": "en"})
    assert "La lampe a été remplacée." in public.text
    assert "closed" in public.text and "(fixed)" in public.text and "2026-12-01" in public.text
    assert "nacelle" not in public.text and "Internal note" not in public.text
    staff_page = await client.get(f"/staff/reports/{report.id}", headers={"Accept-Language": "en"})
    assert "Équipe de nuit, nacelle 3" in staff_page.text and "Agent voirie" in staff_page.text


async def test_reassigning_passes_the_report_on(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld
) -> None:
    lighting = await staff_of(session, world.lighting.id)
    report = await file_report(session, world)
    await session.commit()
    await log_in(client, lighting.email)
    response = await post_update(client, report, department_id=str(world.roads.id), internal_note="Pour la voirie")
    assert response.status_code == 303 and response.headers["location"] == "/staff/reports"
    await session.refresh(report)
    assert report.department_id == world.roads.id
    unknown = await post_update(client, report, department_id="999999")
    assert unknown.status_code == 403  # no longer the lighting department's report


async def test_viewing_a_signed_in_reporter_s_contact_is_logged(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld
) -> None:
    roads = await staff_of(session, world.roads.id)
    reporter = await create_person(session, "reporter@example.org", display_name="Marcelle")
    by_account = await file_report(session, world, EAST, "pothole", person_id=reporter.id, phone="0601020304")
    by_mail = await file_report(session, world, EAST, "pothole", email="sans-compte@example.org")
    anonymous = await file_report(session, world, EAST, "pothole")
    await session.commit()
    await log_in(client, roads.email)

    page = await client.get(f"/staff/reports/{by_account.id}", headers={"Accept-Language": "en"})
    assert "reporter@example.org" in page.text and "0601020304" in page.text and "Marcelle" in page.text
    entries = await people.access_log(session, reporter)
    assert [(entry.action, entry.detail, entry.actor_id) for entry in entries] == [
        ("report_contact_viewed", f"report #{by_account.id}", roads.id)
    ]
    mail_only = await client.get(f"/staff/reports/{by_mail.id}", headers={"Accept-Language": "en"})
    assert "sans-compte@example.org" in mail_only.text and "Who reported it" in mail_only.text
    nobody = await client.get(f"/staff/reports/{anonymous.id}", headers={"Accept-Language": "en"})
    assert "Who reported it" not in nobody.text


async def test_merging_a_duplicate(client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld) -> None:
    roads = await staff_of(session, world.roads.id)
    original = await file_report(session, world, EAST, "pothole")
    duplicate = await file_report(session, world, EAST, "pothole", email="voisine@example.org")
    await session.commit()
    await log_in(client, roads.email)
    token = await csrf_token(client, f"/staff/reports/{duplicate.id}")
    wrong = await client.post(
        f"/staff/reports/{duplicate.id}/merge",
        data={"csrf_token": token, "original": "abc"},
        headers={"Accept-Language": "en"},
    )
    assert wrong.status_code == 400 and "Give the number of the report" in wrong.text
    missing = await client.post(
        f"/staff/reports/{duplicate.id}/merge", data={"csrf_token": token, "original": "999999"}
    )
    assert missing.status_code == 400 and "999999" in missing.text
    merged = await client.post(
        f"/staff/reports/{duplicate.id}/merge", data={"csrf_token": token, "original": f"#{original.id}"}
    )
    assert merged.status_code == 303
    await session.refresh(duplicate)
    assert duplicate.status == ReportStatus.CLOSED and duplicate.duplicate_of_id == original.id
    public = await client.get(f"/reports/{duplicate.id}", headers={"Accept-Language": "en"})
    assert f'href="/reports/{original.id}"' in public.text and "duplicate of another report" in public.text


async def test_staff_cannot_merge_their_report_into_another_department_s(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld
) -> None:
    roads = await staff_of(session, world.roads.id)
    lights_report = await file_report(session, world)  # a street light: the lighting department's
    duplicate = await file_report(session, world, EAST, "pothole", email="voisine@example.org")
    await session.commit()
    await log_in(client, roads.email)
    token = await csrf_token(client, f"/staff/reports/{duplicate.id}")
    refused = await client.post(
        f"/staff/reports/{duplicate.id}/merge", data={"csrf_token": token, "original": str(lights_report.id)}
    )
    assert refused.status_code == 403
    await session.refresh(duplicate)
    await session.refresh(lights_report)
    assert duplicate.status == ReportStatus.OPEN and duplicate.duplicate_of_id is None
    assert lights_report.supports == 0
