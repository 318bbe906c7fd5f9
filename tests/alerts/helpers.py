"""Test data for alerts: reports filed on past days (a quiet series, then a burst) and the staff concerned."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.people.models import Person, Role
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
