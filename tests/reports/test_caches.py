"""What each app process keeps between requests (the catalog of categories, recent Open311 answers) never
hides a change: filings, staff updates and admin edits show at once."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.people import service as people
from citoyen.people.models import Role
from citoyen.reports import service as reports
from citoyen.reports.models import AttributeType, CloseReason, Report, ReportStatus
from tests.factories import create_person
from tests.reports.helpers import WEST, ReportsWorld, create_reports_world, file_report

REQUESTS = "/open311/v2/requests.json"


@pytest.fixture
async def world(session: AsyncSession) -> ReportsWorld:
    world = await create_reports_world(session)
    await session.commit()
    return world


@pytest.fixture
async def api_key(session: AsyncSession) -> str:
    _token, secret = await people.create_api_token(session, "Mobile app", ["open311"])
    await session.commit()
    return secret


async def listed(client: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    response = await client.get(REQUESTS, params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()
    return items


async def post(client: httpx.AsyncClient, api_key: str, code: str, **fields: str) -> httpx.Response:
    form = {"api_key": api_key, "service_code": code, "lat": str(WEST[1]), "long": str(WEST[0]), **fields}
    return await client.post(REQUESTS, data=form)


async def test_open311_answers_follow_filings_updates_and_renames(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld, settings: Settings
) -> None:
    admin = await create_person(session, role=Role.ADMIN)
    first = await file_report(session, world)
    await session.commit()
    assert [item["service_request_id"] for item in await listed(client)] == [first.id]

    second = await file_report(session, world)
    await session.commit()
    assert [item["service_request_id"] for item in await listed(client)] == [second.id, first.id]

    change = reports.StaffUpdate(status=ReportStatus.CLOSED, close_reason=CloseReason.FIXED, public_answer="Réparé.")
    await reports.update_report(session, settings, admin, first, change)
    await session.commit()
    closed = (await listed(client, status="closed"))[0]
    assert closed["service_request_id"] == first.id and closed["status_notes"] == "Réparé."
    assert next(i for i in await listed(client) if i["service_request_id"] == first.id)["status"] == "closed"

    await reports.save_category(
        session, reports.CategoryInput(code="streetlight", name="Éclairage public"), world.light
    )
    await session.commit()
    assert {item["service_name"] for item in await listed(client, locale="fr")} == {"Éclairage public"}


async def test_an_identical_query_is_answered_again_from_memory(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld
) -> None:
    report = await file_report(session, world, description="avant")
    await session.commit()
    assert (await listed(client))[0]["description"] == "avant"
    # A write that bypasses the service (it leaves updated_at alone) is not seen while the answer is
    # fresh: the proof that the answer came from memory. Another query is answered from the database.
    await session.execute(update(Report).where(Report.id == report.id).values(description="après"))
    await session.commit()
    assert (await listed(client))[0]["description"] == "avant"
    assert (await listed(client, status="open"))[0]["description"] == "après"


async def test_filing_follows_the_admins_edits_of_categories_and_routing(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld, api_key: str
) -> None:
    assert (await post(client, api_key, "streetlight")).status_code == 200

    await reports.set_category_active(session, world.light, False)
    await session.commit()
    refused = await post(client, api_key, "streetlight")
    assert refused.status_code == 404 and "streetlight" in refused.json()[0]["description"]

    await reports.set_category_active(session, world.light, True)
    question = reports.AttributeInput(
        code="pole", datatype=AttributeType.STRING, description="Numéro du mât", required=True
    )
    await reports.save_category(
        session, reports.CategoryInput(code="streetlight", name="Lampadaire", attributes=[question]), world.light
    )
    await session.commit()
    assert (await post(client, api_key, "streetlight")).status_code == 400
    answered = await post(client, api_key, "streetlight", **{"attribute[pole]": "P12"})
    assert answered.status_code == 200

    await reports.set_routing_rule(session, world.light.id, world.roads.id)
    await session.commit()
    routed = await post(client, api_key, "streetlight", **{"attribute[pole]": "P13"})
    report = await reports.get_report(session, routed.json()[0]["service_request_id"])
    assert report.department_id == world.roads.id
