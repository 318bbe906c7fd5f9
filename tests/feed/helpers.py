"""Test data for the feed: the two-square test territory, residents who follow a quartier, posts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.feed import service as feed
from citoyen.feed.models import Post
from citoyen.indicators import service as indicators
from citoyen.participation.follows import service as follows
from citoyen.people.models import Person
from tests.factories import create_person
from tests.participation.helpers import neighbourhood_ids, setup_territory


async def quartiers(session: AsyncSession) -> dict[str, int]:
    """The test territory's two quartiers by name ("Ouest", "Est")."""
    return await setup_territory(session)


async def resident(session: AsyncSession, neighbourhood_id: int, **fields: object) -> Person:
    """A person who follows the quartier (and so may post there)."""
    person = await create_person(session, **fields)  # type: ignore[arg-type]
    await follows.follow(session, person, "neighbourhood", neighbourhood_id)
    return person


async def post(
    session: AsyncSession,
    author: Person,
    neighbourhood_id: int,
    title: str = "Vide-grenier rue des Lilas",
    **fields: object,
) -> Post:
    new = feed.NewPost(kind=str(fields.pop("kind", "announcement")), title=title, **fields)  # type: ignore[arg-type]
    return await feed.create_post(session, author, neighbourhood_id, new)


def tomorrow_evening() -> tuple[object, object]:
    start = (utcnow() + timedelta(days=1)).replace(hour=18, minute=0, second=0, microsecond=0)
    return start, start + timedelta(hours=2)


async def erasable_feed_data(session: AsyncSession, person: Person) -> None:
    """Everything the feed keeps about a person: a home, a post, a reply, a flag (for the erasure test)."""
    ids = await neighbourhood_ids(session) or await quartiers(session)
    where = sorted(ids.values())[0]
    await feed.declare_home(session, person, where)
    own = await post(session, person, where, "Perdu : un chat roux")
    await feed.reply_to(session, person, own.id, "Retrouvé, merci")
    other = await post(session, await resident(session, where), where, "Fête des voisins")
    await feed.flag(session, person, "post", other.id, "off_topic")


# A Tuesday: the week the indicators judge then is that of Monday 30 November 2026.
JUDGED_AT = datetime(2026, 12, 8, 12, tzinfo=UTC)


async def unusual_week_of_reports(session: AsyncSession, unusual: int, usual: int) -> None:
    """Eight ordinary weeks of 6 to 8 reports in both quartiers (with days without any, which count 0), then 14 in
    the week judged at JUDGED_AT in `unusual` (twice the usual) and 8 in `usual` (within its range)."""
    week = indicators.judged_week(JUDGED_AT)
    counts: dict[tuple[int, datetime], float] = {}
    for number, weekly in enumerate((6, 7, 8, 7, 6, 8, 7, 7), start=1):
        for quartier in (unusual, usual):
            monday = week - timedelta(days=7 * number)
            counts[(quartier, monday)] = weekly - 3
            counts[(quartier, monday + timedelta(days=2))] = 3
    counts[(unusual, week + timedelta(days=1))] = 14
    counts[(usual, week + timedelta(days=3))] = 8
    # The city's own weekly figures sit under neighbourhood 0 (CITY_APART): no quartier, no feed.
    for number in range(9):
        counts[(0, week - timedelta(days=7 * number))] = 30 if number else 90
    await indicators.replace_area_counts(session, "reports", counts)
