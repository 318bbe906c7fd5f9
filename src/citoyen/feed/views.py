"""The feed's pages as typed views, each built by one call: a quartier's feed, the feed of what one follows, a
post with its replies, a quartier's calendar."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.feed import moderation
from citoyen.feed.items import Cursor, FeedPage, page
from citoyen.feed.models import Post, Reply
from citoyen.feed.posts import (
    author_names,
    get_neighbourhood,
    get_post,
    home_of,
    may_post_in,
    replies_of,
    upcoming_events,
)
from citoyen.participation.follows import service as follows
from citoyen.people.service import Person
from citoyen.territory import service as territory
from citoyen.territory.models import Neighbourhood

NEIGHBOURHOOD = "neighbourhood"


@dataclass(frozen=True)
class NeighbourhoodFeed:
    neighbourhood: Neighbourhood
    page: FeedPage
    first_page: bool
    following: bool
    is_home: bool
    may_post: bool


async def neighbourhood_feed(
    session: AsyncSession, neighbourhood_id: int, person: Person | None, before: str = ""
) -> NeighbourhoodFeed:
    """A quartier's items, newest first, from `before` (a page cursor) on; what the viewer may do there."""
    neighbourhood = await get_neighbourhood(session, neighbourhood_id)
    cursor = Cursor.parse(before) if before else None
    items = await page(session, [neighbourhood.id], cursor)
    following = person is not None and await follows.is_following(session, person.id, NEIGHBOURHOOD, neighbourhood.id)
    is_home = person is not None and await home_of(session, person.id) == neighbourhood.id
    return NeighbourhoodFeed(neighbourhood, items, cursor is None, following, is_home, following or is_home)


@dataclass(frozen=True)
class FollowedFeed:
    page: FeedPage
    first_page: bool
    neighbourhoods: dict[int, str]  # the quartiers in this feed (followed, and home), by id
    other_neighbourhoods: dict[int, str]  # the others, to follow


async def followed_feed(session: AsyncSession, person: Person, before: str = "") -> FollowedFeed:
    """Everything in the quartiers the person follows or lives in, newest first."""
    names = await territory.neighbourhood_names(session)
    ids = {item.target_id for item in await follows.follows_of(session, person.id) if item.target_kind == NEIGHBOURHOOD}
    home = await home_of(session, person.id)
    if home is not None:
        ids.add(home)
    cursor = Cursor.parse(before) if before else None
    items = await page(session, sorted(ids), cursor)
    mine = {i: names[i] for i in sorted(ids) if i in names}
    others = {i: name for i, name in sorted(names.items(), key=lambda pair: pair[1]) if i not in ids}
    return FollowedFeed(items, cursor is None, mine, others)


@dataclass(frozen=True)
class PostPage:
    post: Post
    neighbourhood: Neighbourhood
    author: str  # the public pseudonym; "" for a former resident
    replies: list[Reply]
    reply_authors: dict[int, str]
    may_reply: bool
    flagged_post: bool
    flagged_replies: set[int]


async def post_page(session: AsyncSession, post_id: int, person: Person | None) -> PostPage:
    post = await get_post(session, post_id)
    neighbourhood = await get_neighbourhood(session, post.neighbourhood_id)
    replies = await replies_of(session, post.id)
    names = await author_names(session, [post.author_id, *(reply.author_id for reply in replies)])
    may_reply = (
        person is not None and post.hidden_at is None and await may_post_in(session, person.id, post.neighbourhood_id)
    )
    flagged_post = person is not None and bool(
        await moderation.flagged_by(session, person.id, moderation.POST, [post.id])
    )
    flagged_replies = (
        await moderation.flagged_by(session, person.id, moderation.REPLY, [reply.id for reply in replies])
        if person is not None
        else set()
    )
    return PostPage(
        post,
        neighbourhood,
        names.get(post.author_id or 0, ""),
        replies,
        names,
        may_reply,
        flagged_post,
        flagged_replies,
    )


@dataclass(frozen=True)
class Agenda:
    neighbourhood: Neighbourhood
    events: list[Post]


async def agenda(session: AsyncSession, neighbourhood_id: int) -> Agenda:
    neighbourhood = await get_neighbourhood(session, neighbourhood_id)
    return Agenda(neighbourhood, await upcoming_events(session, neighbourhood.id))
