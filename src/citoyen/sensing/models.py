"""Urban sensing: the OGC SensorThings API v1.1 data model (OGC 18-088).

Things carry sensors' Datastreams; Observations are the big table (hundreds of millions of rows on
PostgreSQL). On PostgreSQL the migration creates `sta_observations` partitioned by range of
`phenomenon_time_start` (monthly partitions plus a default one, see docs/architecture.md), so its
primary key there is `(id, phenomenon_time_start)`; the model declares `id` alone so SQLite keeps an
auto-assigned rowid, and ids stay unique on PostgreSQL because one sequence feeds every partition.

The MultiDatastream extension (18-088 §14) shares the Observations' table: each Observation belongs to a Datastream
or to a MultiDatastream (exactly one of the two keys is set).

Citoyen adds to the standard model: a Thing's `access` (public, restricted: metadata only, personal:
visible to its owner and staff only) and `owner_person_id` (a household's meter is personal data),
`kind` for the map, and each Location's representative point and neighbourhood.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from citoyen.db import Base, UTCDateTime, utcnow

# SQLite only auto-assigns "INTEGER PRIMARY KEY" columns; PostgreSQL gets a real bigint.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def _enum(kind: type[enum.StrEnum], length: int = 20) -> Enum:
    return Enum(kind, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class ThingAccess(enum.StrEnum):
    PUBLIC = "public"
    # Metadata public, raw Observations not served (aggregates are, elsewhere).
    RESTRICTED = "restricted"
    # Only the owner and staff see it or anything under it: personal data.
    PERSONAL = "personal"


class ThingKind(enum.StrEnum):
    AIR = "air"
    WATER = "water"
    ENERGY = "energy"
    MOBILITY = "mobility"
    OTHER = "other"


class ResultType(enum.IntEnum):
    """Which typed column holds an Observation's result, so every JSON value round-trips exactly."""

    NULL = 0
    FLOAT = 1
    INTEGER = 2  # integers within ±2**53, in result_number; larger ones go to result_json
    STRING = 3
    BOOLEAN = 4
    JSON = 5  # objects, arrays, big integers


class Thing(Base):
    __tablename__ = "sta_things"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    # The English name and description a page shows an English reader (empty: the name above, as given).
    # Not part of the SensorThings API, which answers with the data as stored.
    name_en: Mapped[str] = mapped_column(String(300), default="", server_default="")
    description_en: Mapped[str] = mapped_column(Text, default="", server_default="")
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    access: Mapped[ThingAccess] = mapped_column(_enum(ThingAccess), default=ThingAccess.PUBLIC, index=True)
    owner_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), default=None, index=True
    )
    kind: Mapped[ThingKind] = mapped_column(_enum(ThingKind), default=ThingKind.OTHER)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Location(Base):
    __tablename__ = "sta_locations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    encoding_type: Mapped[str] = mapped_column(String(100), default="application/geo+json")
    # The GeoJSON geometry (or Feature) exactly as given.
    location: Mapped[str] = mapped_column(Text)
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # A representative point (WGS84) and the neighbourhood it falls in, for the map and area queries.
    lon: Mapped[float | None] = mapped_column(Float, default=None)
    lat: Mapped[float | None] = mapped_column(Float, default=None)
    neighbourhood_id: Mapped[int | None] = mapped_column(
        ForeignKey("neighbourhoods.id", ondelete="SET NULL"), default=None, index=True
    )


class ThingLocation(Base):
    """A Thing's current Location(s)."""

    __tablename__ = "sta_thing_locations"

    thing_id: Mapped[int] = mapped_column(ForeignKey("sta_things.id", ondelete="CASCADE"), primary_key=True)
    location_id: Mapped[int] = mapped_column(
        ForeignKey("sta_locations.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class HistoricalLocation(Base):
    __tablename__ = "sta_historical_locations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    thing_id: Mapped[int] = mapped_column(ForeignKey("sta_things.id", ondelete="CASCADE"), index=True)
    time: Mapped[datetime] = mapped_column(UTCDateTime)


class HistoricalLocationLocation(Base):
    __tablename__ = "sta_historical_location_locations"

    historical_location_id: Mapped[int] = mapped_column(
        ForeignKey("sta_historical_locations.id", ondelete="CASCADE"), primary_key=True
    )
    location_id: Mapped[int] = mapped_column(
        ForeignKey("sta_locations.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Sensor(Base):
    __tablename__ = "sta_sensors"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    name_en: Mapped[str] = mapped_column(String(300), default="", server_default="")
    description_en: Mapped[str] = mapped_column(Text, default="", server_default="")
    encoding_type: Mapped[str] = mapped_column(String(100))
    # "Any" in the standard (usually a URL or a document): kept as the JSON value given.
    sensor_metadata: Mapped[Any] = mapped_column("metadata", JSON)
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class ObservedProperty(Base):
    __tablename__ = "sta_observed_properties"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    definition: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    name_en: Mapped[str] = mapped_column(String(300), default="", server_default="")
    description_en: Mapped[str] = mapped_column(Text, default="", server_default="")
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class Datastream(Base):
    __tablename__ = "sta_datastreams"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    name_en: Mapped[str] = mapped_column(String(300), default="", server_default="")
    description_en: Mapped[str] = mapped_column(Text, default="", server_default="")
    observation_type: Mapped[str] = mapped_column(String(200))
    unit_of_measurement: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The unit's symbol in English where it is a word ("bicycles/h" beside "vélos/h"); empty: the symbol as given,
    # the same in both languages ("µg/m³"). Pages only: the SensorThings API answers the unit as stored.
    unit_symbol_en: Mapped[str] = mapped_column(String(100), default="", server_default="")
    # GeoJSON of the area the Observations' features cover, kept up to date on insert.
    observed_area: Mapped[str | None] = mapped_column(Text, default=None)
    phenomenon_time_start: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    phenomenon_time_end: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    result_time_start: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    result_time_end: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    thing_id: Mapped[int] = mapped_column(ForeignKey("sta_things.id", ondelete="CASCADE"), index=True)
    sensor_id: Mapped[int] = mapped_column(ForeignKey("sta_sensors.id", ondelete="CASCADE"), index=True)
    observed_property_id: Mapped[int] = mapped_column(
        ForeignKey("sta_observed_properties.id", ondelete="CASCADE"), index=True
    )


# The observationType of every MultiDatastream (18-088 §14.2.1): its Observations' results are arrays.
COMPLEX_OBSERVATION = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_ComplexObservation"


class MultiDatastream(Base):
    """The MultiDatastream extension (18-088 §14): one Thing's Sensor observing several ObservedProperties at once
    (a weather mast's wind speed and direction), each Observation's result an array with one value per property.
    `unit_of_measurements` and `multi_observation_data_types` are JSON arrays in the order of the ObservedProperties'
    positions (`MultiDatastreamObservedProperty.position`); the three always have the same length."""

    __tablename__ = "sta_multi_datastreams"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    observation_type: Mapped[str] = mapped_column(String(200), default=COMPLEX_OBSERVATION)
    unit_of_measurements: Mapped[list[Any]] = mapped_column(JSON)
    multi_observation_data_types: Mapped[list[Any]] = mapped_column(JSON)
    # Kept covering the Observations on every write, as a Datastream's are.
    observed_area: Mapped[str | None] = mapped_column(Text, default=None)
    phenomenon_time_start: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    phenomenon_time_end: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    result_time_start: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    result_time_end: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    thing_id: Mapped[int] = mapped_column(ForeignKey("sta_things.id", ondelete="CASCADE"), index=True)
    sensor_id: Mapped[int] = mapped_column(ForeignKey("sta_sensors.id", ondelete="CASCADE"), index=True)


class MultiDatastreamObservedProperty(Base):
    """The ObservedProperties of a MultiDatastream, in order: `position` is the index of the property's value in
    each result array (and of its unit and data type)."""

    __tablename__ = "sta_multi_observed_properties"

    multi_datastream_id: Mapped[int] = mapped_column(
        ForeignKey("sta_multi_datastreams.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    observed_property_id: Mapped[int] = mapped_column(
        ForeignKey("sta_observed_properties.id", ondelete="CASCADE"), index=True
    )


class FeatureOfInterest(Base):
    __tablename__ = "sta_features_of_interest"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    encoding_type: Mapped[str] = mapped_column(String(100), default="application/geo+json")
    feature: Mapped[str] = mapped_column(Text)
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    lon: Mapped[float | None] = mapped_column(Float, default=None)
    lat: Mapped[float | None] = mapped_column(Float, default=None)
    # Set when the server made this feature from a Thing's Location, so later Observations reuse it.
    generated_from_location_id: Mapped[int | None] = mapped_column(
        ForeignKey("sta_locations.id", ondelete="SET NULL"), default=None, index=True
    )


class Observation(Base):
    """One result. Partitioned by phenomenon time on PostgreSQL (see the module docstring)."""

    __tablename__ = "sta_observations"
    __table_args__ = (
        Index("ix_sta_observations_datastream_time", "datastream_id", "phenomenon_time_start"),
        Index("ix_sta_observations_feature_of_interest_id", "feature_of_interest_id"),
        # Partial: the Observations of Datastreams (nearly all of them) cost ingest nothing here.
        Index(
            "ix_sta_observations_multi_datastream_time",
            "multi_datastream_id",
            "phenomenon_time_start",
            postgresql_where=text("multi_datastream_id IS NOT NULL"),
            sqlite_where=text("multi_datastream_id IS NOT NULL"),
        ),
        CheckConstraint("(datastream_id IS NULL) <> (multi_datastream_id IS NULL)", name="one_stream"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Exactly one of the two is set (the check "one_stream"): an Observation of a Datastream, or of a MultiDatastream.
    datastream_id: Mapped[int | None] = mapped_column(ForeignKey("sta_datastreams.id", ondelete="CASCADE"))
    multi_datastream_id: Mapped[int | None] = mapped_column(
        ForeignKey("sta_multi_datastreams.id", ondelete="CASCADE"), default=None
    )
    phenomenon_time_start: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set only when the phenomenon time is an interval.
    phenomenon_time_end: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    result_time: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    result_type: Mapped[int] = mapped_column(SmallInteger, default=ResultType.NULL)
    result_number: Mapped[float | None] = mapped_column(Float, default=None)
    result_string: Mapped[str | None] = mapped_column(Text, default=None)
    result_boolean: Mapped[bool | None] = mapped_column(Boolean, default=None)
    result_json: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True, default=None)
    result_quality: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True, default=None)
    valid_time_start: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    valid_time_end: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    parameters: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    feature_of_interest_id: Mapped[int] = mapped_column(ForeignKey("sta_features_of_interest.id", ondelete="CASCADE"))


class IdempotentAnswer(Base):
    """The answer to a SensorThings POST sent with an `Idempotency-Key`, kept for the client's retries.

    Written in the same transaction as what the request stored, so after a crash either both are there (a
    retry gets this answer back) or neither (a retry stores the data once). Keys belong to one API token."""

    __tablename__ = "sta_idempotent_answers"
    __table_args__ = (UniqueConstraint("token_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of the method, path and body: the same key with another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(SmallInteger)
    body: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(Text, default=None)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
