"""Test data for verification: a residents' list imported through the service, as an admin would."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.people.models import Person
from citoyen.verification import service as verification
from citoyen.verification.models import ResidentEntry, ResidentList

RESIDENTS_CSV = (
    "document_number;birth_date\n"
    "AB123456;1984-03-12\n"
    "cd 654 321;09/04/2001\n"
    "EF-777-888;31.12.1950\n"
    "GH000111;2000-01-01\n"
)


async def import_residents(session: AsyncSession, settings: Settings, csv_text: str = RESIDENTS_CSV) -> ResidentList:
    parsed = verification.parse_resident_csv(csv_text.encode())
    return await verification.import_resident_list(session, settings, "Liste électorale test", parsed)


async def verify(
    session: AsyncSession, settings: Settings, person: Person, document: str = "AB123456", birth: str = "1984-03-12"
) -> ResidentEntry:
    return await verification.verify_person(session, settings, person, document, birth, "10.0.0.1")
