"""Sensors for the tests of the citizen pages, live updates and MQTT: a Thing at a place, one Datastream."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.demo.sensing import insert_readings
from citoyen.sensing.models import (
    Datastream,
    FeatureOfInterest,
    Location,
    ObservedProperty,
    Sensor,
    Thing,
    ThingAccess,
    ThingKind,
    ThingLocation,
)

_sequence = itertools.count(1)


@dataclass(frozen=True)
class SensorWorld:
    thing_id: int
    datastream_id: int
    feature_id: int


async def create_sensor(
    session: AsyncSession,
    access: ThingAccess = ThingAccess.PUBLIC,
    kind: ThingKind = ThingKind.AIR,
    owner_id: int | None = None,
    name: str | None = None,
    lon: float = 2.3488,
    lat: float = 48.8534,
) -> SensorWorld:
    number = next(_sequence)
    thing = Thing(
        name=name or f"Station {number}", description="test", kind=kind, access=access, owner_person_id=owner_id
    )
    point = json.dumps({"type": "Point", "coordinates": [lon, lat]})
    location = Location(name=f"Place {number}", location=point, lon=lon, lat=lat)
    sensor = Sensor(name=f"Sensor {number}", encoding_type="text/plain", sensor_metadata="test")
    observed = ObservedProperty(
        name=f"NO2 {number}", definition="https://dd.eionet.europa.eu/vocabulary/aq/pollutant/8"
    )
    session.add_all([thing, location, sensor, observed])
    await session.flush()
    session.add(ThingLocation(thing_id=thing.id, location_id=location.id))
    feature = FeatureOfInterest(
        name=location.name, feature=point, lon=lon, lat=lat, generated_from_location_id=location.id
    )
    datastream = Datastream(
        name=f"NO2 at station {number}",
        observation_type="http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
        unit_of_measurement={"name": "microgram per cubic metre", "symbol": "µg/m³", "definition": "ucum:ug/m3"},
        thing_id=thing.id,
        sensor_id=sensor.id,
        observed_property_id=observed.id,
    )
    session.add_all([feature, datastream])
    await session.flush()
    return SensorWorld(thing.id, datastream.id, feature.id)


async def add_readings(session: AsyncSession, world: SensorWorld, readings: list[tuple[datetime, float]]) -> None:
    await insert_readings(session, world.datastream_id, world.feature_id, readings, decimals=3)
    await session.flush()
