"""Test data for projects: the two-square test territory (Ouest 2.30–2.31, Est 2.31–2.32, lat 48.85–48.86),
a staff member and projects made through the service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.people.models import Person, Role
from citoyen.projects import service as projects
from citoyen.territory.service import TerritoryIndexCache
from tests.factories import create_person
from tests.territory.helpers import create_territory

# A street across both squares, and an area inside "Ouest".
ACROSS = {"type": "LineString", "coordinates": [[2.302, 48.855], [2.318, 48.855]]}
WEST_AREA = {
    "type": "Polygon",
    "coordinates": [[[2.302, 48.852], [2.306, 48.852], [2.306, 48.856], [2.302, 48.856], [2.302, 48.852]]],
}


@dataclass
class World:
    staff: Person
    citizen: Person
    index: TerritoryIndexCache


async def create_world(session: AsyncSession) -> World:
    await create_territory(session)
    staff = await create_person(session, role=Role.STAFF, display_name="Service voirie")
    citizen = await create_person(session, display_name="Camille")
    return World(staff, citizen, TerritoryIndexCache())


def works_now() -> list[projects.PhaseInput]:
    today = utcnow().date()
    return [
        projects.PhaseInput("study", today - timedelta(days=400), today - timedelta(days=200)),
        projects.PhaseInput("works", today - timedelta(days=10), today + timedelta(days=60)),
    ]


async def create_project(
    session: AsyncSession,
    world: World,
    geometry: Any = None,
    title: str = "Piste cyclable rue de l'Ouest",
    phase: str = "works",
    theme: str = "cycling",
    phases: list[projects.PhaseInput] | None = None,
    **fields: Any,
) -> projects.Project:
    data = projects.ProjectInput(
        title=title,
        title_en=fields.pop("title_en", "Bike lane on West street"),
        theme=theme,
        phase=phase,
        geometry=geometry if geometry is not None else ACROSS,
        phases=works_now() if phases is None else phases,
        **fields,
    )
    return await projects.create_project(session, world.index, world.staff, data)


def day(text: str) -> date:
    return date.fromisoformat(text)


async def erasable_project_data(session: AsyncSession, person: Person) -> None:
    """Everything the projects domain keeps about `person`: a question, feedback, a flag, a follow."""
    world = await create_world(session)
    project = await create_project(session, world)
    await projects.ask_question(session, person, project.id, "Quand la rue rouvrira-t-elle ?")
    mine = await projects.give_feedback(session, person, project.id, "worried", "Le bruit")
    other = await projects.give_feedback(session, world.citizen, project.id, "useful", "")
    await projects.flag_feedback(session, person, other.id)
    await projects.flag_feedback(session, world.citizen, mine.id)
