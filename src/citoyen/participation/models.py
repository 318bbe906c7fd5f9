"""Participation: participatory processes (Decidim/CONSUL style) with their phases, the proposals citizens
submit, the supports they give, and the city's official answers with milestones (accountability).

Processes, phases, proposals, answers and milestones are public. Personal data is who wrote a proposal
(`participation_proposals.author_id`, detached on erasure: the text stays, signed "deleted participant"),
who supports it (`participation_supports`) and who follows it (`participation_follows`); the export and
erase providers are in service.py.
"""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    select,
    text,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column

from citoyen.db import Base, UTCDateTime, utcnow
from citoyen.i18n import localized
from citoyen.textsearch import indexed_from

# Random keys of proposals are drawn in [0, RANDOM_KEYS).
RANDOM_KEYS = 2**31 - 1


def new_random_key() -> int:
    return secrets.randbelow(RANDOM_KEYS)


def _enum(kind: type[enum.StrEnum], length: int = 20) -> Enum:
    return Enum(kind, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class PhaseKind(enum.StrEnum):
    INFORMATION = "information"
    PROPOSALS = "proposals"
    DEBATE = "debate"
    VOTING = "voting"
    IMPLEMENTATION = "implementation"


class ProposalStatus(enum.StrEnum):
    """Where a proposal stands; everything but PUBLISHED comes from an official answer."""

    PUBLISHED = "published"
    EVALUATING = "evaluating"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class ParticipationImage(Base):
    """An image re-encoded without metadata (see citoyen.web.images); the upload itself is never kept."""

    __tablename__ = "participation_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    media_type: Mapped[str] = mapped_column(String(40))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Process(Base):
    """A participatory process: a question put to the city (or some neighbourhoods), run in phases."""

    __tablename__ = "participation_processes"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    # True: the whole city; False: only the neighbourhoods in participation_process_neighbourhoods.
    whole_city: Mapped[bool] = mapped_column(Boolean, default=True)
    image_id: Mapped[int | None] = mapped_column(
        ForeignKey("participation_images.id", ondelete="SET NULL"), default=None
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Minutes after submitting during which the author may still edit a proposal.
    edit_window_minutes: Mapped[int] = mapped_column(Integer, default=30)
    # Supports at which a proposal requires an official answer; None: no threshold.
    support_threshold: Mapped[int | None] = mapped_column(Integer, default=None)
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def label(self, locale: str) -> str:
        return localized(locale, self.title, self.title_en)

    def text(self, locale: str) -> str:
        return localized(locale, self.description, self.description_en)


class ProcessNeighbourhood(Base):
    """A neighbourhood a process is limited to (when it is not city-wide)."""

    __tablename__ = "participation_process_neighbourhoods"
    __table_args__ = (UniqueConstraint("process_id", "neighbourhood_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("participation_processes.id", ondelete="CASCADE"))
    neighbourhood_id: Mapped[int] = mapped_column(ForeignKey("neighbourhoods.id", ondelete="CASCADE"), index=True)


class ProcessCategory(Base):
    """A theme proposals of a process are filed under (mobility, greenery, ...)."""

    __tablename__ = "participation_categories"
    __table_args__ = (UniqueConstraint("process_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("participation_processes.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    def label(self, locale: str) -> str:
        return localized(locale, self.name, self.name_en)


class Phase(Base):
    """A period of a process; its flags say what citizens may do while it runs."""

    __tablename__ = "participation_phases"
    __table_args__ = (Index("ix_participation_phases_process_position", "process_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("participation_processes.id", ondelete="CASCADE"))
    kind: Mapped[PhaseKind] = mapped_column(_enum(PhaseKind))
    title: Mapped[str] = mapped_column(String(200), default="")
    title_en: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    allows_proposals: Mapped[bool] = mapped_column(Boolean, default=False)
    allows_comments: Mapped[bool] = mapped_column(Boolean, default=False)
    allows_supports: Mapped[bool] = mapped_column(Boolean, default=False)
    allows_votes: Mapped[bool] = mapped_column(Boolean, default=False)

    def label(self, locale: str) -> str:
        return localized(locale, self.title, self.title_en)


class SupportCount(Base):
    """How many people support a proposal, kept in the same transaction as the supports. A row apart from
    the proposal's: a support rewrites this narrow row and its two index entries, where rewriting the
    proposal's row gave each of its fifteen indexes a new entry (two of them trigram indexes of its
    text). `process_id` repeats the proposal's, for the "most supported" order of a process."""

    __tablename__ = "participation_support_counts"
    __table_args__ = (Index("ix_participation_support_counts_ranking", "process_id", "support_count", "proposal_id"),)

    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("participation_proposals.id", ondelete="CASCADE"), primary_key=True
    )
    process_id: Mapped[int] = mapped_column(ForeignKey("participation_processes.id", ondelete="CASCADE"))
    support_count: Mapped[int] = mapped_column(Integer, default=0)


class Proposal(Base):
    """A citizen's proposal. Public text; `author_id` is personal data (None once the author erased their
    account: the proposal is then signed "deleted participant")."""

    __tablename__ = "participation_proposals"
    __table_args__ = (
        Index("ix_participation_proposals_process_created", "process_id", "created_at"),
        Index("ix_participation_proposals_process_comments", "process_id", "comment_count"),
        Index("ix_participation_proposals_process_status", "process_id", "status"),
        Index("ix_participation_proposals_process_neighbourhood", "process_id", "neighbourhood_id"),
        Index("ix_participation_proposals_process_h3_r6", "process_id", "h3_r6"),
        Index("ix_participation_proposals_process_h3_r8", "process_id", "h3_r8"),
        Index("ix_participation_proposals_lon_lat", "lon", "lat"),
        Index("ix_participation_proposals_answer_required", "answer_required"),
        # The "random" order: a page of it is a short walk along this index (see service.search_proposals),
        # which holds the filters too on PostgreSQL (no row is read to skip another neighbourhood's).
        Index(
            "ix_participation_proposals_visible_random",
            "process_id",
            "random_key",
            "id",
            postgresql_include=["neighbourhood_id", "category_id", "status"],
            postgresql_where=text("hidden_at IS NULL AND withdrawn_at IS NULL"),
            sqlite_where=text("hidden_at IS NULL AND withdrawn_at IS NULL"),
        ),
        # A neighbourhood's points on the map, newest first, or their cells when crowded, read from the index
        # alone on PostgreSQL.
        Index(
            "ix_participation_proposals_visible_points",
            "process_id",
            "neighbourhood_id",
            "id",
            postgresql_include=["lon", "lat", "status", "title", "h3_r10"],
            postgresql_where=text("hidden_at IS NULL AND withdrawn_at IS NULL AND lon IS NOT NULL"),
            sqlite_where=text("hidden_at IS NULL AND withdrawn_at IS NULL AND lon IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("participation_processes.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), default=None, index=True
    )
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("participation_categories.id", ondelete="SET NULL"), default=None
    )
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # The words of the title and the body as the full-text index reads them (citoyen.textsearch), filled on
    # insert, set again by an edit; the index (PostgreSQL's search_vector, SQLite's participation_proposals_fts)
    # is the migration's.
    search_title: Mapped[str] = mapped_column(Text, default=indexed_from("title"))
    search_body: Mapped[str] = mapped_column(Text, default=indexed_from("body"))
    # The language the author wrote in ("fr", "en"), so pages can say so.
    locale: Mapped[str] = mapped_column(String(5), default="fr")
    lon: Mapped[float | None] = mapped_column(Float, default=None)
    lat: Mapped[float | None] = mapped_column(Float, default=None)
    address: Mapped[str] = mapped_column(String(300), default="")
    neighbourhood_id: Mapped[int | None] = mapped_column(
        ForeignKey("neighbourhoods.id", ondelete="SET NULL"), default=None
    )
    h3_r6: Mapped[str | None] = mapped_column(String(16), default=None)
    h3_r8: Mapped[str | None] = mapped_column(String(16), default=None)
    h3_r10: Mapped[str | None] = mapped_column(String(16), default=None)
    image_id: Mapped[int | None] = mapped_column(
        ForeignKey("participation_images.id", ondelete="SET NULL"), default=None
    )
    status: Mapped[ProposalStatus] = mapped_column(_enum(ProposalStatus), default=ProposalStatus.PUBLISHED)
    # Set when the support threshold is reached, cleared by the first official answer.
    answer_required: Mapped[bool] = mapped_column(Boolean, default=False)
    # Implementation progress in percent, from the latest answer or milestone.
    progress: Mapped[int | None] = mapped_column(Integer, default=None)
    # Kept in the same transaction as the comments it counts (by the debate module).
    comment_count: Mapped[int] = mapped_column(Integer, default=0)
    # Read with the proposal from its row apart (see SupportCount), which is written with the proposal.
    support_count: Mapped[int] = column_property(
        select(SupportCount.support_count)
        .where(SupportCount.proposal_id == id)
        .correlate_except(SupportCount)
        .scalar_subquery()
    )
    # Drawn once, at random: the "random" order walks proposals by this key from a point the seed picks.
    random_key: Mapped[int] = mapped_column(Integer, default=new_random_key)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Set by moderation (debate module): hidden proposals are shown to nobody but staff.
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class ProposalCount(Base):
    """How many visible proposals (neither hidden nor withdrawn) a process has per neighbourhood, category,
    status and H3 cell: what the list's total and the zoomed-out map read instead of counting 200,000 rows.
    Kept by database triggers (migration 7c1e5b2a9d40) on every insert, delete and update of the counted
    columns, whatever writes them (services, demo, bulk loads). 0 stands for "none" in the keys."""

    __tablename__ = "participation_proposal_counts"

    process_id: Mapped[int] = mapped_column(
        ForeignKey("participation_processes.id", ondelete="CASCADE"), primary_key=True
    )
    neighbourhood_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[ProposalStatus] = mapped_column(_enum(ProposalStatus), primary_key=True)
    h3_r8: Mapped[str] = mapped_column(String(16), primary_key=True)
    h3_r6: Mapped[str] = mapped_column(String(16))
    count: Mapped[int] = mapped_column(Integer, default=0)


class Support(Base):
    """Personal data: a person supports a proposal, once."""

    __tablename__ = "participation_supports"
    __table_args__ = (UniqueConstraint("proposal_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("participation_proposals.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProposalFollow(Base):
    """Personal data: a person wants news of a proposal (authors follow their own proposals)."""

    __tablename__ = "participation_follows"
    __table_args__ = (UniqueConstraint("proposal_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("participation_proposals.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProposalAnswer(Base):
    """An official answer: the history of a proposal's status; the latest one is copied onto the proposal."""

    __tablename__ = "participation_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("participation_proposals.id", ondelete="CASCADE"), index=True)
    status: Mapped[ProposalStatus] = mapped_column(_enum(ProposalStatus))
    text: Mapped[str] = mapped_column(Text, default="")
    progress: Mapped[int | None] = mapped_column(Integer, default=None)
    # Staff account that answered (not personal data of a citizen).
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Milestone(Base):
    """A step of carrying out an accepted proposal (accountability), with the progress it brings."""

    __tablename__ = "participation_milestones"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("participation_proposals.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    progress: Mapped[int] = mapped_column(Integer, default=0)
    happened_on: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
