"""Following: a person follows a process or a neighbourhood (proposals are followed through
`participation_follows`, which the proposal pages keep) and is told of what happens there; the daily
e-mail digest of those events for people who consented to it.

All of it is personal data (export/erase in service.py)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citoyen.db import Base, UTCDateTime, utcnow


class FollowKind(enum.StrEnum):
    PROCESS = "process"
    NEIGHBOURHOOD = "neighbourhood"


class Follow(Base):
    __tablename__ = "follows"
    __table_args__ = (
        UniqueConstraint("person_id", "target_kind", "target_id"),
        Index("ix_follows_target", "target_kind", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    target_kind: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DigestEntry(Base):
    """An event waiting for the person's next daily e-mail (only kept for people who consented)."""

    __tablename__ = "participation_digest_entries"
    __table_args__ = (Index("ix_participation_digest_entries_pending", "person_id", "sent_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(300))
    link: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_on: Mapped[date | None] = mapped_column(Date, default=None)


class DigestDelivery(Base):
    """The one digest a person got on a day: what makes `citoyen send-digests` safe to run twice."""

    __tablename__ = "participation_digest_deliveries"
    __table_args__ = (UniqueConstraint("person_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    entry_count: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
