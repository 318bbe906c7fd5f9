"""Residents' posts and replies: who may post where, what a post must say, and who is told of a reply.

A person posts (and replies) only in a quartier they follow or declared as home: the feed of a place is written by
the people who care about it. Authors show under their public pseudonym (`people.display_names`), like comments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.errors import Kind
from citoyen.feed.errors import FeedError
from citoyen.feed.items import add_item
from citoyen.feed.models import Home, ItemKind, Post, PostKind, Reply
from citoyen.i18n import N_, squeeze_spaces
from citoyen.participation.follows import service as follows
from citoyen.people import service as people
from citoyen.people.service import Person
from citoyen.territory import service as territory
from citoyen.territory.models import Neighbourhood

KIND_LABELS = {
    PostKind.ANNOUNCEMENT.value: N_("Announcement"),
    PostKind.EVENT.value: N_("Event"),
    PostKind.QUESTION.value: N_("Question"),
    PostKind.LOST_FOUND.value: N_("Lost and found"),
    PostKind.MUTUAL_HELP.value: N_("Mutual help"),
}
MIN_TITLE = 3
MAX_TITLE = 200
MAX_BODY = 4000
MAX_REPLY = 2000
MAX_PLACE = 200
MAX_EVENT_DAYS = 31
NEIGHBOURHOOD = "neighbourhood"


@dataclass(frozen=True)
class NewPost:
    kind: str
    title: str
    body: str = ""
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    place: str = ""


async def get_neighbourhood(session: AsyncSession, neighbourhood_id: int) -> Neighbourhood:
    """The quartier with this id; 404 otherwise."""
    neighbourhood = await territory.get_neighbourhood(session, neighbourhood_id)
    if neighbourhood is None:
        raise FeedError(N_("Unknown neighbourhood."), Kind.NOT_FOUND, "neighbourhood")
    return neighbourhood


async def home_of(session: AsyncSession, person_id: int) -> int | None:
    home = await session.get(Home, person_id)
    return home.neighbourhood_id if home is not None else None


async def declare_home(session: AsyncSession, person: Person, neighbourhood_id: int | None) -> None:
    """The quartier the person says they live in (None: they no longer say)."""
    if neighbourhood_id is None:
        await session.execute(delete(Home).where(Home.person_id == person.id))
        return
    await get_neighbourhood(session, neighbourhood_id)
    home = await session.get(Home, person.id)
    if home is None:
        session.add(Home(person_id=person.id, neighbourhood_id=neighbourhood_id, declared_at=utcnow()))
    else:
        home.neighbourhood_id = neighbourhood_id
        home.declared_at = utcnow()
    await session.flush()


async def may_post_in(session: AsyncSession, person_id: int, neighbourhood_id: int) -> bool:
    """Whether the person follows the quartier or declared it as home."""
    if await home_of(session, person_id) == neighbourhood_id:
        return True
    return await follows.is_following(session, person_id, NEIGHBOURHOOD, neighbourhood_id)


async def _check_may_post(session: AsyncSession, person: Person, neighbourhood_id: int) -> None:
    if not await may_post_in(session, person.id, neighbourhood_id):
        raise FeedError(
            N_("You can post only in a neighbourhood you follow or live in: follow it first."), Kind.FORBIDDEN
        )


def _checked(new: NewPost, now: datetime) -> NewPost:
    if new.kind not in KIND_LABELS:
        raise FeedError(N_("Choose what kind of post this is."), Kind.INVALID, "kind")
    title = squeeze_spaces(new.title)
    if len(title) < MIN_TITLE:
        raise FeedError(
            N_("Give your post a title of at least %(min)d characters."), Kind.INVALID, "title", min=MIN_TITLE
        )
    if len(title) > MAX_TITLE:
        raise FeedError(
            N_("The title is too long: %(length)d characters, at most %(max)d."),
            Kind.INVALID,
            "title",
            length=len(title),
            max=MAX_TITLE,
        )
    body = new.body.strip()
    if len(body) > MAX_BODY:
        raise FeedError(
            N_("The text is too long: %(length)d characters, at most %(max)d."),
            Kind.INVALID,
            "body",
            length=len(body),
            max=MAX_BODY,
        )
    place = squeeze_spaces(new.place)
    if new.kind != PostKind.EVENT.value:
        return NewPost(new.kind, title, body)
    if new.starts_at is None:
        raise FeedError(N_("An event needs its date and time."), Kind.INVALID, "starts_at")
    if new.starts_at < now - timedelta(days=1):
        raise FeedError(N_("This event's date has passed."), Kind.INVALID, "starts_at")
    if not place:
        raise FeedError(N_("An event needs its place."), Kind.INVALID, "place")
    if len(place) > MAX_PLACE:
        raise FeedError(
            N_("The place is too long: %(length)d characters, at most %(max)d."),
            Kind.INVALID,
            "place",
            length=len(place),
            max=MAX_PLACE,
        )
    ends_at = new.ends_at
    if ends_at is not None and not new.starts_at <= ends_at <= new.starts_at + timedelta(days=MAX_EVENT_DAYS):
        raise FeedError(
            N_("An event ends after it starts, within %(days)d days."), Kind.INVALID, "ends_at", days=MAX_EVENT_DAYS
        )
    return NewPost(new.kind, title, body, new.starts_at, ends_at, place)


async def create_post(session: AsyncSession, person: Person, neighbourhood_id: int, new: NewPost) -> Post:
    """A resident's post in a quartier they follow or live in; it enters the quartier's feed at once."""
    await get_neighbourhood(session, neighbourhood_id)
    await _check_may_post(session, person, neighbourhood_id)
    now = utcnow()
    checked = _checked(new, now)
    post = Post(
        neighbourhood_id=neighbourhood_id,
        author_id=person.id,
        kind=checked.kind,
        title=checked.title,
        body=checked.body,
        starts_at=checked.starts_at,
        ends_at=checked.ends_at,
        place=checked.place,
        created_at=now,
    )
    session.add(post)
    await session.flush()
    await add_post_item(session, post)
    return post


async def add_post_item(session: AsyncSession, post: Post) -> None:
    """The post's line in its quartier's feed (its title and the start of its text: public once posted)."""
    await add_item(
        session,
        post.neighbourhood_id,
        ItemKind.POST,
        post.id,
        (post.title, post.title_en or post.title),
        (post.body, post.body_en or post.body),
        f"/quartiers/posts/{post.id}",
        occurred_at=post.created_at,
        simulated=post.simulated,
    )


async def get_post(session: AsyncSession, post_id: int) -> Post:
    """A post (hidden ones too: their page shows the moderators' reason); 404 when there is none."""
    post = await session.get(Post, post_id)
    if post is None:
        raise FeedError(N_("Unknown post."), Kind.NOT_FOUND, "post")
    return post


async def get_reply(session: AsyncSession, reply_id: int) -> Reply:
    reply = await session.get(Reply, reply_id)
    if reply is None:
        raise FeedError(N_("Unknown reply."), Kind.NOT_FOUND, "reply")
    return reply


async def replies_of(session: AsyncSession, post_id: int) -> list[Reply]:
    query = select(Reply).where(Reply.post_id == post_id).order_by(Reply.created_at, Reply.id)
    return list((await session.execute(query)).scalars())


def _quoted(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def reply_to(session: AsyncSession, person: Person, post_id: int, body: str) -> Reply:
    """A reply on a visible post, by someone who may post in its quartier; the post's author is told."""
    post = await get_post(session, post_id)
    if post.hidden_at is not None:
        raise FeedError(N_("This post was hidden by moderation."), Kind.CLOSED)
    await _check_may_post(session, person, post.neighbourhood_id)
    body = body.strip()
    if not body:
        raise FeedError(N_("Write your reply."), Kind.INVALID, "body")
    if len(body) > MAX_REPLY:
        raise FeedError(
            N_("Your reply is too long: %(length)d characters, at most %(max)d."),
            Kind.INVALID,
            "body",
            length=len(body),
            max=MAX_REPLY,
        )
    reply = Reply(post_id=post.id, author_id=person.id, body=body, created_at=utcnow())
    session.add(reply)
    await session.flush()
    if post.author_id is not None and post.author_id != person.id:
        title = _quoted(post.title)
        name = person.display_name
        await follows.tell(
            session,
            [post.author_id],
            lambda _: _("%(name)s replied to your post “%(title)s”") % {"name": name, "title": title},
            f"/quartiers/posts/{post.id}#reply-{reply.id}",
        )
    return reply


async def upcoming_events(session: AsyncSession, neighbourhood_id: int, limit: int = 100) -> list[Post]:
    """A quartier's visible events that have not ended yet, soonest first."""
    now = utcnow()
    query = (
        select(Post)
        .where(
            Post.neighbourhood_id == neighbourhood_id,
            Post.kind == PostKind.EVENT.value,
            Post.hidden_at.is_(None),
            Post.starts_at.is_not(None),
            or_(Post.ends_at >= now, Post.starts_at >= now - timedelta(hours=12)),
        )
        .order_by(Post.starts_at, Post.id)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def author_names(session: AsyncSession, author_ids: list[int | None]) -> dict[int, str]:
    """Public pseudonyms of authors (an erased author is left out: shown as a former resident)."""
    return await people.display_names(session, author_ids)
