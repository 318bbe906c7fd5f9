"""The demo's neighbourhood feeds: posts in three quartiers, bilingual and labelled simulated, built with the
territory alone (`only={"feed"}`)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.demo.generator import build_demo
from citoyen.feed import service as feed
from citoyen.feed.models import FeedItem, Post


@pytest.fixture
def demo_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"demo_citizens": 50})


async def test_the_demo_posts_are_bilingual_simulated_and_in_their_quartiers_feeds(
    session: AsyncSession, demo_settings: Settings
) -> None:
    await build_demo(session, demo_settings, with_open_data=False, only=frozenset({"feed"}))
    posts = list((await session.execute(select(Post))).scalars())
    assert len(posts) == 8 and all(post.simulated and post.title_en and post.body_en for post in posts)
    assert len({post.neighbourhood_id for post in posts}) == 3
    assert all([await feed.may_post_in(session, post.author_id or 0, post.neighbourhood_id) for post in posts])
    items = list((await session.execute(select(FeedItem))).scalars())
    assert len(items) == 8 and all(item.simulated for item in items)
    events = await feed.upcoming_events(session, posts[0].neighbourhood_id)
    assert events and all(event.place for event in events)
