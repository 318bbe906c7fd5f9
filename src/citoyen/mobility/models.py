"""Mobility: the carpool board (trips neighbours offer or look for, requests to join, messages between a
trip's owner and an accepted passenger).

Personal data: a trip's owner and its places (`carpool_trips.person_id`, `from_cell`, `to_cell`), who asked to
join (`carpool_requests.person_id`) and the messages (`carpool_messages`); export and erasure in
personal_data.py. Places are never stored as points: only the H3 cell of resolution 9 (about 350 m across,
`CELL_RESOLUTION`) and the neighbourhood. When a trip expires the cells are deleted (housekeeping) and only its
neighbourhoods, days and hours stay, for the aggregates."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from citoyen.db import Base, UTCDateTime, utcnow

MESSAGE_MAX = 1000
# The scope of a resident's own API tokens for a carpool app: the JSON API (api.py) acts for the token's creator.
TOKEN_SCOPE = "carpool"  # noqa: S105 (a scope's name, not a secret)


class TripKind(enum.StrEnum):
    OFFER = "offer"  # a driver with seats to share
    SEEK = "seek"  # a resident looking for a seat


class TripStatus(enum.StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"  # its owner took it down
    EXPIRED = "expired"  # its time is over; its cells are deleted


class RequestStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for the trip's owner
    ACCEPTED = "accepted"  # the two may write to each other
    DECLINED = "declined"  # the owner said no, or withdrew the acceptance
    WITHDRAWN = "withdrawn"  # the asker took the request back (or the trip was withdrawn)


class CarpoolTrip(Base):
    """A regular (days of the week, `days` a bit mask Monday = 1 … Sunday = 64) or one-off (`on_date`) trip,
    its departure window in minutes after local midnight, and its seats (offered, or wanted)."""

    __tablename__ = "carpool_trips"
    __table_args__ = (
        # Matching: the active trips of one kind whose start and end are in the walking disks of the searcher's
        # (both `IN` lists are answered from the index; the rows read are the matches).
        Index("ix_carpool_trips_match", "from_cell", "kind", "status", "to_cell"),
        Index("ix_carpool_trips_expiry", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default=TripStatus.ACTIVE.value)
    # H3 cells (resolution 9) of the start and the end; NULL once the trip has expired.
    from_cell: Mapped[str | None] = mapped_column(String(16), default=None)
    to_cell: Mapped[str | None] = mapped_column(String(16), default=None)
    from_neighbourhood_id: Mapped[int | None] = mapped_column(
        ForeignKey("neighbourhoods.id", ondelete="SET NULL"), default=None
    )
    # NULL: the trip ends outside the city.
    to_neighbourhood_id: Mapped[int | None] = mapped_column(
        ForeignKey("neighbourhoods.id", ondelete="SET NULL"), default=None
    )
    days: Mapped[int] = mapped_column(SmallInteger, default=0)
    on_date: Mapped[date | None] = mapped_column(Date, default=None)
    window_start: Mapped[int] = mapped_column(SmallInteger)
    window_end: Mapped[int] = mapped_column(SmallInteger)
    seats: Mapped[int] = mapped_column(SmallInteger)
    # The demo's trips: every page that shows them says they are simulated.
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CarpoolRequest(Base):
    """A resident asks to share a trip; the trip's owner accepts or declines; either side may withdraw."""

    __tablename__ = "carpool_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    trip_id: Mapped[int] = mapped_column(ForeignKey("carpool_trips.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    # The asker's own trip the match was found from, when there is one.
    from_trip_id: Mapped[int | None] = mapped_column(ForeignKey("carpool_trips.id", ondelete="SET NULL"), default=None)
    status: Mapped[str] = mapped_column(String(10), default=RequestStatus.PENDING.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class CarpoolMessage(Base):
    """A message between a trip's owner and the asker of an accepted request, inside the platform."""

    __tablename__ = "carpool_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("carpool_requests.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
