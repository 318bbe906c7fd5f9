"""Debate: threaded comments on proposals and on processes, and votes on comments.

A comment's author (`author_id`) and each vote (`comment_votes`) are personal data (export/erase in
service.py). Erasure keeps a comment's text, signed by no one ("deleted participant"), and removes votes.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citoyen.db import Base, UTCDateTime, utcnow


class Alignment(enum.IntEnum):
    """Where a comment stands on what it discusses, when the process asks for it."""

    AGAINST = -1
    NEUTRAL = 0
    FOR = 1


class Comment(Base):
    """A comment on a proposal (`proposal_id` set) or on a process itself (`proposal_id` null).

    Threads: a top-level comment has depth 0 and no thread; a reply keeps its thread's root in
    `thread_id`, so a page loads the replies of its threads in one indexed query."""

    __tablename__ = "participation_comments"
    __table_args__ = (
        # The first page of a proposal's debate, by date or by score, read from the index alone.
        Index("ix_participation_comments_proposal_roots_date", "proposal_id", "depth", "created_at", "id"),
        Index("ix_participation_comments_proposal_roots_score", "proposal_id", "depth", "score", "id"),
        Index("ix_participation_comments_process_roots_date", "process_id", "proposal_id", "depth", "created_at"),
        Index("ix_participation_comments_thread", "thread_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("participation_processes.id", ondelete="CASCADE"))
    proposal_id: Mapped[int | None] = mapped_column(
        ForeignKey("participation_proposals.id", ondelete="CASCADE"), default=None
    )
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("participation_comments.id", ondelete="CASCADE"), default=None
    )
    thread_id: Mapped[int | None] = mapped_column(
        ForeignKey("participation_comments.id", ondelete="CASCADE"), default=None
    )
    depth: Mapped[int] = mapped_column(SmallInteger, default=0)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), default=None, index=True
    )
    body: Mapped[str] = mapped_column(Text)
    # The language the author wrote in ("fr", "en"), so pages in the other language can say so.
    locale: Mapped[str] = mapped_column(String(5), default="fr", server_default="fr")
    alignment: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    up_votes: Mapped[int] = mapped_column(Integer, default=0)
    down_votes: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[int] = mapped_column(Integer, default=0)
    reply_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set by moderation: the text is then never shown, only the public reason.
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    hidden_reason: Mapped[str] = mapped_column(String(300), default="")

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None


class CommentVote(Base):
    """One person's vote on one comment: +1 or -1, changeable."""

    __tablename__ = "participation_comment_votes"
    __table_args__ = (UniqueConstraint("comment_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("participation_comments.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    value: Mapped[int] = mapped_column(SmallInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DebateSettings(Base):
    """How a process runs its debates (absent: the defaults)."""

    __tablename__ = "participation_debate_settings"

    process_id: Mapped[int] = mapped_column(
        ForeignKey("participation_processes.id", ondelete="CASCADE"), primary_key=True
    )
    # Commenters say whether they are for, against or neutral (Decidim's "alignment").
    alignment_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
