"""Moderating posts and replies as participation moderates comments: one flag per person and item (the reasons
of `participation.moderation`), a queue of flagged items, hiding behind a public reason (the author is told, the
item leaves every feed) or keeping it (new flags bring it back)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.errors import Kind
from citoyen.feed.errors import FeedError
from citoyen.feed.items import remove_items
from citoyen.feed.models import Flag, ItemKind, Post, Reply
from citoyen.feed.posts import get_post, get_reply
from citoyen.i18n import N_, squeeze_spaces
from citoyen.notifications import service as notifications
from citoyen.participation.moderation import service as participation_moderation
from citoyen.people import service as people
from citoyen.people.service import Person

POST = "post"
REPLY = "reply"
TARGETS = (POST, REPLY)
REASON_LABELS = participation_moderation.REASON_LABELS
is_moderator = participation_moderation.is_moderator


async def _target(session: AsyncSession, kind: str, target_id: int) -> Post | Reply:
    if kind == POST:
        return await get_post(session, target_id)
    if kind == REPLY:
        return await get_reply(session, target_id)
    raise FeedError(N_("Only posts and replies can be flagged."), Kind.NOT_FOUND)


async def flag(
    session: AsyncSession, person: Person, kind: str, target_id: int, reason: str, details: str = ""
) -> Flag:
    """Flag a post or a reply for the moderators; a person flags an item once."""
    item = await _target(session, kind, target_id)
    if reason not in REASON_LABELS:
        raise FeedError(N_("Choose why you flag this."), Kind.INVALID, "reason")
    details = squeeze_spaces(details)
    if reason == "other" and not details:
        raise FeedError(N_("Say in a few words what the problem is."), Kind.INVALID, "details")
    if len(details) > participation_moderation.MAX_DETAILS_LENGTH:
        raise FeedError(
            N_("Your explanation is too long: %(length)d characters, at most %(max)d."),
            Kind.INVALID,
            "details",
            length=len(details),
            max=participation_moderation.MAX_DETAILS_LENGTH,
        )
    if item.hidden_at is not None:
        raise FeedError(N_("This was already hidden by moderation."), Kind.CLOSED)
    if item.author_id == person.id:
        raise FeedError(N_("You cannot flag what you wrote."), Kind.FORBIDDEN)
    new_flag = Flag(target_kind=kind, target_id=target_id, person_id=person.id, reason=reason, details=details)
    try:
        async with session.begin_nested():
            session.add(new_flag)
            await session.flush()
    except IntegrityError:
        raise FeedError(N_("You have already flagged this: the moderators will look at it."), Kind.CLOSED) from None
    return new_flag


@dataclass
class Flagged:
    """A post or a reply waiting for a moderator, with the reasons given since it was last kept."""

    kind: str
    id: int
    title: str
    text: str
    link: str
    flag_count: int
    last_flagged_at: datetime
    reasons: dict[str, int] = field(default_factory=dict)
    details: list[str] = field(default_factory=list)


async def queue(session: AsyncSession, limit: int = 100) -> list[Flagged]:
    """Visible posts and replies flagged since a moderator last kept them, most flagged first."""
    found: list[Flagged] = []
    for kind in TARGETS:
        model: type[Post] | type[Reply] = Post if kind == POST else Reply
        rows = (
            await session.execute(
                select(model, Flag.reason, Flag.details, Flag.created_at)
                .join(Flag, (Flag.target_kind == kind) & (Flag.target_id == model.id))
                .where(model.hidden_at.is_(None))
                .order_by(Flag.created_at)
            )
        ).all()
        by_id: dict[int, Flagged] = {}
        for row in rows:
            item = cast(Post | Reply, row[0])
            reason, details, flagged_at = row[1], row[2], row[3]
            if item.reviewed_at is not None and flagged_at <= item.reviewed_at:
                continue
            entry = by_id.get(item.id)
            if entry is None:
                if isinstance(item, Post):
                    entry = Flagged(POST, item.id, item.title, item.body, f"/quartiers/posts/{item.id}", 0, flagged_at)
                else:
                    link = f"/quartiers/posts/{item.post_id}#reply-{item.id}"
                    entry = Flagged(REPLY, item.id, "", item.body, link, 0, flagged_at)
                by_id[item.id] = entry
            entry.flag_count += 1
            entry.last_flagged_at = flagged_at
            entry.reasons[reason] = entry.reasons.get(reason, 0) + 1
            if details:
                entry.details.append(details)
        found.extend(by_id.values())
    found.sort(key=lambda entry: (-entry.flag_count, -entry.last_flagged_at.timestamp()))
    return found[:limit]


def _check_moderator(person: Person) -> None:
    if not participation_moderation.is_moderator(person):
        raise FeedError(N_("Only moderators can do this."), Kind.FORBIDDEN)


async def hide(session: AsyncSession, moderator: Person, kind: str, target_id: int, reason: str) -> None:
    """Hide a post or a reply behind a public reason: a post leaves every feed; its author is told."""
    _check_moderator(moderator)
    reason = squeeze_spaces(reason)
    if not reason:
        raise FeedError(N_("Give the public reason shown in place of the hidden content."), Kind.INVALID, "reason")
    if len(reason) > participation_moderation.MAX_REASON_LENGTH:
        raise FeedError(
            N_("The reason is too long: %(length)d characters, at most %(max)d."),
            Kind.INVALID,
            "reason",
            length=len(reason),
            max=participation_moderation.MAX_REASON_LENGTH,
        )
    item = await _target(session, kind, target_id)
    if item.hidden_at is not None:
        raise FeedError(N_("Another moderator has already decided on this."), Kind.CLOSED)
    item.hidden_at = utcnow()
    item.hidden_reason = reason
    if isinstance(item, Post):
        await remove_items(session, [ItemKind.POST], item.id)
        link = f"/quartiers/posts/{item.id}"
        what = N_("Your post was hidden by moderation: %(reason)s")
    else:
        link = f"/quartiers/posts/{item.post_id}#reply-{item.id}"
        what = N_("Your reply was hidden by moderation: %(reason)s")
    await session.flush()
    if item.author_id is not None:
        author = await people.get_person(session, item.author_id)
        if author is not None:
            french, english = notifications.in_both_languages(lambda gettext, _: gettext(what) % {"reason": reason})
            await notifications.notify(session, author.id, french, link=link, title_en=english)


async def keep(session: AsyncSession, moderator: Person, kind: str, target_id: int) -> None:
    """Nothing to hide: the item leaves the queue until someone flags it again."""
    _check_moderator(moderator)
    item = await _target(session, kind, target_id)
    item.reviewed_at = utcnow()
    await session.flush()


async def flagged_by(session: AsyncSession, person_id: int, kind: str, ids: list[int]) -> set[int]:
    if not ids:
        return set()
    rows = await session.execute(
        select(Flag.target_id).where(Flag.person_id == person_id, Flag.target_kind == kind, Flag.target_id.in_(ids))
    )
    return {int(row.target_id) for row in rows}
