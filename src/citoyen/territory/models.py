"""Territory: the city and its neighbourhoods (GeoJSON geometry plus the indexed columns queries need), and
the address points the geocoder reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from citoyen.db import Base, UTCDateTime, utcnow


class City(Base):
    """The one city this instance serves; `revision` changes whenever its neighbourhoods are replaced."""

    __tablename__ = "cities"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    revision: Mapped[str] = mapped_column(String(36))
    source: Mapped[str] = mapped_column(String(500), default="")
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Neighbourhood(Base):
    __tablename__ = "neighbourhoods"

    id: Mapped[int] = mapped_column(primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str | None] = mapped_column(String(50), default=None, index=True)
    # RFC 7946 geometry (Polygon or MultiPolygon), WGS84 lon/lat.
    geometry: Mapped[dict[str, Any]] = mapped_column(JSON)
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    centroid_lon: Mapped[float] = mapped_column(Float)
    centroid_lat: Mapped[float] = mapped_column(Float)
    area_m2: Mapped[float] = mapped_column(Float)
    # Properties of the source feature we keep (e.g. arrondissement), for display.
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Address(Base):
    """One address point of the Base Adresse Nationale (BAN) or a file in its CSV format: a house number
    on a street, with its WGS84 point. `street_key` is the street's name as the geocoder compares it
    (`citoyen.territory.geocoding.street_key`: accents, case and punctuation folded, abbreviations spelt out).
    Public space, not personal data."""

    __tablename__ = "addresses"
    __table_args__ = (
        # Geocoding: a street's numbers; reverse geocoding: the points within a small box.
        Index("ix_addresses_street_number", "street_key", "numero"),
        Index("ix_addresses_lat_lon", "lat", "lon"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ban_id: Mapped[str] = mapped_column(String(60))
    numero: Mapped[int] = mapped_column(Integer)
    suffixe: Mapped[str] = mapped_column(String(20), default="")
    nom_voie: Mapped[str] = mapped_column(String(200))
    code_postal: Mapped[str] = mapped_column(String(5), default="")
    nom_commune: Mapped[str] = mapped_column(String(100), default="")
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    # Compared byte by byte (collation "C" on PostgreSQL), so that a prefix is a range of the index.
    street_key: Mapped[str] = mapped_column(String(200).with_variant(String(200, collation="C"), "postgresql"))


class AddressImport(Base):
    """One import of an address file; the newest one's `revision` tells the geocoders of every process that
    their street index is stale."""

    __tablename__ = "address_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[str] = mapped_column(String(36))
    source: Mapped[str] = mapped_column(String(500), default="")
    count: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NeighbourhoodPopulation(Base):
    """A neighbourhood's number of residents, from an INSEE file (`citoyen territory import-population`) or an
    estimate (the demo's): what per-resident and per-1,000-residents indicators divide by. A count of people,
    never about a person."""

    __tablename__ = "neighbourhood_populations"

    neighbourhood_id: Mapped[int] = mapped_column(
        ForeignKey("neighbourhoods.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    population: Mapped[int] = mapped_column(Integer)
    # The census year the figure describes (INSEE's P21_POP: 2021); None when the file does not say.
    year: Mapped[int | None] = mapped_column(Integer, default=None)
    source: Mapped[str] = mapped_column(String(500), default="")
    # An estimate (the demo's split of published totals), not a census figure: pages say so.
    estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
