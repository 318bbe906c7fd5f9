"""Every form refuses characters no database may keep (PostgreSQL refuses NUL mid-transaction): the forms
that citizens fill show their text back with the reason (tested beside them); every other form answers a
400 page that says why, in the reader's language, and stores nothing."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.people import service as people
from citoyen.people.models import Role
from tests.conftest import csrf_token
from tests.factories import create_person, log_in


async def test_an_admin_form_with_a_nul_byte_is_refused_and_stores_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    admin = await create_person(session, role=Role.ADMIN)
    await session.commit()
    await log_in(client, admin.email)
    token = await csrf_token(client, "/admin/departments")
    before = len(await people.list_departments(session))
    form = {"csrf_token": token, "code": "eaux", "name": "Eaux\x00 et assainissement", "email": ""}
    french = await client.post("/admin/departments", data=form, headers={"Accept-Language": "fr"})
    assert french.status_code == 400 and "caractères de contrôle" in french.text
    english = await client.post("/admin/departments", data=form, headers={"Accept-Language": "en"})
    assert english.status_code == 400 and "control characters" in english.text
    assert len(await people.list_departments(session)) == before
    form["name"] = "Eaux et assainissement"
    accepted = await client.post("/admin/departments", data=form)
    assert accepted.status_code == 303 and len(await people.list_departments(session)) == before + 1
