"""Participatory budgets: setting a budget and its projects up, casting and changing a ballot (verified
residents only, while the voting phase runs), and counting the results with both methods."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from babel.numbers import format_currency
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.errors import Kind, Refusal
from citoyen.i18n import N_
from citoyen.participation.budgets.models import Ballot, BallotChoice, Budget, BudgetProject
from citoyen.participation.budgets.rules import (
    BallotProblem,
    BallotRule,
    ResultMethod,
    Results,
    ballot_problems,
    compute_results,
)
from citoyen.participation.models import Phase, PhaseKind, Process, Proposal, ProposalStatus
from citoyen.people.registry import PersonalDataProvider, PersonalDataRegistry
from citoyen.people.service import Person
from citoyen.verification import service as verification

log = logging.getLogger(__name__)

MAX_TOTAL_CENTS = 10**13  # 100 billion euros: anything above is a typing mistake
FUNDABLE_STATUSES = (ProposalStatus.ACCEPTED, ProposalStatus.IN_PROGRESS, ProposalStatus.DONE)
METHOD_LABELS = {
    ResultMethod.GREEDY: N_("Greedy (most votes first)"),
    ResultMethod.EQUAL_SHARES: N_("Method of Equal Shares"),
}
RULE_LABELS = {
    BallotRule.KNAPSACK: N_("Choose projects within the budget"),
    BallotRule.APPROVAL: N_("Approve up to a number of projects"),
}


class BudgetError(Refusal):
    """A refused request (`citoyen.errors.Refusal`): `problems` are msgids with their values (the values ending
    in `_cents` are amounts, formatted as money where shown). Kinds: invalid, not_found, closed, not_verified."""

    def __init__(self, problems: Sequence[BallotProblem] | str, kind: Kind | str = Kind.INVALID, **values: Any) -> None:
        self.problems = [BallotProblem(problems, values)] if isinstance(problems, str) else list(problems)
        first = self.problems[0]
        super().__init__(first.message, kind, **first.values)


def format_money(cents: int, locale: str) -> str:
    """An amount as citizens read it: whole euros without decimals."""
    whole = cents % 100 == 0
    amount = cents // 100 if whole else cents / 100
    if whole:
        pattern = "¤#,##0" if locale == "en" else "#,##0\u00a0¤"
        return format_currency(amount, "EUR", locale=locale, format=pattern, currency_digits=False)
    return format_currency(amount, "EUR", locale=locale)


def problem_values(problem: BallotProblem, locale: str) -> dict[str, Any]:
    return {
        key: format_money(value, locale) if key.endswith("_cents") else value for key, value in problem.values.items()
    }


# --- setting up -------------------------------------------------------------------------------


@dataclass
class BudgetInput:
    phase_id: int
    title: str
    total_cents: int
    title_en: str = ""
    description: str = ""
    description_en: str = ""
    rule: BallotRule = BallotRule.KNAPSACK
    min_spend_percent: int | None = None
    min_projects: int = 0
    max_projects: int | None = None
    official_method: ResultMethod = ResultMethod.EQUAL_SHARES


@dataclass
class ProjectInput:
    title: str
    cost_cents: int
    title_en: str = ""
    description: str = ""
    description_en: str = ""
    place: str = ""
    neighbourhood_id: int | None = None
    proposal_id: int | None = None


async def save_budget(session: AsyncSession, data: BudgetInput, budget: Budget | None = None) -> Budget:
    """Create or update a budget; it belongs to a voting phase and its rules must make sense."""
    phase = await session.get(Phase, data.phase_id)
    if phase is None:
        raise BudgetError(N_("Unknown phase."), "not_found")
    if phase.kind != PhaseKind.VOTING:
        raise BudgetError(N_("A budget belongs to a voting phase."))
    if not data.title.strip():
        raise BudgetError(N_("A budget needs a title."))
    if data.total_cents <= 0:
        raise BudgetError(N_("The amount of the budget must be positive."))
    if data.total_cents > MAX_TOTAL_CENTS:
        raise BudgetError(N_("The amount of the budget is above %(max_cents)s: check it."), max_cents=MAX_TOTAL_CENTS)
    if data.min_spend_percent is not None and not 0 <= data.min_spend_percent <= 100:
        raise BudgetError(N_("The minimum share of the budget to spend is a percentage between 0 and 100."))
    if data.min_projects < 0 or (data.max_projects is not None and data.max_projects < 1):
        raise BudgetError(N_("The numbers of projects must be positive."))
    if data.max_projects is not None and data.min_projects > data.max_projects:
        raise BudgetError(N_("The minimum number of projects is above the maximum."))
    if data.rule == BallotRule.APPROVAL and data.max_projects is None:
        raise BudgetError(N_("An approval ballot needs the maximum number of projects a voter may approve."))
    if budget is None:
        budget = Budget(phase_id=phase.id)
        session.add(budget)
    budget.phase_id = phase.id
    budget.title = data.title.strip()[:200]
    budget.title_en = data.title_en.strip()[:200]
    budget.description = data.description.strip()
    budget.description_en = data.description_en.strip()
    budget.total_cents = data.total_cents
    budget.rule = data.rule
    budget.min_spend_percent = data.min_spend_percent if data.rule == BallotRule.KNAPSACK else None
    budget.min_projects = data.min_projects
    budget.max_projects = data.max_projects
    budget.official_method = data.official_method
    await session.flush()
    return budget


async def save_project(
    session: AsyncSession, budget: Budget, data: ProjectInput, project: BudgetProject | None = None
) -> BudgetProject:
    if not data.title.strip():
        raise BudgetError(N_("A project needs a title."))
    if data.cost_cents <= 0:
        raise BudgetError(N_("A project's cost must be positive."))
    if data.cost_cents > budget.total_cents:
        raise BudgetError(
            N_("This project costs more than the whole budget (%(total_cents)s)."), total_cents=budget.total_cents
        )
    if data.proposal_id is not None:
        await _check_fundable_proposal(session, budget, data.proposal_id)
    if project is None:
        position = await session.scalar(
            select(func.coalesce(func.max(BudgetProject.position), -1)).where(BudgetProject.budget_id == budget.id)
        )
        project = BudgetProject(budget_id=budget.id, position=int(position or 0) + 1)
        session.add(project)
    project.title = data.title.strip()[:200]
    project.title_en = data.title_en.strip()[:200]
    project.description = data.description.strip()
    project.description_en = data.description_en.strip()
    project.cost_cents = data.cost_cents
    project.place = data.place.strip()[:300]
    project.neighbourhood_id = data.neighbourhood_id
    project.proposal_id = data.proposal_id
    await session.flush()
    return project


async def _process_of(session: AsyncSession, budget: Budget) -> Process:
    query = select(Process).join(Phase, Phase.process_id == Process.id).where(Phase.id == budget.phase_id)
    return (await session.execute(query)).scalar_one()


async def _check_fundable_proposal(session: AsyncSession, budget: Budget, proposal_id: int) -> Proposal:
    proposal = await session.get(Proposal, proposal_id)
    process = await _process_of(session, budget)
    if proposal is None or proposal.process_id != process.id:
        raise BudgetError(N_("This proposal is not part of the budget's process."))
    if proposal.status not in FUNDABLE_STATUSES or proposal.withdrawn_at is not None:
        raise BudgetError(N_("Only an accepted proposal can become a project."))
    return proposal


async def project_from_proposal(
    session: AsyncSession, budget: Budget, proposal_id: int, cost_cents: int
) -> BudgetProject:
    """A project made from an accepted proposal: its title, text and neighbourhood, and a cost."""
    proposal = await _check_fundable_proposal(session, budget, proposal_id)
    data = ProjectInput(
        title=proposal.title,
        cost_cents=cost_cents,
        description=proposal.body,
        place=proposal.address,
        neighbourhood_id=proposal.neighbourhood_id,
        proposal_id=proposal.id,
    )
    return await save_project(session, budget, data)


async def fundable_proposals(session: AsyncSession, budget: Budget) -> list[Proposal]:
    """Accepted proposals of the budget's process not yet made into one of its projects."""
    process = await _process_of(session, budget)
    used = select(BudgetProject.proposal_id).where(
        BudgetProject.budget_id == budget.id, BudgetProject.proposal_id.is_not(None)
    )
    query = (
        select(Proposal)
        .where(
            Proposal.process_id == process.id,
            Proposal.status.in_(FUNDABLE_STATUSES),
            Proposal.withdrawn_at.is_(None),
            Proposal.id.not_in(used),
        )
        .order_by(Proposal.support_count.desc(), Proposal.id)
    )
    return list((await session.execute(query)).scalars())


async def delete_project(session: AsyncSession, budget: Budget, project_id: int, now: datetime | None = None) -> None:
    """Only before voting opens: removing a project afterwards would change ballots already cast."""
    phase = await phase_of(session, budget)
    if (now or utcnow()) >= phase.starts_at:
        raise BudgetError(N_("Projects cannot be removed once voting has started."), "closed")
    await session.execute(
        delete(BudgetProject).where(BudgetProject.id == project_id, BudgetProject.budget_id == budget.id)
    )


async def set_official_method(session: AsyncSession, budget: Budget, method: ResultMethod) -> None:
    budget.official_method = method
    await session.flush()


# --- reading ----------------------------------------------------------------------------------


async def get_budget(session: AsyncSession, budget_id: int) -> Budget:
    budget = await session.get(Budget, budget_id)
    if budget is None:
        raise BudgetError(N_("Unknown budget."), "not_found")
    return budget


async def list_budgets(session: AsyncSession, process_id: int | None = None) -> list[Budget]:
    query = select(Budget).join(Phase, Phase.id == Budget.phase_id).order_by(Phase.starts_at.desc(), Budget.id)
    if process_id is not None:
        query = query.where(Phase.process_id == process_id)
    return list((await session.execute(query)).scalars())


async def phase_of(session: AsyncSession, budget: Budget) -> Phase:
    phase = await session.get(Phase, budget.phase_id)
    assert phase is not None  # the foreign key guarantees it
    return phase


async def process_of(session: AsyncSession, budget: Budget) -> Process:
    return await _process_of(session, budget)


async def voting_phases(session: AsyncSession) -> list[tuple[Phase, Process]]:
    """Every voting phase, with its process, for the admin's budget form."""
    query = (
        select(Phase, Process)
        .join(Process, Process.id == Phase.process_id)
        .where(Phase.kind == PhaseKind.VOTING)
        .order_by(Process.title, Phase.position)
    )
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]


async def projects_of(session: AsyncSession, budget_id: int) -> list[BudgetProject]:
    query = (
        select(BudgetProject)
        .where(BudgetProject.budget_id == budget_id)
        .order_by(BudgetProject.position, BudgetProject.id)
    )
    return list((await session.execute(query)).scalars())


def is_open(phase: Phase, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return phase.allows_votes and phase.starts_at <= now < phase.ends_at


def results_are_public(phase: Phase, now: datetime | None = None) -> bool:
    """Results are public once voting has ended (before that they would sway the vote)."""
    return (now or utcnow()) >= phase.ends_at


async def ballot_of(session: AsyncSession, budget: Budget, person: Person) -> set[int] | None:
    """The projects of the resident's ballot in this budget (None: no ballot, or not verified)."""
    entry = await verification.verification_of(session, person.id)
    if entry is None:
        return None
    ballot_id = await session.scalar(
        select(Ballot.id).where(Ballot.budget_id == budget.id, Ballot.resident_entry_id == entry.id)
    )
    if ballot_id is None:
        return None
    query = select(BallotChoice.project_id).where(BallotChoice.ballot_id == ballot_id)
    return set((await session.execute(query)).scalars())


# --- voting -----------------------------------------------------------------------------------


async def cast_ballot(
    session: AsyncSession, budget: Budget, person: Person, project_ids: Sequence[int], now: datetime | None = None
) -> Ballot:
    """Record the resident's ballot, or replace it while voting is open. A refused ballot stores nothing."""
    phase = await phase_of(session, budget)
    if not is_open(phase, now):
        raise BudgetError(N_("Voting is not open for this budget."), "closed")
    try:
        entry = await verification.require_verified(session, person.id)
    except verification.VerificationError as error:
        raise BudgetError(error.message, "not_verified") from error
    projects = await projects_of(session, budget.id)
    costs = {project.id: project.cost_cents for project in projects}
    problems = ballot_problems(budget.rules, costs, project_ids)
    if problems:
        raise BudgetError(problems)
    ballot = (
        await session.execute(select(Ballot).where(Ballot.budget_id == budget.id, Ballot.resident_entry_id == entry.id))
    ).scalar_one_or_none()
    if ballot is None:
        ballot = Ballot(budget_id=budget.id, resident_entry_id=entry.id)
        session.add(ballot)
        await session.flush()
    else:
        ballot.updated_at = utcnow()
        await session.execute(delete(BallotChoice).where(BallotChoice.ballot_id == ballot.id))
    session.add_all(BallotChoice(ballot_id=ballot.id, project_id=project_id) for project_id in set(project_ids))
    await session.flush()
    return ballot


async def ballot_count(session: AsyncSession, budget_id: int) -> int:
    return int(await session.scalar(select(func.count()).where(Ballot.budget_id == budget_id)) or 0)


# --- results ----------------------------------------------------------------------------------


async def _choices(session: AsyncSession, budget_id: int) -> list[list[int]]:
    """Every ballot of the budget, as its projects' ids (one statement)."""
    choices: dict[int, list[int]] = defaultdict(list)
    query = (
        select(BallotChoice.ballot_id, BallotChoice.project_id)
        .join(Ballot, Ballot.id == BallotChoice.ballot_id)
        .where(Ballot.budget_id == budget_id)
    )
    for ballot_id, project_id in (await session.execute(query)).all():
        choices[ballot_id].append(project_id)
    return list(choices.values())


async def results(
    session: AsyncSession, budget: Budget, projects: list[BudgetProject] | None = None
) -> tuple[list[BudgetProject], Results]:
    """Every ballot counted by both methods (see rules.py), in a worker thread: the Method of Equal Shares
    takes seconds over many ballots, which would hold every other request of this process meanwhile."""
    projects = await projects_of(session, budget.id) if projects is None else projects
    costs = {project.id: project.cost_cents for project in projects}
    choices = await _choices(session, budget.id)
    return projects, await asyncio.to_thread(compute_results, budget.total_cents, costs, choices)


@dataclass(frozen=True)
class CountedResults:
    projects: list[BudgetProject]
    outcome: Results
    current: bool  # False: counted before the latest ballots, which are being counted now


class ResultsCache:
    """This process's latest results per budget, counted again only when a ballot, a project's cost or the
    budget's amount changed (one indexed look-up tells): counting 100,000 ballots takes seconds, and once
    voting has closed every view of the results page and of its CSV would repeat the same count. Pages ask
    `ready`, which never waits for a count: it starts one in the background (a worker thread) and the page
    says the results are being counted; `warm` starts the count of a closed vote before anyone asks."""

    MAX_BUDGETS = 64

    def __init__(self) -> None:
        self._counted: dict[int, tuple[tuple[Any, ...], Results]] = {}
        self._counting: dict[int, tuple[tuple[Any, ...], asyncio.Task[Results]]] = {}

    async def _version(self, session: AsyncSession, budget: Budget) -> tuple[list[BudgetProject], tuple[Any, ...]]:
        projects = await projects_of(session, budget.id)
        stamp = select(func.count(), func.max(Ballot.id), func.max(Ballot.updated_at)).where(
            Ballot.budget_id == budget.id
        )
        version = (
            tuple((await session.execute(stamp)).one()),
            budget.total_cents,
            tuple((project.id, project.cost_cents) for project in projects),
        )
        return projects, version

    async def _start(
        self, session: AsyncSession, budget: Budget, projects: list[BudgetProject], version: tuple[Any, ...]
    ) -> asyncio.Task[Results]:
        """The count of this version of the ballots, started once: the ballots are read here, in the caller's
        session, and only the counting runs in the background."""
        running = self._counting.get(budget.id)
        if running is not None and running[0] == version:
            return running[1]
        costs = {project.id: project.cost_cents for project in projects}
        choices = await _choices(session, budget.id)
        task = asyncio.create_task(asyncio.to_thread(compute_results, budget.total_cents, costs, choices))
        self._counting[budget.id] = (version, task)
        task.add_done_callback(lambda done: self._finished(budget.id, version, done))
        return task

    def _finished(self, budget_id: int, version: tuple[Any, ...], task: asyncio.Task[Results]) -> None:
        if self._counting.get(budget_id, (None, None))[1] is task:
            del self._counting[budget_id]
        if task.cancelled():
            return
        if task.exception() is not None:
            log.error("counting the results of budget %d failed", budget_id, exc_info=task.exception())
            return
        if len(self._counted) >= self.MAX_BUDGETS:
            self._counted.clear()
        self._counted[budget_id] = (version, task.result())

    async def ready(self, session: AsyncSession, budget: Budget) -> CountedResults | None:
        """The results as counted for the budget's current ballots, or the last ones counted (`current`
        False) while the current ballots are counted in the background, or None while the first count runs."""
        projects, version = await self._version(session, budget)
        counted = self._counted.get(budget.id)
        if counted is not None and counted[0] == version:
            return CountedResults(projects, counted[1], current=True)
        await self._start(session, budget, projects, version)
        return CountedResults(projects, counted[1], current=False) if counted is not None else None

    async def warm(self, session: AsyncSession, budget: Budget) -> None:
        """Starts counting the budget's ballots unless their results are counted or being counted."""
        await self.ready(session, budget)

    async def wait(self, budget_id: int) -> None:
        """Returns once the count running for the budget, if any, is over (what `ready` will then show)."""
        running = self._counting.get(budget_id)
        if running is not None:
            await asyncio.wait([running[1]])
            await asyncio.sleep(0)  # the count's own callback, which keeps its results, runs first

    async def results(self, session: AsyncSession, budget: Budget) -> tuple[list[BudgetProject], Results]:
        """The results for the budget's current ballots, waiting for their count if it has to run."""
        projects, version = await self._version(session, budget)
        counted = self._counted.get(budget.id)
        if counted is not None and counted[0] == version:
            return projects, counted[1]
        return projects, await asyncio.shield(await self._start(session, budget, projects, version))


def results_csv(projects: Sequence[BudgetProject], outcome: Results, official: ResultMethod) -> str:
    """One line per project: its votes, cost, and whether each method funds it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["project_id", "title", "cost_euros", "votes", "funded_greedy", "funded_equal_shares", "funded_official"]
    )
    greedy, equal_shares = set(outcome.greedy.selected), set(outcome.equal_shares.selected)
    official_set = set(outcome.outcome(official).selected)
    for project in projects:
        writer.writerow(
            [
                project.id,
                project.title,
                f"{project.cost_cents / 100:.2f}",
                outcome.votes.get(project.id, 0),
                int(project.id in greedy),
                int(project.id in equal_shares),
                int(project.id in official_set),
            ]
        )
    return buffer.getvalue()


# --- personal data ----------------------------------------------------------------------------


async def _export(session: AsyncSession, person: Person) -> dict[str, list[dict[str, Any]]]:
    entry = await verification.verification_of(session, person.id)
    if entry is None:
        return {"budget_ballots": []}
    query = (
        select(Budget.title, BudgetProject.title, Ballot.updated_at)
        .join(Ballot, Ballot.budget_id == Budget.id)
        .join(BallotChoice, BallotChoice.ballot_id == Ballot.id)
        .join(BudgetProject, BudgetProject.id == BallotChoice.project_id)
        .where(Ballot.resident_entry_id == entry.id)
        .order_by(Budget.id, BudgetProject.position)
    )
    return {
        "budget_ballots": [
            {"budget": budget, "project": project, "cast_at": at.isoformat()}
            for budget, project, at in (await session.execute(query)).all()
        ]
    }


async def _erase(_session: AsyncSession, _person: Person) -> None:
    """Ballots are keyed by the resident entry, not the account: the verification provider unlinks the
    entry from the account, after which no ballot leads to the person, and each resident still votes once."""


def register_personal_data(registry: PersonalDataRegistry) -> None:
    registry.register(
        PersonalDataProvider(
            domain="budgets",
            description=N_("your ballots in participatory budgets"),
            export=_export,
            erase=_erase,
        )
    )
