"""The indicators' rollups: hourly and daily aggregates of numeric sensor readings, kept up to date a few seconds
behind the readings (citoyen.indicators.rollups) so that a chart over a year reads a few thousand rows, never the raw
Observations.

- `DatastreamRollup`: per Datastream, step ("hour" or "day") and bucket (its UTC start): count, sum, minimum and
  maximum of the readings (the mean is sum / count). Only Datastreams of public and restricted Things are rolled
  up: a personal Thing's readings never enter an aggregate, so these tables hold no personal data.
- `AreaRollup`: the same per neighbourhood and quantity (what is observed: "no2", "bicycles", ...; see
  `definitions.quantity_of`), summed over the neighbourhood's Datastreams.

- `IndicatorChange`: a quartier's weekly figure for an indicator that left its usual range (citoyen.indicators.changes),
  one at most per indicator, quartier and week; `IndicatorWeekJudged`: the weeks already judged, so that each is
  judged once. Aggregates about places only: no personal data.
- `indicator_pending_spans` (`PENDING_SPANS`): what ingest noted for the fold, which keeps both tables up to date a
  few seconds behind the writes (see citoyen.indicators.rollups).

Rows point to their Datastream and neighbourhood by id without a foreign key to sensing's tables (a domain
never depends on another's tables): `citoyen indicators rebuild` recomputes everything, dropping what a deleted
Datastream left.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Column, Float, Index, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citoyen.db import Base, UTCDateTime, utcnow


class DatastreamRollup(Base):
    __tablename__ = "indicator_datastream_rollups"

    datastream_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    step: Mapped[str] = mapped_column(String(5), primary_key=True)
    bucket: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[float] = mapped_column(Float)
    minimum: Mapped[float] = mapped_column(Float)
    maximum: Mapped[float] = mapped_column(Float)


class AreaRollup(Base):
    __tablename__ = "indicator_area_rollups"
    __table_args__ = (Index("ix_indicator_area_rollups_quantity", "quantity", "step", "bucket"),)

    neighbourhood_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quantity: Mapped[str] = mapped_column(String(120), primary_key=True)
    step: Mapped[str] = mapped_column(String(5), primary_key=True)
    bucket: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[float] = mapped_column(Float)
    minimum: Mapped[float] = mapped_column(Float)
    maximum: Mapped[float] = mapped_column(Float)


class IndicatorChange(Base):
    """A quartier's figure for a week that left the range of the weeks before it (see `changes.judge`)."""

    __tablename__ = "indicator_changes"
    __table_args__ = (UniqueConstraint("indicator_id", "neighbourhood_id", "week"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[str] = mapped_column(String(60))
    neighbourhood_id: Mapped[int] = mapped_column(Integer)
    # The week's Monday (00:00 UTC).
    week: Mapped[datetime] = mapped_column(UTCDateTime)
    value: Mapped[float] = mapped_column(Float)
    # The weeks before it: how many had a figure, their mean, lowest and highest.
    weeks: Mapped[int] = mapped_column(Integer)
    mean: Mapped[float] = mapped_column(Float)
    low: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)
    judged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Judged on the demonstration city's simulated data.
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)


class IndicatorWeekJudged(Base):
    """A week whose figures were judged (once: a later round leaves it)."""

    __tablename__ = "indicator_weeks_judged"

    week: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    judged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changes: Mapped[int] = mapped_column(Integer, default=0)


# What the rollups still have to fold in: one row per Datastream and write that stored, changed or deleted readings
# (the span of phenomenon times it touched, and when). Written by every ingest transaction and emptied by the fold
# (citoyen.indicators.rollups.fold), so it has no key and no index on purpose: an append costs a heap insert and
# nothing else, and two writers never wait for each other on it. A Core table, as an ORM class needs a primary key.
PENDING_SPANS = Table(
    "indicator_pending_spans",
    Base.metadata,
    Column("datastream_id", BigInteger, nullable=False),
    Column("first_time", UTCDateTime, nullable=False),
    Column("last_time", UTCDateTime, nullable=False),
    Column("noted_at", UTCDateTime, nullable=False),
)


class RollupVersion(Base):
    """One row: a number every change of the neighbourhoods' rollups adds one to (a fold that folded something,
    the civic refresh, the counts a domain pushes, a rebuild). A page snapshot says which version it was computed
    from (citoyen.indicators.snapshots)."""

    __tablename__ = "indicator_rollup_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


class PageSnapshot(Base):
    """The figures a quartier's page shows (and the city's, under neighbourhood 0), computed for every quartier at
    once by citoyen.indicators.snapshots.refresh after the rollups change: a page reads one row or two instead of
    computing a hundred figures. Public aggregates only, as JSON."""

    __tablename__ = "indicator_page_snapshots"

    neighbourhood_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    # What the per-resident figures divided by (a digest of the quartiers' population): an import makes it stale.
    population_stamp: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    payload: Mapped[str] = mapped_column(Text)
