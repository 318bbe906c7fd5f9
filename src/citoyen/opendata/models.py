"""Open data: the city's catalogue as CKAN knows it. Publishers (organizations), themes (groups, the EU data
themes), datasets (packages) with tags, their resources (files or links) and every uploaded version of a file,
and the public privacy ledger of releases about people.

No personal data is stored here: datasets and resources hold public data, publishers are city departments, and
no row records who made a change. Aggregates about people reach this domain only through the privacy layer.
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
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from citoyen.db import Base, UTCDateTime, utcnow


def _enum(kind: type[enum.StrEnum], length: int = 20) -> Enum:
    return Enum(kind, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class DatasetState(enum.StrEnum):
    ACTIVE = "active"
    DELETED = "deleted"


class PrivacyMechanism(enum.StrEnum):
    LAPLACE = "laplace"
    DISCRETE_GAUSSIAN = "discrete_gaussian"
    MIN_CELL_SIZE = "min_cell_size"


class Organization(Base):
    """A publisher (CKAN organization), usually a city department, linked by the department's code."""

    __tablename__ = "opendata_organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    # CKAN's `id`: a UUID, stable across renames.
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    # The people domain's Department.code, when the publisher is a department (a plain code, not a key).
    department_code: Mapped[str | None] = mapped_column(String(40), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Group(Base):
    """A theme (CKAN group); the EU data themes are seeded by the migration."""

    __tablename__ = "opendata_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    # The EU data theme it stands for (http://publications.europa.eu/resource/authority/data-theme/...), if any.
    theme_uri: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Tag(Base):
    __tablename__ = "opendata_tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)


class Dataset(Base):
    """A dataset (CKAN package). `search_title` and `search_body` hold its words prepared for full-text search
    (written by the service); the full-text indexes over them are made by the migration alone."""

    __tablename__ = "opendata_datasets"
    __table_args__ = (
        Index("ix_opendata_datasets_listing", "state", "private", "modified_at", "id"),
        Index("ix_opendata_datasets_organization_id", "organization_id"),
        Index("ix_opendata_datasets_license_id", "license_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300), default="")
    notes: Mapped[str] = mapped_column(Text, default="")  # Markdown
    notes_en: Mapped[str] = mapped_column(Text, default="")
    license_id: Mapped[str] = mapped_column(String(40), default="")
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("opendata_organizations.id", ondelete="RESTRICT"), default=None
    )
    # A private dataset is a draft: only publishers see it.
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[DatasetState] = mapped_column(_enum(DatasetState, 10), default=DatasetState.ACTIVE)
    version: Mapped[str] = mapped_column(String(100), default="")
    temporal_start: Mapped[date | None] = mapped_column(Date, default=None)
    temporal_end: Mapped[date | None] = mapped_column(Date, default=None)
    # The spatial extent as GeoJSON (a bbox Polygon usually).
    spatial: Mapped[str] = mapped_column(Text, default="")
    # An EU frequency code (DAILY, WEEKLY, MONTHLY, ANNUAL, IRREG, ...), or "".
    frequency: Mapped[str] = mapped_column(String(20), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What feeds it: "platform:reports" for the platform's own datasets, None for one made by hand.
    source: Mapped[str | None] = mapped_column(String(60), default=None, index=True)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    change_note: Mapped[str] = mapped_column(Text, default="")
    change_note_en: Mapped[str] = mapped_column(Text, default="")
    search_title: Mapped[str] = mapped_column(Text, default="")
    search_body: Mapped[str] = mapped_column(Text, default="")


class DatasetTag(Base):
    __tablename__ = "opendata_dataset_tags"

    dataset_id: Mapped[int] = mapped_column(ForeignKey("opendata_datasets.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(
        ForeignKey("opendata_tags.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class DatasetGroup(Base):
    __tablename__ = "opendata_dataset_groups"

    dataset_id: Mapped[int] = mapped_column(ForeignKey("opendata_datasets.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("opendata_groups.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Resource(Base):
    """A file or link of a dataset (CKAN resource). An uploaded file has versions; `current_version` is the
    number of the one served by default (None for a link)."""

    __tablename__ = "opendata_resources"
    __table_args__ = (Index("ix_opendata_resources_dataset_format", "dataset_id", "format"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("opendata_datasets.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(300), default="")
    name_en: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    # Upper case, as the format facet shows it: CSV, GEOJSON, JSON, XLSX, PARQUET, ...
    format: Mapped[str] = mapped_column(String(20), default="")
    mimetype: Mapped[str] = mapped_column(String(100), default="")
    # The address of a linked resource ("" for an uploaded file, whose URL is the platform's download route).
    url: Mapped[str] = mapped_column(String(2000), default="")
    current_version: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ResourceVersion(Base):
    """One uploaded file of a resource. Files live under the open-data directory named by their SHA-256, so the
    same content is stored once; earlier versions stay downloadable."""

    __tablename__ = "opendata_resource_versions"
    __table_args__ = (UniqueConstraint("resource_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("opendata_resources.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    # Relative to the open-data directory.
    path: Mapped[str] = mapped_column(String(300))
    filename: Mapped[str] = mapped_column(String(255))
    mimetype: Mapped[str] = mapped_column(String(100), default="")
    row_count: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # The Frictionless Table Schema of a tabular file.
    table_schema: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class CatalogueVersion(Base):
    """One row whose `version` changes with every statement that writes the catalogue (datasets, their tags, themes
    and resources, publishers, themes, tags), in the writing transaction: triggers made by the migration
    `catalogue_version` keep it. It is a stamp that never repeats, so that a process's caches of the catalogue
    hold exactly while they read the same one."""

    __tablename__ = "opendata_catalogue_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


class PrivacyRelease(Base):
    """One release of figures about people, with what it spent of the privacy budget (the public ledger)."""

    __tablename__ = "opendata_privacy_releases"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("opendata_datasets.id", ondelete="CASCADE"), index=True)
    resource_id: Mapped[int | None] = mapped_column(
        ForeignKey("opendata_resources.id", ondelete="SET NULL"), default=None
    )
    released_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    period: Mapped[str] = mapped_column(String(40), default="")  # e.g. 2026-W49
    mechanism: Mapped[PrivacyMechanism] = mapped_column(_enum(PrivacyMechanism, 30))
    epsilon: Mapped[float | None] = mapped_column(Float, default=None)  # differential privacy only
    k: Mapped[int | None] = mapped_column(Integer, default=None)  # minimum cell size only
    description: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
