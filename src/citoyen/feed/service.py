"""The neighbourhood feed's public front (pages, the app, the demo and tests import from here). By subject:

- `items.py`: feed items written and read a page at a time (keyset on occurred_at, id);
- `subscribers.py`: the other domains' events that become feed items, in their transaction;
- `posts.py`: residents' posts and replies, who may post where, the home quartier, events;
- `moderation.py`: flags, the queue, hiding with a public reason;
- `formats.py`: Atom 1.0 and iCalendar;
- `history.py`: a quartier's history written at once for sources stored in bulk (the demo's reports and proposals);
- `views.py`: the pages' typed views;
- `personal_data.py`: export and erasure of posts, replies, flags and the home quartier.
"""

from __future__ import annotations

from citoyen.feed.errors import FeedError
from citoyen.feed.formats import atom_feed, calendar
from citoyen.feed.history import write_history
from citoyen.feed.items import KIND_LABELS as ITEM_KIND_LABELS
from citoyen.feed.items import PAGE_SIZE, Cursor, FeedPage, add_item, page, remove_items, texts
from citoyen.feed.moderation import REASON_LABELS, Flagged, flag, hide, is_moderator, keep, queue
from citoyen.feed.personal_data import register_personal_data
from citoyen.feed.posts import (
    KIND_LABELS,
    NewPost,
    add_post_item,
    create_post,
    declare_home,
    get_neighbourhood,
    get_post,
    get_reply,
    home_of,
    may_post_in,
    reply_to,
    upcoming_events,
)
from citoyen.feed.subscribers import register_subscribers
from citoyen.feed.views import agenda, followed_feed, neighbourhood_feed, post_page

__all__ = [
    "ITEM_KIND_LABELS",
    "KIND_LABELS",
    "PAGE_SIZE",
    "REASON_LABELS",
    "Cursor",
    "FeedError",
    "FeedPage",
    "Flagged",
    "NewPost",
    "add_item",
    "add_post_item",
    "agenda",
    "atom_feed",
    "calendar",
    "create_post",
    "declare_home",
    "flag",
    "followed_feed",
    "get_neighbourhood",
    "get_post",
    "get_reply",
    "hide",
    "home_of",
    "is_moderator",
    "keep",
    "may_post_in",
    "neighbourhood_feed",
    "page",
    "post_page",
    "queue",
    "register_personal_data",
    "register_subscribers",
    "remove_items",
    "reply_to",
    "texts",
    "upcoming_events",
    "write_history",
]
