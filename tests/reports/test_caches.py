"""What each app process keeps between requests (the catalog of categories, recent Open311 answers) never
hides a change for long: filings and staff updates show at once, an admin's edit at once in the process that
made it and within `reference_cache_seconds` in the others (here, edits through the services stand for
another process's)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen import throttle
from citoyen.config import Settings
from citoyen.people import service as people
from citoyen.people.models import Role
from citoyen.reports import service as reports
from citoyen.reports.models import AttributeType, CloseReason, Report, ReportStatus
from tests.conftest import csrf_token
from tests.factories import create_person, log_in
from tests.reports.helpers import WEST, ReportsWorld, create_reports_world, file_report

REQUESTS = "/open311/v2/requests.json"
REVALIDATE_SECONDS = 0.2


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"reference_cache_seconds": REVALIDATE_SECONDS})


async def another_process_edited(session: AsyncSession) -> None:
    """Commit an edit made outside the app's process, then wait until the app checks for changes again."""
    await session.commit()
    await asyncio.sleep(REVALIDATE_SECONDS * 1.5)


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
    await another_process_edited(session)
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
    # Until the app checks again, it still files under the catalog it holds: the proof that it holds one.
    assert (await post(client, api_key, "streetlight")).status_code == 200
    await asyncio.sleep(REVALIDATE_SECONDS * 1.5)
    refused = await post(client, api_key, "streetlight")
    assert refused.status_code == 404 and "streetlight" in refused.json()[0]["description"]

    await reports.set_category_active(session, world.light, True)
    question = reports.AttributeInput(
        code="pole", datatype=AttributeType.STRING, description="Numéro du mât", required=True
    )
    await reports.save_category(
        session, reports.CategoryInput(code="streetlight", name="Lampadaire", attributes=[question]), world.light
    )
    await another_process_edited(session)
    assert (await post(client, api_key, "streetlight")).status_code == 400
    answered = await post(client, api_key, "streetlight", **{"attribute[pole]": "P12"})
    assert answered.status_code == 200

    await reports.set_routing_rule(session, world.light.id, world.roads.id)
    await another_process_edited(session)
    routed = await post(client, api_key, "streetlight", **{"attribute[pole]": "P13"})
    report = await reports.get_report(session, routed.json()[0]["service_request_id"])
    assert report.department_id == world.roads.id


async def test_an_admins_routing_rule_applies_at_once_in_the_process_that_saved_it(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld, api_key: str, app: FastAPI
) -> None:
    app.state.report_catalog.revalidate_seconds = 3600  # left alone, this process would not look for an hour
    light_id, roads_id = world.light.id, world.roads.id
    admin = await create_person(session, role=Role.ADMIN)
    await session.commit()
    first = await post(client, api_key, "streetlight")
    assert (await reports.get_report(session, first.json()[0]["service_request_id"])).department_id != roads_id

    await log_in(client, admin.email)
    form = {"csrf_token": await csrf_token(client, "/admin/reports/categories")}
    form |= {"category_id": str(light_id), "department_id": str(roads_id), "neighbourhood_id": ""}
    assert (await client.post("/admin/reports/routing", data=form)).status_code == 303

    routed = await post(client, api_key, "streetlight")
    session.expire_all()
    assert (await reports.get_report(session, routed.json()[0]["service_request_id"])).department_id == roads_id


async def test_a_key_revoked_elsewhere_is_refused_after_the_revalidation_delay_and_at_once_here(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld
) -> None:
    token, secret = await people.create_api_token(session, "Mobile app", ["open311"])
    await session.commit()
    assert (await post(client, secret, "streetlight")).status_code == 200
    await people.revoke_api_token(session, token.id)
    await another_process_edited(session)
    assert (await post(client, secret, "streetlight")).status_code == 403

    # Revoked from this process's admin page: refused on the next request, without waiting.
    token, secret = await people.create_api_token(session, "Kiosk", ["open311"])
    admin = await create_person(session, role=Role.ADMIN)
    await session.commit()
    token_id = token.id
    assert (await post(client, secret, "streetlight")).status_code == 200
    await log_in(client, admin.email)
    form = {"csrf_token": await csrf_token(client, "/admin/tokens")}
    assert (await client.post(f"/admin/tokens/{token_id}/revoke", data=form)).status_code == 303
    assert (await post(client, secret, "streetlight")).status_code == 403


async def test_the_rate_limit_counts_the_uses_other_processes_recorded(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld, api_key: str, settings: Settings
) -> None:
    # Uses recorded by other processes (here: straight into the database) count once this process reads
    # the shared count again; from 90 % of the limit on it reads it on every request.
    settings.open311_requests_per_minute = 10
    assert (await post(client, api_key, "streetlight")).status_code == 200
    token = await people.verify_api_token(session, api_key, "open311")
    assert token is not None
    for _ in range(8):
        await throttle.record(session, f"open311:{token.id}", timedelta(minutes=1))
    await session.commit()
    await asyncio.sleep(REVALIDATE_SECONDS * 1.5)
    assert (await post(client, api_key, "streetlight")).status_code == 200  # the 10th use is allowed
    assert (await post(client, api_key, "streetlight")).status_code == 429
