"""The rules of participatory budgeting, without storage: what a valid ballot is, and who wins.

Ballots of both kinds (knapsack and approval) are approval sets: the projects a voter selected. Results
are computed with pabutools, the reference implementation used by Pabulib and equalshares.net:

- greedy: `greedy_utilitarian_welfare` with cost satisfaction, i.e. the rule most cities use: projects
  by number of votes, each one funded if it still fits in what is left of the budget;
- Method of Equal Shares: `method_of_equal_shares` with cost satisfaction on the profile reduced to
  distinct ballots with multiplicities (`as_multiprofile`), iterated with `voter_budget_increment`
  (each voter's share rises by 1 € at a time while the outcome stays within the budget: the "Add1"
  completion the pabutools documentation recommends), then completed by the greedy rule for any budget
  still left (`completion_by_rule_combination`), as equalshares.net does.

Ties are broken by pabutools' lexicographic rule on project names, which are the zero-padded project
ids: the project created first wins a tie.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from citoyen.i18n import N_
from citoyen.participation.budgets.equal_shares import method_of_equal_shares

# Money is in integer cents; MES's Add1 completion raises each voter's share by one euro at a time.
CENTS_PER_EURO = 100


class BallotRule(enum.StrEnum):
    KNAPSACK = "knapsack"  # any set of projects whose total cost fits in the budget
    APPROVAL = "approval"  # up to N projects, whatever their cost


class ResultMethod(enum.StrEnum):
    GREEDY = "greedy"
    EQUAL_SHARES = "equal_shares"


@dataclass(frozen=True)
class BallotRules:
    rule: BallotRule
    total_cents: int
    min_spend_percent: int | None = None  # knapsack: spend at least this share of the budget
    min_projects: int = 0
    max_projects: int | None = None

    @property
    def min_spend_cents(self) -> int:
        if self.rule != BallotRule.KNAPSACK or not self.min_spend_percent:
            return 0
        # Rounded up: "at least 50 %" of an odd number of cents must not accept a cent less.
        return -(-self.total_cents * self.min_spend_percent // 100)


@dataclass(frozen=True)
class BallotProblem:
    """A msgid and its values; values ending in `_cents` are amounts the page formats as money."""

    message: str
    values: dict[str, Any] = field(default_factory=dict)


def ballot_problems(rules: BallotRules, costs: dict[int, int], chosen: Iterable[int]) -> list[BallotProblem]:
    """Why a ballot is refused (empty when it is valid). `costs`: the budget's projects and their cost."""
    selection = set(chosen)
    problems: list[BallotProblem] = []
    unknown = selection - costs.keys()
    if unknown:
        return [BallotProblem(N_("Your ballot names a project that is not part of this budget."))]
    if not selection:
        return [BallotProblem(N_("Choose at least one project."))]
    spent = sum(costs[project] for project in selection)
    if rules.rule == BallotRule.KNAPSACK and spent > rules.total_cents:
        problems.append(
            BallotProblem(
                N_("Your selection costs %(spent_cents)s, more than the budget of %(total_cents)s."),
                {"spent_cents": spent, "total_cents": rules.total_cents},
            )
        )
    if rules.max_projects is not None and len(selection) > rules.max_projects:
        problems.append(
            BallotProblem(
                N_("You chose %(count)d projects: at most %(max)d are allowed."),
                {"count": len(selection), "max": rules.max_projects},
            )
        )
    if rules.min_projects and len(selection) < rules.min_projects:
        problems.append(
            BallotProblem(
                N_("You chose %(count)d projects: choose at least %(min)d."),
                {"count": len(selection), "min": rules.min_projects},
            )
        )
    if spent < rules.min_spend_cents:
        problems.append(
            BallotProblem(
                N_("Your selection costs %(spent_cents)s: spend at least %(min_cents)s (%(percent)d%% of the budget)."),
                {"spent_cents": spent, "min_cents": rules.min_spend_cents, "percent": rules.min_spend_percent or 0},
            )
        )
    return problems


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    method: ResultMethod
    selected: list[int]  # project ids, in the order the rule funded them
    spent_cents: int


@dataclass(frozen=True)
class Results:
    voters: int
    votes: dict[int, int]  # project id -> number of ballots selecting it
    greedy: Outcome
    equal_shares: Outcome

    def outcome(self, method: ResultMethod) -> Outcome:
        return self.greedy if method == ResultMethod.GREEDY else self.equal_shares


def _name(project_id: int) -> str:
    return f"p{project_id:09d}"


def compute_results(
    total_cents: int, costs: dict[int, int], ballots: Iterable[Iterable[int]], euro: int = CENTS_PER_EURO
) -> Results:
    """Both methods on the same ballots. Ballots are reduced to distinct sets with their multiplicities
    first: the outcome is the same as with one voter per ballot, and much faster to compute."""
    distinct: Counter[frozenset[int]] = Counter(frozenset(ballot) for ballot in ballots)
    known = frozenset(costs)
    for ballot in [ballot for ballot in distinct if not ballot <= known]:
        # Choices of a project since deleted: the rest of the ballot still counts.
        distinct[ballot & known] += distinct.pop(ballot)
    distinct.pop(frozenset(), None)
    votes = dict.fromkeys(costs, 0)
    for ballot, count in distinct.items():
        for project_id in ballot:
            votes[project_id] += count
    voters = sum(distinct.values())
    if voters == 0:
        return Results(0, votes, Outcome(ResultMethod.GREEDY, [], 0), Outcome(ResultMethod.EQUAL_SHARES, [], 0))
    greedy = _greedy(total_cents, costs, votes)
    equal_shares = method_of_equal_shares(total_cents, costs, distinct, euro)
    equal_shares += [
        project_id for project_id in _greedy(total_cents, costs, votes, equal_shares) if project_id not in equal_shares
    ]
    return Results(
        voters,
        votes,
        Outcome(ResultMethod.GREEDY, greedy, sum(costs[project_id] for project_id in greedy)),
        Outcome(ResultMethod.EQUAL_SHARES, equal_shares, sum(costs[project_id] for project_id in equal_shares)),
    )


def _greedy(total_cents: int, costs: dict[int, int], votes: dict[int, int], already: Sequence[int] = ()) -> list[int]:
    """pabutools' greedy rule with cost satisfaction, completing `already`. With cost satisfaction a
    project's score is its number of votes, so the profile is reduced to one single-project ballot per
    project weighted by its votes: the same scores, and the same outcome, in microseconds."""
    # Imported here: pabutools brings PuLP and its solvers' modules, about 10 MB resident in every served process.
    from pabutools.election import ApprovalMultiProfile, Cost_Sat, FrozenApprovalBallot, Instance, Project
    from pabutools.rules import greedy_utilitarian_welfare

    # pabutools would also fund projects nobody voted for while money is left; a city does not.
    voted = {project_id: cost for project_id, cost in costs.items() if votes.get(project_id) or project_id in already}
    projects = {project_id: Project(_name(project_id), cost) for project_id, cost in sorted(voted.items())}
    instance = Instance(projects.values(), budget_limit=total_cents)
    profile = ApprovalMultiProfile(instance=instance)
    for project_id in projects:
        if votes.get(project_id):
            profile[FrozenApprovalBallot([projects[project_id]])] = votes[project_id]
    allocation = greedy_utilitarian_welfare(
        instance, profile, sat_class=Cost_Sat, initial_budget_allocation=[projects[p] for p in already]
    )
    by_name = {project.name: project_id for project_id, project in projects.items()}
    return [by_name[project.name] for project in allocation]
