"""A building's attributes beside its SensorThings Thing, and the residents linked to it.

- `Building`: keyed by its Thing's id (the Thing, its Location and its meters' Datastreams live in sensing and
  were created through sensing's service; no foreign key to sensing's tables, as indicators' rollups do): use,
  floor area, year of construction, number of dwellings, energy class (DPE), quartier, and which Datastreams
  are its water, electricity and heating meters and the outdoor temperature its degree-days come from.
- `BuildingLink`: a person who said they live in the building (requested), confirmed by the buildings
  department's staff. **Personal data**: exported and erased with the person (`personal_data.py`).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citoyen.db import Base, UTCDateTime, utcnow


class BuildingUse(enum.StrEnum):
    HOUSING = "housing"  # logements collectifs
    OFFICE = "office"
    SCHOOL = "school"


class LinkStatus(enum.StrEnum):
    REQUESTED = "requested"
    CONFIRMED = "confirmed"


ENERGY_CLASSES = "ABCDEFG"


class Building(Base):
    __tablename__ = "buildings"

    thing_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    use: Mapped[str] = mapped_column(String(20), index=True)
    floor_area_m2: Mapped[int] = mapped_column(Integer)
    year_built: Mapped[int] = mapped_column(Integer)
    dwellings: Mapped[int] = mapped_column(Integer, default=0)
    energy_class: Mapped[str | None] = mapped_column(String(1), default=None)
    neighbourhood_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)
    water_datastream_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    electricity_datastream_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    heating_datastream_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    temperature_datastream_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # Its meters' readings are simulated (the demo's): every page showing them says so.
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BuildingLink(Base):
    """A resident's link to their building (personal data)."""

    __tablename__ = "building_links"
    __table_args__ = (UniqueConstraint("building_id", "person_id", name="uq_building_links_building_person"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("buildings.thing_id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(10), default=LinkStatus.REQUESTED.value)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), default=None)
