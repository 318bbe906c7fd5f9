"""Verification of residents ("one person, one vote"): lists of residents imported by an administrator,
each resident's identifier kept only as a keyed hash, and which account each identifier verified.

No identifier is ever stored in clear: `resident_entries.identifier_hash` is HMAC-SHA256 keyed with the
installation's pepper (a setting, never in the database) over the list's salt and the normalised
identifier (see service.py for why). Which account a resident entry verified (`person_id`) is personal
data: exported and erased by the provider in service.py.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citoyen.db import Base, UTCDateTime, utcnow


class ResidentList(Base):
    """One import of the residents' register (e.g. the electoral roll of a given date)."""

    __tablename__ = "resident_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Random, per list: the same identifier hashes differently in two lists.
    salt: Mapped[str] = mapped_column(String(64))
    entry_count: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ResidentEntry(Base):
    """One resident of a list, known only by a keyed hash of their identifier.

    `person_id` is the account this resident verified (at most one: unique); ballots are keyed by the
    entry, not the account, so a resident who erases their account and verifies a new one still has
    one vote."""

    __tablename__ = "resident_entries"
    __table_args__ = (UniqueConstraint("list_id", "identifier_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("resident_lists.id", ondelete="CASCADE"), index=True)
    identifier_hash: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), default=None, unique=True
    )
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
