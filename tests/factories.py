"""Small helpers that create test data through the services, as the platform itself would."""

from __future__ import annotations

import itertools

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.people import service as people
from citoyen.people.models import Person, Role
from citoyen.people.security import credential_stamp, hash_token
from citoyen.people.service import Claim
from tests.conftest import csrf_token

STRONG_PASSWORD = "lanterne-canal-saint-martin"
_sequence = itertools.count(1)


async def create_person(
    session: AsyncSession,
    email: str | None = None,
    password: str = STRONG_PASSWORD,
    role: Role = Role.CITIZEN,
    display_name: str | None = None,
) -> Person:
    email = email or f"person{next(_sequence)}@example.org"
    return await people.create_person(session, email, password, display_name, role=role)


async def log_in(client: httpx.AsyncClient, email: str, password: str = STRONG_PASSWORD) -> httpx.Response:
    token = await csrf_token(client, "/login")
    response = await client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 303, response.text
    return response


async def claim_of(session: AsyncSession, person: Person) -> Claim:
    """What a session signed in as this person claims, with its session opened (as `web.security.sign_in`
    does)."""
    session_id = await people.open_session(session, person, "")
    return Claim(person.id, credential_stamp(person.password_hash), hash_token(session_id))
