"""The neighbourhood feed's tables.

- `feed_items`: one line per public happening in a quartier (a report filed or answered, a proposal published or
  answered, a project update, an alert, an indicator's weekly change, a resident's post), denormalised so that a
  quartier's page is one index range scan on (neighbourhood_id, occurred_at, id). Written by the feed's
  subscribers to the other domains' events; only public information is copied (never who reported or posted).
- `feed_posts` and `feed_replies`: residents' posts and their replies. `author_id` is personal data (shown as the
  author's public pseudonym; export/erase in personal_data.py), the text is public once posted.
- `feed_flags`: who flagged a post or a reply (personal data), and why.
- `feed_homes`: the quartier a person declared as home (personal data).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citoyen.db import Base, UTCDateTime, utcnow


class ItemKind(enum.StrEnum):
    REPORT_FILED = "report_filed"
    REPORT_UPDATED = "report_updated"
    PROPOSAL_PUBLISHED = "proposal_published"
    PROPOSAL_ANSWERED = "proposal_answered"
    MILESTONE = "milestone"
    PROJECT_UPDATE = "project_update"
    ALERT = "alert"
    INDICATOR_CHANGE = "indicator_change"
    POST = "post"


class PostKind(enum.StrEnum):
    ANNOUNCEMENT = "announcement"
    EVENT = "event"
    QUESTION = "question"
    LOST_FOUND = "lost_found"
    MUTUAL_HELP = "mutual_help"


class FeedItem(Base):
    __tablename__ = "feed_items"
    __table_args__ = (
        # A quartier's page and its next pages: newest first, keyset on (occurred_at, id).
        Index("ix_feed_items_page", "neighbourhood_id", "occurred_at", "id"),
        # What one source put in the feed (to take it out when the source is hidden).
        Index("ix_feed_items_source", "kind", "source_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    neighbourhood_id: Mapped[int] = mapped_column(ForeignKey("neighbourhoods.id", ondelete="CASCADE"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(30))
    source_id: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300), default="")
    summary: Mapped[str] = mapped_column(String(1000), default="")
    summary_en: Mapped[str] = mapped_column(String(1000), default="")
    link: Mapped[str] = mapped_column(String(300), default="")
    # Demo content: shown labelled as simulated.
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)


class Post(Base):
    __tablename__ = "feed_posts"
    __table_args__ = (Index("ix_feed_posts_events", "neighbourhood_id", "kind", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    neighbourhood_id: Mapped[int] = mapped_column(ForeignKey("neighbourhoods.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), default=None, index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    # Seeded demo posts carry an English version; residents write in one language.
    title_en: Mapped[str] = mapped_column(String(200), default="")
    body_en: Mapped[str] = mapped_column(Text, default="")
    # Events only: when and where.
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    place: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    hidden_reason: Mapped[str] = mapped_column(String(300), default="")
    # When a moderator last looked at its flags and kept it (later flags bring it back to the queue).
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Reply(Base):
    __tablename__ = "feed_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("feed_posts.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), default=None, index=True
    )
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    hidden_reason: Mapped[str] = mapped_column(String(300), default="")
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Flag(Base):
    """One person's flag on one post or reply (once per person and item)."""

    __tablename__ = "feed_flags"
    __table_args__ = (UniqueConstraint("target_kind", "target_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    target_kind: Mapped[str] = mapped_column(String(10))  # "post" or "reply"
    target_id: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(20))
    details: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Home(Base):
    """The quartier a person says they live in (one at a time)."""

    __tablename__ = "feed_homes"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    neighbourhood_id: Mapped[int] = mapped_column(ForeignKey("neighbourhoods.id", ondelete="CASCADE"))
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
