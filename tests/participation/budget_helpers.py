"""Test data for participatory budgets: a process whose voting phase runs now, a budget and projects,
verified residents."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.db import utcnow
from citoyen.participation import service as participation
from citoyen.participation.budgets import service as budgets
from citoyen.participation.budgets.models import Budget, BudgetProject
from citoyen.participation.budgets.rules import BallotRule
from citoyen.participation.models import Phase, PhaseKind, Process
from citoyen.people.models import Person
from citoyen.verification import service as verification
from tests.factories import create_person
from tests.participation.helpers import create_process


def voting_phases(open_now: bool = True) -> list[participation.PhaseInput]:
    now = utcnow()
    start, end = (
        (now - timedelta(days=2), now + timedelta(days=5))
        if open_now
        else (now - timedelta(days=9), now - timedelta(days=1))
    )
    return [
        participation.PhaseInput(PhaseKind.PROPOSALS, now - timedelta(days=30), start, allows_proposals=True),
        participation.PhaseInput(PhaseKind.VOTING, start, end, title="Vote", allows_votes=True),
    ]


async def voting_phase(session: AsyncSession, process: Process) -> Phase:
    phases = (await participation.phases_of(session, [process.id]))[process.id]
    return next(phase for phase in phases if phase.kind == PhaseKind.VOTING)


async def create_budget(
    session: AsyncSession,
    costs: list[int] = [60_00, 40_00, 40_00],  # noqa: B006 - read only
    total_cents: int = 100_00,
    open_now: bool = True,
    slug: str = "budget-2027",
    **rules: object,
) -> tuple[Budget, list[BudgetProject]]:
    process = await create_process(session, slug=slug, phases=voting_phases(open_now))
    phase = await voting_phase(session, process)
    data = budgets.BudgetInput(phase_id=phase.id, title="Budget participatif 2027", total_cents=total_cents, **rules)  # type: ignore[arg-type]
    budget = await budgets.save_budget(session, data)
    projects = [
        await budgets.save_project(
            session,
            budget,
            budgets.ProjectInput(title=f"Projet {letter}", title_en=f"Project {letter}", cost_cents=cost),
        )
        for letter, cost in zip("ABCDEFGHIJ", costs, strict=False)
    ]
    return budget, projects


async def verified_residents(session: AsyncSession, settings: Settings, count: int) -> list[Person]:
    """New accounts, each verified against a residents' list imported for them."""
    documents = [f"DOC{number:06d}" for number in range(count)]
    csv_text = "document_number,birth_date\n" + "".join(f"{document},1990-01-01\n" for document in documents)
    await verification.import_resident_list(
        session, settings, "Liste test", verification.parse_resident_csv(csv_text.encode())
    )
    residents = []
    for number, document in enumerate(documents):
        person = await create_person(session)
        await verification.verify_person(session, settings, person, document, "01/01/1990", f"10.0.{number}.1")
        residents.append(person)
    return residents


__all__ = ["BallotRule", "create_budget", "verified_residents", "voting_phase", "voting_phases"]
