"""Test data for alerts: reports filed on past days (a quiet series, then a burst) and the staff concerned, and a
public sensor with one reading a day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.people.models import Person, Role
from citoyen.sensing.models import (
    Datastream,
    FeatureOfInterest,
    Location,
    Observation,
    ObservedProperty,
    ResultType,
    Sensor,
    Thing,
    ThingKind,
    ThingLocation,
)
from tests.factories import create_person
from tests.reports.helpers import ReportsWorld, create_reports_world, file_report


@dataclass
class AlertsWorld:
    reports: ReportsWorld
    lighting_staff: Person
    roads_staff: Person
    citizen: Person
    now: datetime


async def create_alerts_world(session: AsyncSession, quiet_days: int = 20, burst: int = 6) -> AlertsWorld:
    """Street lights reported once a day for `quiet_days` days, then `burst` reports yesterday (UTC), in the
    test territory's west square; a staff member of the lighting department (where they are routed), one of
    roads, and a citizen."""
    world = await create_reports_world(session)
    now = utcnow()
    noon = now.replace(hour=12, minute=0, second=0, microsecond=0)
    for days_ago in range(quiet_days + 1, 1, -1):
        report = await file_report(session, world)
        report.requested_at = noon - timedelta(days=days_ago)
    for _ in range(burst):
        report = await file_report(session, world)
        report.requested_at = noon - timedelta(days=1)
    lighting = await create_person(session, role=Role.STAFF)
    lighting.department_id = world.lighting.id
    roads = await create_person(session, role=Role.STAFF)
    roads.department_id = world.roads.id
    citizen = await create_person(session)
    await session.flush()
    return AlertsWorld(world, lighting, roads, citizen, now)


async def create_sensor(
    session: AsyncSession,
    kind: ThingKind,
    neighbourhood_id: int | None,
    values: dict[date, float],
    properties: dict[str, Any] | None = None,
) -> Datastream:
    """A public Thing of `kind` placed in the neighbourhood, with one Datastream read once a day at noon (UTC);
    `properties` are the Datastream's."""
    thing = Thing(name=f"Station {kind.value}", description="test", kind=kind)
    where = '{"type": "Point", "coordinates": [2.305, 48.855]}'
    location = Location(name="here", description="test", location=where, lon=2.305, lat=48.855)
    location.neighbourhood_id = neighbourhood_id
    feature = FeatureOfInterest(name="here", description="test", feature=where, lon=2.305, lat=48.855)
    sensor = Sensor(name="sensor", description="test", encoding_type="text/plain", sensor_metadata="test")
    measured = ObservedProperty(name=f"Mesure {kind.value}", description="test", definition="https://example.org/m")
    session.add_all([thing, location, feature, sensor, measured])
    await session.flush()
    session.add(ThingLocation(thing_id=thing.id, location_id=location.id))
    datastream = Datastream(
        name=f"Station {kind.value} · mesure",
        description="test",
        observation_type="http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
        unit_of_measurement={"name": "unit", "symbol": "u", "definition": "https://example.org/u"},
        thing_id=thing.id,
        sensor_id=sensor.id,
        observed_property_id=measured.id,
        properties=properties,
    )
    session.add(datastream)
    await session.flush()
    for day, value in values.items():
        moment = datetime.combine(day, time(12), tzinfo=UTC)
        session.add(
            Observation(
                datastream_id=datastream.id,
                feature_of_interest_id=feature.id,
                phenomenon_time_start=moment,
                result_time=moment,
                result_type=ResultType.FLOAT,
                result_number=value,
            )
        )
    await session.flush()
    return datastream
