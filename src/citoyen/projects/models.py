"""Urban projects (CityZenMap): what the city builds at a place (works, bike lanes, squares, schools), with its
phases, documents, staff updates, citizens' questions (answered publicly by the department), feedback and follows.

Projects, phases, documents, updates and answers are public. Personal data is who asked a question
(`project_questions.author_id`), who gave feedback (`project_feedback.author_id`), who flagged feedback
(`project_feedback_flags`) and who follows a project (`project_follows`): exported and erased in
`personal_data.py` (questions and feedback stay, detached from their author, like comments).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from citoyen.db import Base, UTCDateTime, utcnow
from citoyen.i18n import localized


class Phase(enum.StrEnum):
    """Where a project stands, in the order projects go through (the map's colours)."""

    STUDY = "study"
    CONSULTATION = "consultation"
    WORKS = "works"
    DELIVERED = "delivered"


class Theme(enum.StrEnum):
    CYCLING = "cycling"
    MOBILITY = "mobility"
    GREENERY = "greenery"
    PUBLIC_SPACE = "public_space"
    SCHOOL = "school"
    SPORT = "sport"
    CULTURE = "culture"
    WATER = "water"
    ENERGY = "energy"
    HOUSING = "housing"


class FeedbackKind(enum.StrEnum):
    USEFUL = "useful"
    WORRIED = "worried"


class Project(Base):
    """A project at a place: its RFC 7946 geometry (Point, LineString, Polygon or their Multi forms, WGS84) as
    given, with the box and a point on it that queries need."""

    __tablename__ = "projects"
    __table_args__ = (
        Index("ix_projects_box", "min_lon", "max_lon", "min_lat", "max_lat"),
        Index("ix_projects_phase", "phase"),
        Index("ix_projects_theme", "theme"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    phase: Mapped[str] = mapped_column(String(20), default=Phase.STUDY.value)
    theme: Mapped[str] = mapped_column(String(20))
    geometry: Mapped[dict[str, Any]] = mapped_column(JSON)
    # What the map draws at low zoom (`geometry.simplified`, computed on write); None on rows written before it
    # existed, which the map then draws whole.
    geometry_simple: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), default=None)
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    # A point on the geometry (its representative point): the pin of lists and "near me".
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    budget_cents: Mapped[int | None] = mapped_column(BigInteger, default=None)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="SET NULL"), default=None)
    # Where the project comes from in participation (ids checked through participation.service).
    process_id: Mapped[int | None] = mapped_column(Integer, default=None)
    proposal_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # The span of its phases (for the period filter): the first start and the last end.
    starts_on: Mapped[date | None] = mapped_column(Date, default=None)
    ends_on: Mapped[date | None] = mapped_column(Date, default=None)
    # A project of the demo city, labelled so wherever shown.
    demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def label(self, locale: str) -> str:
        return localized(locale, self.title, self.title_en)

    def text(self, locale: str) -> str:
        return localized(locale, self.description, self.description_en)


class ProjectMapVersion(Base):
    """One row: the version of the projects as the map shows them, drawn anew at random by every write of a
    project, in the writing transaction. The map's answers are kept per version (`mapcache`): a worker reads this
    one row to know whether what it keeps is still true. Random rather than counted, so that a rolled-back write's
    version is never seen again with other rows."""

    __tablename__ = "project_map_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class ProjectMapAnswer(Base):
    """A map answer that is costly to build (a city-wide view: thousands of projects), stored as the bytes sent
    with the version of the projects it was built from, so that every worker serves it and none of its visitors
    waits for a rebuild: after a change a background task of one worker rebuilds it (`claim_version`,
    `claimed_at` say which version it is building) while the previous answer is served, marked with its version.
    `params` is what it answers (box, simplified or not, filters, language), `digest` a hash of them."""

    __tablename__ = "project_map_answers"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(BigInteger)
    etag: Mapped[str] = mapped_column(String(64))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Last asked (written at most once an hour): answers nobody asked for a day are no longer rebuilt.
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claim_version: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ProjectNeighbourhood(Base):
    """A neighbourhood the project's geometry touches (derived, never typed)."""

    __tablename__ = "project_neighbourhoods"
    __table_args__ = (UniqueConstraint("project_id", "neighbourhood_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    neighbourhood_id: Mapped[int] = mapped_column(ForeignKey("neighbourhoods.id", ondelete="CASCADE"), index=True)


class ProjectPhase(Base):
    """One phase of the timeline with its dates (the end may be unknown yet)."""

    __tablename__ = "project_phases"
    __table_args__ = (Index("ix_project_phases_project", "project_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date, default=None)
    position: Mapped[int] = mapped_column(Integer, default=0)


class ProjectDocument(Base):
    """A PDF as uploaded (checked to be one), or an image re-encoded without metadata (citoyen.images)."""

    __tablename__ = "project_documents"
    __table_args__ = (Index("ix_project_documents_project", "project_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProjectUpdate(Base):
    """News staff post on a project ("works start on 3 March, road closed"); public."""

    __tablename__ = "project_updates"
    __table_args__ = (Index("ix_project_updates_project", "project_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text, default="")
    # A staff account (not personal data of a citizen); the department signs publicly.
    author_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def text(self, locale: str) -> str:
        return localized(locale, self.body, self.body_en)


class ProjectQuestion(Base):
    """A citizen's public question and the department's public answer. `author_id` is personal data."""

    __tablename__ = "project_questions"
    __table_args__ = (Index("ix_project_questions_project", "project_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), default=None, index=True
    )
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), default=None)


class ProjectFeedback(Base):
    """ "Useful" or "worried about…" with a short text; shown at once, hidden by moderators with a public reason
    (as comments are). `author_id` is personal data."""

    __tablename__ = "project_feedback"
    __table_args__ = (Index("ix_project_feedback_project", "project_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), default=None, index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    flag_count: Mapped[int] = mapped_column(Integer, default=0)
    hidden_reason: Mapped[str] = mapped_column(String(300), default="")
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), default=None)


class ProjectFeedbackFlag(Base):
    """One person's flag on one piece of feedback (personal data)."""

    __tablename__ = "project_feedback_flags"
    __table_args__ = (UniqueConstraint("feedback_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(ForeignKey("project_feedback.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProjectFollow(Base):
    """A person follows a project: its updates and answers reach their notifications (personal data)."""

    __tablename__ = "project_follows"
    __table_args__ = (UniqueConstraint("project_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
