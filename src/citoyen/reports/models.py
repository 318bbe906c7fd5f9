"""Reports: problems citizens report at a place (Open311 service requests), their categories (Open311
services) with questions (attributes), routing to departments, history, photos, followers, supports.

Reports are about public space and are public. Who reported or follows a report is personal data and
lives only in `report_contacts`, `report_followers` and `report_supports` (export/erase providers in
service.py); `report_events.actor_id` points at staff accounts only.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Enum,
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
from citoyen.textsearch import indexed_from


def _enum(kind: type[enum.StrEnum], length: int = 20) -> Enum:
    return Enum(kind, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class ReportStatus(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"

    @property
    def open311(self) -> str:
        """Open311 knows only open and closed."""
        return "closed" if self is ReportStatus.CLOSED else "open"


class CloseReason(enum.StrEnum):
    FIXED = "fixed"
    DUPLICATE = "duplicate"
    NOT_RESPONSIBLE = "not_responsible"
    NOT_FOUND = "not_found"
    NO_ACTION = "no_action"


class AttributeType(enum.StrEnum):
    """Open311 attribute datatypes."""

    STRING = "string"
    NUMBER = "number"
    DATETIME = "datetime"
    TEXT = "text"
    SINGLE = "singlevaluelist"
    MULTI = "multivaluelist"


class Category(Base):
    """An Open311 service: what can be reported (a pothole, a broken street light, ...)."""

    __tablename__ = "report_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    group: Mapped[str] = mapped_column(String(100), default="")
    keywords: Mapped[str] = mapped_column(String(300), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def label(self, locale: str) -> str:
        return localized(locale, self.name, self.name_en)


class CategoryAttribute(Base):
    """A question asked when reporting in a category (an Open311 attribute)."""

    __tablename__ = "report_category_attributes"
    __table_args__ = (UniqueConstraint("category_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("report_categories.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(60))
    datatype: Mapped[AttributeType] = mapped_column(_enum(AttributeType))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str] = mapped_column(String(500))
    description_en: Mapped[str] = mapped_column(String(500), default="")
    datatype_description: Mapped[str] = mapped_column(String(300), default="")
    # For list types: [{"key": "...", "name": "...", "name_en": "..."}]
    values: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)

    def question(self, locale: str) -> str:
        return localized(locale, self.description, self.description_en)


class RoutingRule(Base):
    """Reports of a category (optionally only in one neighbourhood) go to a department."""

    __tablename__ = "report_routing_rules"
    __table_args__ = (UniqueConstraint("category_id", "neighbourhood_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("report_categories.id", ondelete="CASCADE"))
    neighbourhood_id: Mapped[int | None] = mapped_column(
        ForeignKey("neighbourhoods.id", ondelete="CASCADE"), default=None
    )
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"))


class Report(Base):
    """A reported problem (an Open311 service request). Public: holds nothing about the reporter."""

    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_requested_at", "requested_at"),
        # The latest change: part of what tells a cached Open311 answer that it is still current.
        Index("ix_reports_updated_at", "updated_at"),
        Index("ix_reports_category_requested", "category_id", "requested_at"),
        Index("ix_reports_status_requested", "status", "requested_at"),
        Index("ix_reports_neighbourhood_requested", "neighbourhood_id", "requested_at"),
        Index("ix_reports_department_status", "department_id", "status"),
        Index("ix_reports_lon_lat", "lon", "lat"),
        Index("ix_reports_h3_r6", "h3_r6"),
        Index("ix_reports_h3_r8", "h3_r8"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("report_categories.id", ondelete="RESTRICT"))
    status: Mapped[ReportStatus] = mapped_column(_enum(ReportStatus), default=ReportStatus.OPEN)
    close_reason: Mapped[CloseReason | None] = mapped_column(_enum(CloseReason), default=None)
    description: Mapped[str] = mapped_column(Text, default="")
    # The language the description was written in ("fr", "en"): the reporter's interface language, so pages
    # in the other language can say so.
    locale: Mapped[str] = mapped_column(String(5), default="fr", server_default="fr")
    # The words of the description and the address as the full-text index reads them (citoyen.textsearch),
    # filled on insert (neither changes afterwards); the index (PostgreSQL's search_vector, SQLite's
    # reports_fts) is the migration's.
    search_text: Mapped[str] = mapped_column(Text, default=indexed_from("description", "address"))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    address: Mapped[str] = mapped_column(String(300), default="")
    address_id: Mapped[str] = mapped_column(String(100), default="")
    zipcode: Mapped[str] = mapped_column(String(20), default="")
    neighbourhood_id: Mapped[int | None] = mapped_column(
        ForeignKey("neighbourhoods.id", ondelete="SET NULL"), default=None
    )
    h3_r6: Mapped[str] = mapped_column(String(16))
    h3_r8: Mapped[str] = mapped_column(String(16))
    h3_r10: Mapped[str] = mapped_column(String(16))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="SET NULL"), default=None)
    # The public answer (Open311 status_notes).
    status_notes: Mapped[str] = mapped_column(Text, default="")
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    media_url: Mapped[str] = mapped_column(String(500), default="")
    supports: Mapped[int] = mapped_column(Integer, default=0)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"), default=None)
    source: Mapped[str] = mapped_column(String(20), default="web")
    # Returned to Open311 clients at creation, for GET tokens/{token}.
    token: Mapped[str] = mapped_column(String(40), unique=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expected_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class ReportContact(Base):
    """Personal data: who filed a report (an account, or the contact details left with it)."""

    __tablename__ = "report_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), unique=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), default=None, index=True)
    email: Mapped[str] = mapped_column(String(320), default="", index=True)
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    device_id: Mapped[str] = mapped_column(String(100), default="")


class ReportPhoto(Base):
    """A photo re-encoded without metadata (the original upload is never kept)."""

    __tablename__ = "report_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    media_type: Mapped[str] = mapped_column(String(40))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)


class EventKind(enum.StrEnum):
    CREATED = "created"
    STATUS = "status"
    ANSWER = "answer"
    NOTE = "note"
    EXPECTED = "expected"
    REASSIGNED = "reassigned"
    MERGED = "merged"


class ReportEvent(Base):
    """The history of a report; internal notes are events that are not public."""

    __tablename__ = "report_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[EventKind] = mapped_column(_enum(EventKind))
    status: Mapped[ReportStatus] = mapped_column(_enum(ReportStatus))
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    text: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), default=None)


class ReportFollower(Base):
    """Personal data: who wants news of a report (an account, or an e-mail address left when reporting)."""

    __tablename__ = "report_followers"
    __table_args__ = (UniqueConstraint("report_id", "person_id"), UniqueConstraint("report_id", "email"))

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), default=None, index=True)
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportSupport(Base):
    """Personal data: a person's "me too" on a report; one per person (or per browser for visitors)."""

    __tablename__ = "report_supports"
    __table_args__ = (UniqueConstraint("report_id", "supporter_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), default=None, index=True)
    # "person:<id>" or a hash of the visitor's session, so one browser supports once.
    supporter_key: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportMapCount(Base):
    """How many reports share an H3 cell (resolution 8), neighbourhood, category, status and month of filing.

    Derived data: the map's cell layer for a period sums these rows instead of counting a million reports
    (`ReportMapTotal` holds the same counts over all time, a twentieth of the rows, for the map without
    dates). `create_report` and `update_report` keep both exact in their own transaction;
    `rebuild_map_counts` recomputes them after a bulk load. Reports without a neighbourhood count under
    neighbourhood 0 (a key column cannot be NULL), hence no foreign keys: nothing here outlives a rebuild.
    """

    __tablename__ = "report_map_counts"
    __table_args__ = (Index("ix_report_map_counts_neighbourhood", "neighbourhood_id"),)

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    h3_r8: Mapped[str] = mapped_column(String(16), primary_key=True)
    neighbourhood_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[ReportStatus] = mapped_column(_enum(ReportStatus), primary_key=True)
    h3_r6: Mapped[str] = mapped_column(String(16))
    count: Mapped[int] = mapped_column(Integer, default=0)


class ReportMapTotal(Base):
    """`ReportMapCount` summed over all months: what the map draws when no period is chosen."""

    __tablename__ = "report_map_totals"

    neighbourhood_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    h3_r8: Mapped[str] = mapped_column(String(16), primary_key=True)
    category_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[ReportStatus] = mapped_column(_enum(ReportStatus), primary_key=True)
    h3_r6: Mapped[str] = mapped_column(String(16))
    count: Mapped[int] = mapped_column(Integer, default=0)


class CatalogRevision(Base):
    """One row: bumped by every change to categories, their questions or routing, so that each app process
    knows when its cached copy of them (`service.CatalogCache`) is out of date."""

    __tablename__ = "report_catalog_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
