"""Budgets over storage: setting up, casting and changing ballots (verified residents, open phase, valid
choices), results from stored ballots, personal data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.app import build_personal_data_registry
from citoyen.config import Settings
from citoyen.db import utcnow
from citoyen.participation import service as participation
from citoyen.participation.budgets import service as budgets
from citoyen.participation.budgets.models import Ballot, BallotChoice
from citoyen.participation.budgets.rules import BallotRule, ResultMethod
from citoyen.participation.models import ProposalStatus
from citoyen.people import service as people
from citoyen.people.models import Role
from citoyen.territory.service import TerritoryIndexCache
from tests.factories import create_person
from tests.participation.budget_helpers import create_budget, verified_residents, voting_phase
from tests.participation.helpers import create_process


async def _ballots(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Ballot)) or 0)


async def test_a_verified_resident_votes_and_changes_their_ballot(session: AsyncSession, settings: Settings) -> None:
    budget, (a, b, c) = await create_budget(session)
    [resident] = await verified_residents(session, settings, 1)
    await budgets.cast_ballot(session, budget, resident, [a.id, b.id])
    assert await budgets.ballot_of(session, budget, resident) == {a.id, b.id}
    await budgets.cast_ballot(session, budget, resident, [c.id])
    assert await budgets.ballot_of(session, budget, resident) == {c.id}
    assert await _ballots(session) == 1  # changed, not added


async def test_bad_ballots_are_refused_and_nothing_is_recorded(session: AsyncSession, settings: Settings) -> None:
    budget, (a, b, c) = await create_budget(session, min_spend_percent=50)
    [resident] = await verified_residents(session, settings, 1)
    with pytest.raises(budgets.BudgetError) as over:
        await budgets.cast_ballot(session, budget, resident, [a.id, b.id, c.id])
    assert over.value.problems[0].values == {"spent_cents": 140_00, "total_cents": 100_00}
    assert "6 000" not in str(over.value)  # values are raw cents until a page formats them
    with pytest.raises(budgets.BudgetError, match="spend at least"):
        await budgets.cast_ballot(session, budget, resident, [b.id])
    assert await _ballots(session) == 0
    # A refused change keeps the ballot already recorded as it was.
    await budgets.cast_ballot(session, budget, resident, [a.id])
    with pytest.raises(budgets.BudgetError):
        await budgets.cast_ballot(session, budget, resident, [a.id, b.id, c.id])
    assert await budgets.ballot_of(session, budget, resident) == {a.id}


async def test_an_approval_ballot_has_a_maximum_number_of_projects(session: AsyncSession, settings: Settings) -> None:
    budget, (a, b, c) = await create_budget(session, rule=BallotRule.APPROVAL, max_projects=2)
    [resident] = await verified_residents(session, settings, 1)
    with pytest.raises(budgets.BudgetError, match="at most 2"):
        await budgets.cast_ballot(session, budget, resident, [a.id, b.id, c.id])
    await budgets.cast_ballot(session, budget, resident, [a.id, c.id])


async def test_only_verified_residents_vote(session: AsyncSession, settings: Settings) -> None:
    budget, (a, _, _) = await create_budget(session)
    stranger = await create_person(session)
    with pytest.raises(budgets.BudgetError) as refused:
        await budgets.cast_ballot(session, budget, stranger, [a.id])
    assert refused.value.kind == "not_verified"
    assert await _ballots(session) == 0


async def test_no_vote_outside_the_voting_phase(session: AsyncSession, settings: Settings) -> None:
    budget, (a, _, _) = await create_budget(session, open_now=False)
    [resident] = await verified_residents(session, settings, 1)
    with pytest.raises(budgets.BudgetError) as refused:
        await budgets.cast_ballot(session, budget, resident, [a.id])
    assert refused.value.kind == "closed"
    open_budget, (x, _, _) = await create_budget(session, slug="budget-open")
    with pytest.raises(budgets.BudgetError):
        await budgets.cast_ballot(session, open_budget, resident, [x.id], now=utcnow() + timedelta(days=30))


async def test_a_resident_who_erases_their_account_cannot_vote_twice(session: AsyncSession, settings: Settings) -> None:
    budget, (a, b, _) = await create_budget(session)
    [resident] = await verified_residents(session, settings, 1)
    await budgets.cast_ballot(session, budget, resident, [a.id])
    registry = build_personal_data_registry()
    exported = await people.export_personal_data(session, registry, resident)
    assert exported["domains"]["budgets"]["tables"]["budget_ballots"][0]["project"] == "Projet A"
    await people.erase_person(session, registry, resident)
    newcomer = await create_person(session)
    from citoyen.verification import service as verification

    await verification.verify_person(session, settings, newcomer, "DOC000000", "1990-01-01", "10.9.9.9")
    await budgets.cast_ballot(session, budget, newcomer, [b.id])
    assert await _ballots(session) == 1  # the same resident's one ballot, changed
    assert await budgets.ballot_of(session, budget, newcomer) == {b.id}


async def test_results_count_the_stored_ballots_by_both_methods(session: AsyncSession, settings: Settings) -> None:
    budget, (a, b, c) = await create_budget(session)
    residents = await verified_residents(session, settings, 10)
    for resident in residents[:6]:
        await budgets.cast_ballot(session, budget, resident, [a.id, b.id])
    for resident in residents[6:]:
        await budgets.cast_ballot(session, budget, resident, [c.id])
    projects, outcome = await budgets.results(session, budget)
    assert [p.id for p in projects] == [a.id, b.id, c.id]
    assert outcome.greedy.selected == [a.id, b.id]
    assert outcome.equal_shares.selected == [a.id, c.id]
    csv_text = budgets.results_csv(projects, outcome, ResultMethod.EQUAL_SHARES)
    lines = csv_text.splitlines()
    assert lines[0].startswith("project_id,title,cost_euros,votes")
    assert lines[3] == f"{c.id},Projet C,40.00,4,0,1,1"
    assert await session.scalar(select(func.count()).select_from(BallotChoice)) == 16


async def test_a_budget_belongs_to_a_voting_phase_with_sensible_rules(session: AsyncSession) -> None:
    budget, _ = await create_budget(session)
    process = await create_process(session, slug="autre")
    phases = (await participation.phases_of(session, [process.id]))[process.id]
    with pytest.raises(budgets.BudgetError, match="voting phase"):
        await budgets.save_budget(session, budgets.BudgetInput(phase_id=phases[0].id, title="X", total_cents=100))
    phase_id = budget.phase_id
    with pytest.raises(budgets.BudgetError, match="positive"):
        await budgets.save_budget(session, budgets.BudgetInput(phase_id=phase_id, title="X", total_cents=0))
    with pytest.raises(budgets.BudgetError, match="maximum number"):
        await budgets.save_budget(
            session, budgets.BudgetInput(phase_id=phase_id, title="X", total_cents=100, rule=BallotRule.APPROVAL)
        )
    with pytest.raises(budgets.BudgetError, match="more than the whole budget"):
        await budgets.save_project(session, budget, budgets.ProjectInput(title="Trop cher", cost_cents=100_01))


async def test_a_large_citys_budget_and_its_projects_are_kept_to_the_cent(session: AsyncSession) -> None:
    # Paris's participatory budget is about 75 million euros a year: beyond 32-bit cents.
    seventy_five_million = 75_000_000_00
    budget, projects = await create_budget(
        session, costs=[30_000_000_00, 45_000_000_01], total_cents=seventy_five_million + 1
    )
    await session.commit()
    await session.refresh(budget)
    assert budget.total_cents == seventy_five_million + 1
    assert [project.cost_cents for project in projects] == [30_000_000_00, 45_000_000_01]
    with pytest.raises(budgets.BudgetError, match="above"):
        data = budgets.BudgetInput(phase_id=budget.phase_id, title="X", total_cents=budgets.MAX_TOTAL_CENTS + 1)
        await budgets.save_budget(session, data)


async def test_a_project_can_come_from_an_accepted_proposal_only(session: AsyncSession) -> None:
    budget, _ = await create_budget(session)
    process = await budgets.process_of(session, budget)
    author = await create_person(session)
    staff = await create_person(session, role=Role.ADMIN)
    proposal = await participation.submit_proposal(
        session,
        TerritoryIndexCache(),
        process,
        author,
        participation.ProposalInput(title="Un jardin partagé", body="Dans la cour de l'école, ouverte le week-end."),
        now=utcnow() - timedelta(days=10),  # during the proposals phase
    )
    with pytest.raises(budgets.BudgetError, match="accepted proposal"):
        await budgets.project_from_proposal(session, budget, proposal.id, 10_00)
    await participation.answer_proposal(session, staff, proposal, ProposalStatus.ACCEPTED, "Oui, faisable.")
    assert [p.id for p in await budgets.fundable_proposals(session, budget)] == [proposal.id]
    project = await budgets.project_from_proposal(session, budget, proposal.id, 10_00)
    assert project.proposal_id == proposal.id and project.title == proposal.title
    assert await budgets.fundable_proposals(session, budget) == []


async def test_projects_cannot_be_removed_once_voting_has_started(session: AsyncSession) -> None:
    budget, (a, _, _) = await create_budget(session)
    with pytest.raises(budgets.BudgetError, match="voting has started"):
        await budgets.delete_project(session, budget, a.id)
    phase = await voting_phase(session, await budgets.process_of(session, budget))
    await budgets.delete_project(session, budget, a.id, now=phase.starts_at - timedelta(days=1))
    assert a.id not in [p.id for p in await budgets.projects_of(session, budget.id)]


async def test_results_are_counted_again_only_when_a_ballot_or_a_cost_changed(
    session: AsyncSession, settings: Settings
) -> None:
    budget, (a, b, c) = await create_budget(session)
    first, second = await verified_residents(session, settings, 2)
    await budgets.cast_ballot(session, budget, first, [a.id])
    cache = budgets.ResultsCache()

    async def votes() -> dict[int, int]:
        outcome = (await cache.results(session, budget))[1]
        return {project: count for project, count in outcome.votes.items() if count}

    counted = (await cache.results(session, budget))[1]
    assert (await cache.results(session, budget))[1] is counted  # nothing changed: not counted again
    await budgets.cast_ballot(session, budget, second, [c.id])
    assert await votes() == {a.id: 1, c.id: 1}
    await budgets.cast_ballot(session, budget, second, [b.id])  # a changed ballot
    assert await votes() == {a.id: 1, b.id: 1}
    before = (await cache.results(session, budget))[1]
    b.cost_cents += 100
    await session.flush()
    assert (await cache.results(session, budget))[1] is not before
