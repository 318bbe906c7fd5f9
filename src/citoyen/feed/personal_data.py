"""The feed's personal data: the posts and replies a person wrote (their authorship), what they flagged, and the
quartier they declared as home. Their follows of quartiers are the follows domain's (participation.follows).

Erasing keeps posts and replies (a conversation stays readable) but detaches them, as comments are: they show
"a former resident"; flags and the home go."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.feed.models import Flag, Home, Post, Reply
from citoyen.i18n import N_
from citoyen.people.registry import PersonalDataProvider, PersonalDataRegistry
from citoyen.people.service import Person


def _moment(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


async def _export(session: AsyncSession, person: Person) -> dict[str, list[dict[str, Any]]]:
    posts = (await session.execute(select(Post).where(Post.author_id == person.id).order_by(Post.id))).scalars()
    replies = (await session.execute(select(Reply).where(Reply.author_id == person.id).order_by(Reply.id))).scalars()
    flags = (await session.execute(select(Flag).where(Flag.person_id == person.id).order_by(Flag.id))).scalars()
    home = await session.get(Home, person.id)
    return {
        "posts": [
            {
                "id": p.id,
                "neighbourhood_id": p.neighbourhood_id,
                "kind": p.kind,
                "title": p.title,
                "body": p.body,
                "starts_at": _moment(p.starts_at),
                "ends_at": _moment(p.ends_at),
                "place": p.place,
                "created_at": _moment(p.created_at),
                "hidden_reason": p.hidden_reason or None,
            }
            for p in posts
        ],
        "replies": [
            {
                "id": r.id,
                "post_id": r.post_id,
                "body": r.body,
                "created_at": _moment(r.created_at),
                "hidden_reason": r.hidden_reason or None,
            }
            for r in replies
        ],
        "flags": [
            {
                "target": f.target_kind,
                "target_id": f.target_id,
                "reason": f.reason,
                "details": f.details,
                "created_at": _moment(f.created_at),
            }
            for f in flags
        ],
        "home": (
            [{"neighbourhood_id": home.neighbourhood_id, "declared_at": _moment(home.declared_at)}] if home else []
        ),
    }


async def _erase(session: AsyncSession, person: Person) -> None:
    for model in (Post, Reply):
        await session.execute(
            update(model)
            .where(model.author_id == person.id)
            .values(author_id=None)
            .execution_options(synchronize_session=False)
        )
    await session.execute(delete(Flag).where(Flag.person_id == person.id))
    await session.execute(delete(Home).where(Home.person_id == person.id))


def register_personal_data(registry: PersonalDataRegistry) -> None:
    registry.register(
        PersonalDataProvider(
            domain="feed",
            description=N_("your posts and replies in neighbourhood feeds, what you flagged there, your home quartier"),
            export=_export,
            erase=_erase,
        )
    )
