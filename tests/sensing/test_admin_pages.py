"""Administrators set who sees each sensor and whose it is, and create device tokens that may write."""

from __future__ import annotations

import re

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.people import service as people
from citoyen.people.models import Role
from citoyen.sensing.models import Thing, ThingAccess
from tests.conftest import csrf_token
from tests.factories import create_person, log_in
from tests.sensing.live_helpers import create_sensor


async def test_only_administrators_manage_sensors(client: httpx.AsyncClient, session: AsyncSession) -> None:
    staff = await create_person(session, role=Role.STAFF)
    await session.commit()
    assert (await client.get("/admin/sensing", follow_redirects=False)).status_code == 303  # to the login page
    await log_in(client, staff.email)
    assert (await client.get("/admin/sensing")).status_code == 403


async def test_an_administrator_makes_a_meter_personal_then_public(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    admin = await create_person(session, role=Role.ADMIN)
    owner = await create_person(session, email="household@example.org")
    world = await create_sensor(session, name="Meter of flat 2")
    await session.commit()
    await log_in(client, admin.email)
    page = await client.get("/admin/sensing", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "Meter of flat 2" in page.text
    token = await csrf_token(client, "/admin/sensing")
    path = f"/admin/sensing/things/{world.thing_id}"

    no_owner = await client.post(
        path, data={"access": "personal", "owner_email": "", "csrf_token": token}, headers={"Accept-Language": "en"}
    )
    assert no_owner.status_code == 400 and "needs an owner" in no_owner.text
    unknown = await client.post(path, data={"access": "personal", "owner_email": "nobody@x.org", "csrf_token": token})
    assert unknown.status_code == 400
    bad = await client.post(path, data={"access": "secret", "owner_email": "", "csrf_token": token})
    assert bad.status_code == 400
    thing = await session.get(Thing, world.thing_id)
    assert thing is not None
    await session.refresh(thing)
    assert thing.access == ThingAccess.PUBLIC and thing.owner_person_id is None

    saved = await client.post(
        path, data={"access": "personal", "owner_email": "household@example.org", "csrf_token": token}
    )
    assert saved.status_code == 303
    thing = await session.get(Thing, world.thing_id, populate_existing=True)
    assert thing is not None
    assert thing.access == ThingAccess.PERSONAL and thing.owner_person_id == owner.id
    assert (await client.post(path, data={"access": "public", "owner_email": ""})).status_code == 403  # no CSRF
    await client.post(path, data={"access": "public", "owner_email": "", "csrf_token": token})
    thing = await session.get(Thing, world.thing_id, populate_existing=True)
    assert thing is not None
    assert thing.access == ThingAccess.PUBLIC and thing.owner_person_id is None
    assert (
        await client.post("/admin/sensing/things/999999", data={"access": "public", "csrf_token": token})
    ).status_code == 404


async def test_a_device_token_can_write_sensing_data_only(client: httpx.AsyncClient, session: AsyncSession) -> None:
    admin = await create_person(session, role=Role.ADMIN)
    await session.commit()
    await log_in(client, admin.email)
    token = await csrf_token(client, "/admin/sensing")
    empty = await client.post("/admin/sensing/tokens", data={"name": "", "csrf_token": token})
    assert empty.status_code == 400
    created = await client.post("/admin/sensing/tokens", data={"name": "Station Belleville", "csrf_token": token})
    assert created.status_code == 201
    match = re.search(r'id="new-token">([^<]+)<', created.text)
    assert match
    secret = match.group(1)
    assert await people.verify_api_token(session, secret, "sensing:write") is not None
    assert await people.verify_api_token(session, secret, "open311") is None
