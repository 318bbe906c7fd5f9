"""What the projects' open dataset publishes (read by `opendata.project_feeds` through `service`): every
project's public fields, its neighbourhoods and its timeline, in three queries. Nothing about people: not who
asked, gave feedback, flagged or follows, nor which staff account posted."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.projects.models import Project, ProjectNeighbourhood, ProjectPhase


@dataclass(frozen=True)
class PublishedPhase:
    kind: str
    starts_on: date
    ends_on: date | None


@dataclass(frozen=True)
class PublishedProject:
    id: int
    title: str
    title_en: str
    description: str
    description_en: str
    theme: str
    phase: str
    starts_on: date | None
    ends_on: date | None
    budget_cents: int | None
    department_id: int | None
    process_id: int | None
    proposal_ids: list[int]
    geometry: dict[str, Any]
    lon: float
    lat: float
    demo: bool
    updated_at: datetime
    neighbourhood_ids: tuple[int, ...]
    phases: tuple[PublishedPhase, ...]


async def published_projects(session: AsyncSession) -> list[PublishedProject]:
    """Every project, by id, with its neighbourhoods and phases."""
    neighbourhoods: dict[int, list[int]] = defaultdict(list)
    query = select(ProjectNeighbourhood.project_id, ProjectNeighbourhood.neighbourhood_id).order_by(
        ProjectNeighbourhood.project_id, ProjectNeighbourhood.neighbourhood_id
    )
    for project_id, neighbourhood_id in (await session.execute(query)).all():
        neighbourhoods[project_id].append(neighbourhood_id)
    phases: dict[int, list[PublishedPhase]] = defaultdict(list)
    for phase in (
        await session.execute(select(ProjectPhase).order_by(ProjectPhase.project_id, ProjectPhase.position))
    ).scalars():
        phases[phase.project_id].append(PublishedPhase(phase.kind, phase.starts_on, phase.ends_on))
    return [
        PublishedProject(
            id=project.id,
            title=project.title,
            title_en=project.title_en,
            description=project.description,
            description_en=project.description_en,
            theme=project.theme,
            phase=project.phase,
            starts_on=project.starts_on,
            ends_on=project.ends_on,
            budget_cents=project.budget_cents,
            department_id=project.department_id,
            process_id=project.process_id,
            proposal_ids=list(project.proposal_ids),
            geometry=project.geometry,
            lon=project.lon,
            lat=project.lat,
            demo=project.demo,
            updated_at=project.updated_at,
            neighbourhood_ids=tuple(neighbourhoods.get(project.id, ())),
            phases=tuple(phases.get(project.id, ())),
        )
        for project in (await session.execute(select(Project).order_by(Project.id))).scalars()
    ]
