"""The indicators' rollups: hourly and daily aggregates of numeric sensor readings, kept up to date as readings
arrive (citoyen.indicators.rollups) so that a chart over a year reads a few thousand rows, never the raw
Observations.

- `DatastreamRollup`: per Datastream, step ("hour" or "day") and bucket (its UTC start): count, sum, minimum and
  maximum of the readings (the mean is sum / count). Only Datastreams of public and restricted Things are rolled
  up: a personal Thing's readings never enter an aggregate, so these tables hold no personal data.
- `AreaRollup`: the same per neighbourhood and quantity (what is observed: "no2", "bicycles", ...; see
  `definitions.quantity_of`), summed over the neighbourhood's Datastreams.

Rows point to their Datastream and neighbourhood by id without a foreign key to sensing's tables (a domain
never depends on another's tables): `citoyen indicators rebuild` recomputes everything, dropping what a deleted
Datastream left.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from citoyen.db import Base, UTCDateTime


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
