"""Test data for participation: the two-square test territory and processes with phases around now."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.participation import service as participation
from citoyen.participation.models import PhaseKind, Process, Proposal
from citoyen.people.models import Person
from citoyen.territory import service as territory
from citoyen.territory.service import TerritoryIndexCache
from tests.territory.helpers import create_territory

# Inside the "Ouest" square of the test territory, inside "Est", and outside both.
WEST = (2.305, 48.855)
EAST = (2.315, 48.855)
OUTSIDE = (2.5, 48.9)


async def neighbourhood_ids(session: AsyncSession) -> dict[str, int]:
    return {n.name: n.id for n in await territory.list_neighbourhoods(session)}


def open_phases(now: datetime | None = None, **flags: bool) -> list[participation.PhaseInput]:
    """An information phase in the past, a running phase (proposals, comments, supports unless told
    otherwise) and a voting phase to come."""
    now = now or utcnow()
    running = {"allows_proposals": True, "allows_comments": True, "allows_supports": True} | flags
    return [
        participation.PhaseInput(PhaseKind.INFORMATION, now - timedelta(days=20), now - timedelta(days=10)),
        participation.PhaseInput(
            PhaseKind.PROPOSALS,
            now - timedelta(days=10),
            now + timedelta(days=10),
            title="Propositions",
            **running,  # type: ignore[arg-type]
        ),
        participation.PhaseInput(
            PhaseKind.VOTING, now + timedelta(days=10), now + timedelta(days=20), allows_votes=True
        ),
    ]


async def create_process(
    session: AsyncSession,
    slug: str = "budget-quartiers",
    phases: list[participation.PhaseInput] | None = None,
    **fields: object,
) -> Process:
    now = utcnow()
    data = participation.ProcessInput(
        slug=slug,
        title=str(fields.pop("title", "Des idées pour nos quartiers")),
        title_en="Ideas for our neighbourhoods",
        description="Proposez, soutenez, débattez.",
        starts_at=now - timedelta(days=20),
        ends_at=now + timedelta(days=60),
        categories=[
            participation.CategoryInput("Mobilité", "Mobility"),
            participation.CategoryInput("Nature en ville"),
        ],
        phases=phases if phases is not None else open_phases(now),
        **fields,  # type: ignore[arg-type]
    )
    return await participation.save_process(session, data)


async def submit(
    session: AsyncSession,
    process: Process,
    author: Person,
    where: tuple[float, float] | None = WEST,
    title: str = "Une rue scolaire devant l'école",
    body: str = "Fermer la rue aux voitures aux heures d'entrée et de sortie des classes.",
    **fields: object,
) -> Proposal:
    data = participation.ProposalInput(
        title=title,
        body=body,
        lon=where[0] if where else None,
        lat=where[1] if where else None,
        **fields,  # type: ignore[arg-type]
    )
    return await participation.submit_proposal(session, TerritoryIndexCache(), process, author, data)


async def setup_territory(session: AsyncSession) -> dict[str, int]:
    await create_territory(session)
    return await neighbourhood_ids(session)
