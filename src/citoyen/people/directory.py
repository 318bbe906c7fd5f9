"""What other domains may know about people, looked up for many ids in one statement: public display names,
e-mail addresses (administration screens), the locale of active accounts (to notify them in their language)
and who has consent in force for a purpose. Other domains call these through `people.service` instead of
reading people's tables."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import one_of
from citoyen.people.models import ConsentRecord, Person


def _ids(person_ids: Iterable[int | None]) -> set[int]:
    return {person_id for person_id in person_ids if person_id is not None}


async def display_names(session: AsyncSession, person_ids: Iterable[int | None]) -> dict[int, str]:
    """Public names by id (display names are public by design); unknown ids and None are left out."""
    ids = _ids(person_ids)
    if not ids:
        return {}
    rows = await session.execute(select(Person.id, Person.display_name).where(one_of(session, Person.id, ids)))
    return {int(person_id): name for person_id, name in rows.all()}


async def emails(session: AsyncSession, person_ids: Iterable[int | None]) -> dict[int, str]:
    """E-mail addresses by id, for staff screens that show an owner or a contact; unknown ids are left out."""
    ids = _ids(person_ids)
    if not ids:
        return {}
    rows = await session.execute(select(Person.id, Person.email).where(one_of(session, Person.id, ids)))
    return {int(person_id): email for person_id, email in rows.all()}


@dataclass(frozen=True)
class Recipient:
    """An active account to tell something, in its language."""

    id: int
    locale: str


async def active_recipients(session: AsyncSession, person_ids: Iterable[int | None]) -> list[Recipient]:
    """The active (not suspended) accounts among these ids, by id, with their locale; unknown ids are left out."""
    ids = _ids(person_ids)
    if not ids:
        return []
    rows = await session.execute(
        select(Person.id, Person.locale)
        .where(one_of(session, Person.id, ids), Person.is_active.is_(True))
        .order_by(Person.id)
    )
    return [Recipient(int(person_id), locale) for person_id, locale in rows.all()]


async def consenting(session: AsyncSession, person_ids: Iterable[int | None], purpose: str) -> set[int]:
    """Those of these people whose decision in force for `purpose` is consent (the latest record counts;
    never asked counts as not given)."""
    ids = _ids(person_ids)
    if not ids:
        return set()
    rows = await session.execute(
        select(ConsentRecord.person_id, ConsentRecord.granted)
        .where(one_of(session, ConsentRecord.person_id, ids), ConsentRecord.purpose == purpose)
        .order_by(ConsentRecord.id)
    )
    latest: dict[int, bool] = {}
    for person_id, granted in rows.all():
        latest[int(person_id)] = bool(granted)
    return {person_id for person_id, granted in latest.items() if granted}
