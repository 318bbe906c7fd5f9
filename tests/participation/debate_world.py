"""Test data for debate, moderation and following: a process in a phase that takes comments, proposals,
and people. Processes and proposals are stored as the participation domain stores them."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.participation import service as participation
from citoyen.participation.models import Phase, PhaseKind, Process, Proposal
from citoyen.people.models import Person, Role
from tests.factories import create_person

_numbers = itertools.count(1)


@dataclass
class DebateWorld:
    process: Process
    phase: Phase
    proposal: Proposal
    author: Person
    alice: Person
    bruno: Person
    moderator: Person


async def create_process(session: AsyncSession, allows_comments: bool = True, title: str = "") -> tuple[Process, Phase]:
    now = utcnow()
    number = next(_numbers)
    process = Process(
        slug=f"budget-{number}",
        title=title or f"Budget participatif {number}",
        title_en=f"Participatory budget {number}",
        starts_at=now - timedelta(days=10),
        ends_at=now + timedelta(days=60),
    )
    session.add(process)
    await session.flush()
    phase = Phase(
        process_id=process.id,
        kind=PhaseKind.DEBATE,
        starts_at=now - timedelta(days=5),
        ends_at=now + timedelta(days=20),
        allows_comments=allows_comments,
        allows_proposals=True,
    )
    session.add(phase)
    await session.flush()
    return process, phase


async def create_proposal(
    session: AsyncSession, process: Process, author: Person | None, title: str = "Des bancs au square", **fields: object
) -> Proposal:
    proposal = Proposal(
        process_id=process.id,
        author_id=author.id if author else None,
        title=title,
        body="Installer des bancs à l'ombre des platanes.",
        **fields,
    )
    session.add(proposal)
    await session.flush()
    await participation.add_support_count(session, proposal)
    return proposal


async def create_debate_world(session: AsyncSession) -> DebateWorld:
    process, phase = await create_process(session)
    author = await create_person(session, display_name=f"Autrice{next(_numbers)}")
    alice = await create_person(session, display_name=f"Alice{next(_numbers)}")
    bruno = await create_person(session, display_name=f"Bruno{next(_numbers)}")
    moderator = await create_person(session, role=Role.MODERATOR, display_name=f"Modo{next(_numbers)}")
    proposal = await create_proposal(session, process, author)
    return DebateWorld(process, phase, proposal, author, alice, bruno, moderator)
