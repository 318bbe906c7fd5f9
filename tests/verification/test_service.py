from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.models import metadata
from citoyen.people import service as people
from citoyen.verification import service as verification
from tests.factories import create_person
from tests.verification.helpers import import_residents, verify


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("ab123456", "AB123456"),
        (" AB 123 456 ", "AB123456"),
        ("ab-123.456", "AB123456"),
        ("Éf12", "EF12"),
    ],
)
def test_document_numbers_are_normalised(typed: str, expected: str) -> None:
    assert verification.normalise_document_number(typed) == expected


@pytest.mark.parametrize(
    "typed",
    ["2001-04-09", "09/04/2001", "9/4/2001", "09.04.2001", "09-04-2001", "20010409", "09042001", " 2001/04/09 "],
)
def test_birth_dates_are_read_in_every_usual_format(typed: str) -> None:
    assert verification.normalise_birth_date(typed) == date(2001, 4, 9)


@pytest.mark.parametrize("typed", ["", "31/02/2001", "2001-13-01", "yesterday", "1/1/01"])
def test_impossible_birth_dates_are_refused(typed: str) -> None:
    with pytest.raises(verification.VerificationError, match="not a valid date"):
        verification.normalise_birth_date(typed)


def test_the_hash_depends_on_the_pepper_and_the_salt() -> None:
    identifier = verification.normalised_identifier("AB123456", "1984-03-12")
    base = verification.identifier_hash(b"pepper", "salt", identifier)
    assert len(base) == 64 and identifier not in base
    assert verification.identifier_hash(b"other pepper", "salt", identifier) != base
    assert verification.identifier_hash(b"pepper", "other salt", identifier) != base
    assert verification.identifier_hash(b"pepper", "salt", identifier) == base


def test_a_bad_residents_file_is_refused_with_its_lines() -> None:
    with pytest.raises(verification.ResidentListError) as refused:
        verification.parse_resident_csv(
            b"document_number,birth_date\nAB1,2001-02-30\n,2001-01-01\nAB2,1990-01-01\nab 2,01/01/1990\n"
        )
    problems = refused.value.problems
    assert any(p.startswith("line 2:") and "valid date" in p for p in problems)
    assert any(p.startswith("line 3:") for p in problems)
    assert any(p.startswith("line 5:") and "same resident as line 4" in p for p in problems)
    with pytest.raises(verification.ResidentListError, match="name the columns"):
        verification.parse_resident_csv(b"nom,prenom\nDupont,Jean\n")
    with pytest.raises(verification.ResidentListError, match="UTF-8"):
        verification.parse_resident_csv("numero_document;date_naissance\nAB1;1990-01-01\n".encode("utf-16"))


async def _all_text_in_database(session: AsyncSession) -> str:
    chunks: list[str] = []
    for table in metadata.sorted_tables:
        rows = await session.execute(text(f"SELECT * FROM {table.name}"))  # noqa: S608 - our own table names
        chunks.extend(str(tuple(row)) for row in rows)
    return "\n".join(chunks).upper()


async def test_no_identifier_is_stored_in_clear_anywhere(session: AsyncSession, settings: Settings) -> None:
    person = await create_person(session)
    await import_residents(session, settings)
    await verify(session, settings, person, "cd654321", "2001-04-09")
    await session.flush()
    everything = await _all_text_in_database(session)
    for clear in ("AB123456", "CD654321", "CD 654 321", "EF777888", "1984-03-12", "2001-04-09", "09/04/2001", "1950"):
        # Whole tokens only: a 64-digit hex digest holds any four digits now and then ("...3195095..."),
        # which says nothing about a birth year being stored.
        assert not re.search(rf"(?<![0-9A-Z]){re.escape(clear)}(?![0-9A-Z])", everything), clear
    # The pepper is not in the database either.
    assert verification.resolved_pepper(settings).decode().upper() not in everything


async def test_a_citizen_verifies_with_identifiers_typed_differently(session: AsyncSession, settings: Settings) -> None:
    person = await create_person(session)
    await import_residents(session, settings)
    assert not await verification.is_verified(session, person.id)
    entry = await verify(session, settings, person, " cd-654-321 ", "9/4/2001")
    assert entry.person_id == person.id and entry.verified_at is not None
    assert await verification.is_verified(session, person.id)
    assert (await verification.require_verified(session, person.id)).id == entry.id


async def test_unknown_identifiers_are_refused(session: AsyncSession, settings: Settings) -> None:
    person = await create_person(session)
    await import_residents(session, settings)
    with pytest.raises(verification.VerificationError, match="found no resident"):
        await verify(session, settings, person, "AB123456", "1984-03-13")
    with pytest.raises(verification.VerificationError, match="Only verified residents"):
        await verification.require_verified(session, person.id)


async def test_one_identifier_verifies_only_one_account(session: AsyncSession, settings: Settings) -> None:
    first, second = await create_person(session), await create_person(session)
    await import_residents(session, settings)
    await verify(session, settings, first)
    with pytest.raises(verification.VerificationError) as refused:
        await verify(session, settings, second, "ab 123 456", "12/03/1984")
    assert refused.value.kind == "taken"
    assert not await verification.is_verified(session, second.id)


async def test_guessing_is_rate_limited_per_account(session: AsyncSession, settings: Settings) -> None:
    person = await create_person(session)
    await import_residents(session, settings)
    for _ in range(settings.verification_attempts_per_hour):
        with pytest.raises(verification.VerificationError, match="found no resident"):
            await verify(session, settings, person, "ZZ000000", "2000-01-01")
    with pytest.raises(verification.VerificationError) as refused:
        await verify(session, settings, person)  # even the right identifiers, until the hour has passed
    assert refused.value.kind == "throttled"


async def test_a_withdrawn_list_verifies_nobody(session: AsyncSession, settings: Settings) -> None:
    person = await create_person(session)
    resident_list = await import_residents(session, settings)
    await verify(session, settings, person)
    await verification.set_list_active(session, resident_list.id, False)
    assert not await verification.is_verified(session, person.id)


async def test_erasure_frees_the_link_but_the_resident_stays_one_voter(
    session: AsyncSession, settings: Settings
) -> None:
    from citoyen.app import build_personal_data_registry

    registry = build_personal_data_registry()
    person = await create_person(session)
    await import_residents(session, settings)
    entry = await verify(session, settings, person)
    exported = await people.export_personal_data(session, registry, person)
    assert (
        exported["domains"]["verification"]["tables"]["residence_verification"][0]["residents_list"]
        == "Liste électorale test"
    )
    await people.erase_person(session, registry, person)
    await session.flush()
    await session.refresh(entry)
    assert entry.person_id is None
    newcomer = await create_person(session)
    again = await verify(session, settings, newcomer)
    assert again.id == entry.id  # the same resident, so the same vote key
