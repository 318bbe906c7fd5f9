"""Moderation: flags people raise on proposals and comments, and the moderators' decision per item.

Who flagged (`participation_flags.person_id`) is personal data (export/erase in service.py); the
decision is public (the reason replaces the hidden content)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citoyen.db import Base, UTCDateTime, utcnow


class TargetKind(enum.StrEnum):
    PROPOSAL = "proposal"
    COMMENT = "comment"


class FlagReason(enum.StrEnum):
    SPAM = "spam"
    OFFENSIVE = "offensive"
    OFF_TOPIC = "off_topic"
    OTHER = "other"


class CaseStatus(enum.StrEnum):
    PENDING = "pending"
    HIDDEN = "hidden"
    DISMISSED = "dismissed"


class Flag(Base):
    """One person's flag on one item (once per person and item)."""

    __tablename__ = "participation_flags"
    __table_args__ = (UniqueConstraint("target_kind", "target_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    target_kind: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(20))
    details: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ModerationCase(Base):
    """What moderators see and decide about one flagged item; the queue lists pending cases by flags."""

    __tablename__ = "participation_moderation_cases"
    __table_args__ = (
        UniqueConstraint("target_kind", "target_id"),
        Index("ix_participation_moderation_cases_queue", "status", "flag_count", "last_flagged_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    target_kind: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=CaseStatus.PENDING.value)
    flag_count: Mapped[int] = mapped_column(Integer, default=0)
    last_flagged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    public_reason: Mapped[str] = mapped_column(String(300), default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
