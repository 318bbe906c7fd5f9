"""Consent, recorded per purpose with the version of its text: the decision in force is the latest."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.i18n import N_
from citoyen.people.errors import PeopleError
from citoyen.people.models import ConsentRecord, Person


@dataclass(frozen=True)
class ConsentPurpose:
    key: str
    title: str  # msgid
    description: str  # msgid
    version: str


CONSENT_PURPOSES: dict[str, ConsentPurpose] = {
    purpose.key: purpose
    for purpose in (
        ConsentPurpose(
            "email_notifications",
            N_("E-mail notifications"),
            N_("Receive by e-mail, at most once a day, news of what you follow (proposals, reports, processes)."),
            "2026-11",
        ),
        ConsentPurpose(
            "research",
            N_("Research use"),
            N_(
                "Allow researchers working with the city to use your contributions, pseudonymised, "
                "in studies of participation. Withdrawing stops any new use."
            ),
            "2026-11",
        ),
    )
}


async def current_consents(session: AsyncSession, person: Person) -> dict[str, ConsentRecord | None]:
    """The decision in force for each purpose (None: never asked, which counts as not given)."""
    query = select(ConsentRecord).where(ConsentRecord.person_id == person.id).order_by(ConsentRecord.id)
    latest: dict[str, ConsentRecord | None] = dict.fromkeys(CONSENT_PURPOSES)
    for record in (await session.execute(query)).scalars():
        latest[record.purpose] = record
    return latest


async def has_consent(session: AsyncSession, person: Person, purpose: str) -> bool:
    record = (await current_consents(session, person)).get(purpose)
    return bool(record and record.granted)


async def record_consent(session: AsyncSession, person: Person, purpose: str, granted: bool) -> ConsentRecord:
    if purpose not in CONSENT_PURPOSES:
        raise PeopleError(N_("Unknown purpose."))
    record = ConsentRecord(
        person_id=person.id, purpose=purpose, granted=granted, text_version=CONSENT_PURPOSES[purpose].version
    )
    session.add(record)
    await session.flush()
    return record
