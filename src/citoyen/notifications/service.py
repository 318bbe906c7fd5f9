"""Notifications: tell a person, in the app, that something they follow changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.i18n import N_, get_translations
from citoyen.notifications.models import Notification
from citoyen.people.registry import PersonalDataProvider, PersonalDataRegistry
from citoyen.people.service import Person

# A notification's title as one language writes it: `wording(gettext, locale)`.
Wording = Callable[[Callable[[str], str], str], str]


def in_both_languages(wording: Wording) -> tuple[str, str]:
    """A title in French and in English, for `notify(..., title, title_en=...)`: the notification page shows the
    one of its own language, whatever the account's language was when it was written."""
    return wording(get_translations("fr").gettext, "fr"), wording(get_translations("en").gettext, "en")


async def notify(
    session: AsyncSession, person_id: int, title: str, body: str = "", link: str = "", title_en: str = ""
) -> None:
    """Add a notification: `title` in French and `title_en` in English (`in_both_languages`), or a title alone in
    the person's language; `body` is in the person's language (often what staff wrote)."""
    session.add(
        Notification(person_id=person_id, title=title[:300], title_en=title_en[:300], body=body, link=link[:500])
    )
    await session.flush()


async def list_notifications(session: AsyncSession, person: Person, limit: int = 100) -> list[Notification]:
    query = (
        select(Notification)
        .where(Notification.person_id == person.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def unread_count(session: AsyncSession, person_id: int) -> int:
    query = select(func.count()).where(Notification.person_id == person_id, Notification.read_at.is_(None))
    return int((await session.execute(query)).scalar_one())


async def mark_all_read(session: AsyncSession, person: Person) -> None:
    await session.execute(
        update(Notification)
        .where(Notification.person_id == person.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )


async def _export(session: AsyncSession, person: Person) -> dict[str, list[dict[str, Any]]]:
    return {
        "notifications": [
            {
                "created_at": n.created_at.isoformat(),
                "title": n.title,
                "title_en": n.title_en,
                "body": n.body,
                "link": n.link,
                "read_at": n.read_at.isoformat() if n.read_at else None,
            }
            for n in await list_notifications(session, person, limit=100_000)
        ]
    }


async def _erase(session: AsyncSession, person: Person) -> None:
    await session.execute(delete(Notification).where(Notification.person_id == person.id))


def register_personal_data(registry: PersonalDataRegistry) -> None:
    registry.register(
        PersonalDataProvider(
            domain="notifications",
            description=N_("the notifications the platform showed you"),
            export=_export,
            erase=_erase,
        )
    )
