"""Verification pages over HTTP: a citizen verifies; an administrator imports a list."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.people.models import Role
from citoyen.verification import service as verification
from tests.conftest import csrf_token
from tests.factories import create_person, log_in
from tests.verification.helpers import RESIDENTS_CSV, import_residents

EN = {"Accept-Language": "en"}


async def test_a_citizen_verifies_their_residence(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    person = await create_person(session)
    await import_residents(session, settings)
    await session.commit()
    await log_in(client, person.email)
    token = await csrf_token(client, "/account/verification")
    wrong = await client.post(
        "/account/verification",
        data={"csrf_token": token, "document_number": "AB123456", "birth_date": "1984-03-13"},
        headers=EN,
    )
    assert wrong.status_code == 400 and "We found no resident" in wrong.text
    right = await client.post(
        "/account/verification",
        data={
            "csrf_token": token,
            "document_number": "ab 123 456",
            "birth_date": "12/03/1984",
            "next": "/participation/budgets",
        },
    )
    assert right.status_code == 303 and right.headers["location"] == "/participation/budgets"
    assert await verification.is_verified(session, person.id)
    page = await client.get("/account/verification", headers=EN)
    assert "Your account is verified as a resident" in page.text


async def test_repeated_guesses_are_answered_429(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    person = await create_person(session)
    await import_residents(session, settings)
    await session.commit()
    await log_in(client, person.email)
    token = await csrf_token(client, "/account/verification")
    guess = {"csrf_token": token, "document_number": "ZZ999999", "birth_date": "2000-01-01"}
    statuses = [(await client.post("/account/verification", data=guess)).status_code for _ in range(6)]
    assert statuses == [400] * 5 + [429]


async def test_an_admin_imports_a_list_by_upload(client: httpx.AsyncClient, session: AsyncSession) -> None:
    admin = await create_person(session, role=Role.ADMIN)
    await session.commit()
    await log_in(client, admin.email)
    token = await csrf_token(client, "/admin/verification")
    bad = await client.post(
        "/admin/verification",
        data={"csrf_token": token, "name": "Mauvaise"},
        files={"file": ("liste.csv", b"nom,prenom\nDupont,Jean\n", "text/csv")},
        headers=EN,
    )
    assert bad.status_code == 400 and "Nothing was imported" in bad.text
    good = await client.post(
        "/admin/verification",
        data={"csrf_token": token, "name": "Liste électorale 2027"},
        files={"file": ("liste.csv", RESIDENTS_CSV.encode(), "text/csv")},
    )
    assert good.status_code == 303
    page = await client.get("/admin/verification", headers=EN)
    assert "Liste électorale 2027" in page.text and "<td>4</td>" in page.text
    assert "AB123456" not in page.text


async def test_citizens_cannot_reach_the_admin_page(client: httpx.AsyncClient, session: AsyncSession) -> None:
    person = await create_person(session)
    await session.commit()
    await log_in(client, person.email)
    assert (await client.get("/admin/verification")).status_code == 403
