"""The opinion map (Pol.is-style conversations inside a participatory process): a question, short statements,
participants' agree / disagree / pass votes, and the map computed from them.

Personal data: which account or anonymous cookie a participant is (`opinion_participants.person_id`,
`anonymous_key`), their votes and the statements they wrote (export and erasure in personal_data.py). Erasure
deletes the participant and its votes; the moderated statements they wrote stay, signed by no one ("deleted
participant"). Participants appear everywhere else as a pseudonymous integer (`pid`) that means something only
inside its conversation, as in Pol.is exports."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citoyen.db import Base, UTCDateTime, utcnow
from citoyen.i18n import localized

STATEMENT_MAX = 280


class StatementStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for a moderator (conversations moderated before publication)
    ACCEPTED = "accepted"  # shown and voted on
    REJECTED = "rejected"  # moderated out: never shown, zeroed in the map


class Vote(enum.IntEnum):
    """Pol.is's values."""

    AGREE = 1
    PASS = 0
    DISAGREE = -1


class Conversation(Base):
    """A question put to a process's participants, with the statements they vote on."""

    __tablename__ = "opinion_conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("participation_processes.id", ondelete="CASCADE"), index=True)
    # Open while this phase runs; with no phase, while the conversation is not closed.
    phase_id: Mapped[int | None] = mapped_column(
        ForeignKey("participation_phases.id", ondelete="SET NULL"), default=None
    )
    question: Mapped[str] = mapped_column(String(500))
    question_en: Mapped[str] = mapped_column(String(500), default="")
    participants_write: Mapped[bool] = mapped_column(Boolean, default=True)
    # True: a participant's statement waits for a moderator; False: published at once, hidden if rejected.
    moderate_before: Mapped[bool] = mapped_column(Boolean, default=False)
    verified_only: Mapped[bool] = mapped_column(Boolean, default=False)
    anonymous_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    # Its votes are simulated (the demo): every page that shows them says so.
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def label(self, locale: str) -> str:
        return localized(locale, self.question, self.question_en)


class Participant(Base):
    """Someone taking part in one conversation: an account, or an anonymous participation cookie."""

    __tablename__ = "opinion_participants"
    __table_args__ = (
        UniqueConstraint("conversation_id", "pid"),
        UniqueConstraint("conversation_id", "person_id"),
        UniqueConstraint("conversation_id", "anonymous_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("opinion_conversations.id", ondelete="CASCADE"))
    # Pseudonymous number inside the conversation (Pol.is's participant id; kept from an imported export).
    pid: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), default=None, index=True)
    # SHA-256 of the anonymous participation cookie's token.
    anonymous_key: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Statement(Base):
    """A short statement participants vote on (a seed from the admins, or a participant's)."""

    __tablename__ = "opinion_statements"
    __table_args__ = (UniqueConstraint("conversation_id", "tid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("opinion_conversations.id", ondelete="CASCADE"))
    # Number inside the conversation: Pol.is's comment id (the origin id, kept from an imported export).
    tid: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(String(STATEMENT_MAX))
    # None for a seed, and once its author erased their data ("deleted participant").
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("opinion_participants.id", ondelete="SET NULL"), default=None, index=True
    )
    is_seed: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default=StatementStatus.ACCEPTED.value)
    moderation_reason: Mapped[str] = mapped_column(String(300), default="")
    moderated_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OpinionVote(Base):
    """One participant's vote on one statement (changeable): 1 agree, -1 disagree, 0 pass."""

    __tablename__ = "opinion_votes"
    __table_args__ = (Index("ix_opinion_votes_conversation_modified", "conversation_id", "modified_at"),)

    participant_id: Mapped[int] = mapped_column(
        ForeignKey("opinion_participants.id", ondelete="CASCADE"), primary_key=True
    )
    statement_id: Mapped[int] = mapped_column(
        ForeignKey("opinion_statements.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    conversation_id: Mapped[int] = mapped_column(ForeignKey("opinion_conversations.id", ondelete="CASCADE"))
    value: Mapped[int] = mapped_column(SmallInteger)
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OpinionMap(Base):
    """The last recomputation of a conversation's map, read as it is by the map page and the export (one row:
    the page never reads the votes nor every participant's point).

    `groups`: [{"id", "size", "center", "representative": [{"tid", "direction", "agreed", "disagreed", "voted"}]}];
    `consensus`: [{"tid", "direction", "score", "shares"}]; `divisive`: [{"tid", "spread", "shares"}];
    `picture`: the drawing, ready ({"scale": [min x, min y, factor], "layers": [{"group", "d"}], "sampled",
    "clustered", "unclustered"}, picture.py). Each participant's point is in `opinion_map_points`."""

    __tablename__ = "opinion_maps"

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("opinion_conversations.id", ondelete="CASCADE"), primary_key=True
    )
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The votes it saw: their number and the latest change among them (a newer change calls for a recomputation).
    vote_count: Mapped[int] = mapped_column(Integer, default=0)
    last_vote_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    participant_count: Mapped[int] = mapped_column(Integer, default=0)
    groups: Mapped[list[Any]] = mapped_column(JSON, default=list)
    consensus: Mapped[list[Any]] = mapped_column(JSON, default=list)
    divisive: Mapped[list[Any]] = mapped_column(JSON, default=list)
    picture: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class MapPoint(Base):
    """Where the last recomputation placed one participant (read by its key: "where you stand", the export)."""

    __tablename__ = "opinion_map_points"

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("opinion_conversations.id", ondelete="CASCADE"), primary_key=True
    )
    pid: Mapped[int] = mapped_column(Integer, primary_key=True)
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    # The group's id, -1 for a participant in no group (too few votes).
    group_id: Mapped[int] = mapped_column(SmallInteger)
