"""Ballot rules and results on small instances computed by hand, and the vectorised Method of Equal
Shares checked against pabutools' own implementation."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from pabutools.election import ApprovalMultiProfile, Cost_Sat, FrozenApprovalBallot, Instance, Project
from pabutools.rules import method_of_equal_shares as pabutools_mes

from citoyen.participation.budgets.equal_shares import method_of_equal_shares
from citoyen.participation.budgets.rules import BallotRule, BallotRules, ResultMethod, ballot_problems, compute_results

# Three projects: A costs 60, B 40, C 40 (euros, in cents below).
COSTS = {1: 60_00, 2: 40_00, 3: 40_00}


def messages(rules: BallotRules, chosen: list[int]) -> list[str]:
    return [problem.message for problem in ballot_problems(rules, COSTS, chosen)]


def test_a_knapsack_ballot_must_fit_in_the_budget() -> None:
    rules = BallotRules(BallotRule.KNAPSACK, 100_00)
    assert messages(rules, [1, 2]) == []  # 100 of 100: exactly the budget is fine
    problems = ballot_problems(rules, COSTS, [1, 2, 3])
    assert [p.message for p in problems] == [
        "Your selection costs %(spent_cents)s, more than the budget of %(total_cents)s."
    ]
    assert problems[0].values == {"spent_cents": 140_00, "total_cents": 100_00}


def test_a_knapsack_ballot_may_have_to_spend_a_minimum_and_count_projects() -> None:
    rules = BallotRules(BallotRule.KNAPSACK, 100_00, min_spend_percent=50, min_projects=1, max_projects=2)
    assert messages(rules, [1]) == []  # 60 >= 50
    problems = ballot_problems(rules, COSTS, [2])  # 40 < 50
    assert problems[0].values["min_cents"] == 50_00 and problems[0].values["percent"] == 50
    assert messages(rules, [2, 3]) == []
    assert "at most %(max)d" in messages(BallotRules(BallotRule.KNAPSACK, 200_00, max_projects=2), [1, 2, 3])[0]
    assert "choose at least %(min)d" in messages(BallotRules(BallotRule.KNAPSACK, 200_00, min_projects=2), [1])[0]


def test_the_minimum_spend_is_rounded_up_to_the_cent() -> None:
    assert BallotRules(BallotRule.KNAPSACK, 101, min_spend_percent=50).min_spend_cents == 51


def test_an_approval_ballot_counts_projects_not_costs() -> None:
    rules = BallotRules(BallotRule.APPROVAL, 100_00, max_projects=2)
    assert messages(rules, [2, 3]) == []
    assert messages(rules, [1, 2]) == []  # costs do not matter
    problems = ballot_problems(rules, COSTS, [1, 2, 3])
    assert problems[0].values == {"count": 3, "max": 2}


def test_empty_ballots_and_unknown_projects_are_refused() -> None:
    rules = BallotRules(BallotRule.KNAPSACK, 100_00)
    assert messages(rules, []) == ["Choose at least one project."]
    assert messages(rules, [1, 99]) == ["Your ballot names a project that is not part of this budget."]


def test_greedy_and_equal_shares_differ_on_a_hand_checked_instance() -> None:
    # Budget 100 €, 10 voters. Six approve A (60 €) and B (40 €); four approve C (40 €).
    # Greedy, by votes: A (6 votes) fits, B (6, tie broken by the earlier project) fits: 100 € spent, C
    # (4 votes) no longer fits -> {A, B}: the majority gets everything.
    # Equal Shares: each voter holds 100/10 = 10 €. The six hold 60 €, the four 40 €. Paying per euro of
    # satisfaction, A costs its supporters 60/(6*60) = 1/6 and B 40/(6*40) = 1/6 (tie, A first), C 40/(4*40)
    # = 1/4: A is bought, the six pay 10 € each and have nothing left, so B can no longer be paid; the four
    # pay 10 € each for C -> {A, C}: the minority of 40 % gets 40 % of the budget.
    ballots = [{1, 2}] * 6 + [{3}] * 4
    results = compute_results(100_00, COSTS, ballots)
    assert results.voters == 10
    assert results.votes == {1: 6, 2: 6, 3: 4}
    assert results.greedy.selected == [1, 2] and results.greedy.spent_cents == 100_00
    assert results.equal_shares.selected == [1, 3] and results.equal_shares.spent_cents == 100_00
    assert results.outcome(ResultMethod.GREEDY) is results.greedy


def test_equal_shares_is_completed_when_it_leaves_money_unspent() -> None:
    # Budget 100 €, A 50 €, B 30 €, C 20 €. Two voters approve A and B, one approves C.
    # Shares of 33.33 €: A and B cost their supporters 1/2 per euro (tie, A first), C 1: A is bought (25 €
    # each, 8.33 € left), B then needs 30 € from two voters holding 16.67 € together: dropped; C is bought.
    # Plain MES spends 70 €. Add1 raises each share euro by euro: at 40 € the two hold 15 € each after A,
    # B is bought, and the whole 100 € is spent without exceeding the budget.
    results = compute_results(100_00, {1: 50_00, 2: 30_00, 3: 20_00}, [{1, 2}, {1, 2}, {3}])
    assert sorted(results.equal_shares.selected) == [1, 2, 3]
    assert results.equal_shares.spent_cents == 100_00


def test_projects_nobody_chose_are_never_funded() -> None:
    results = compute_results(1_000_00, {1: 10_00, 2: 10_00}, [{1}])
    assert results.greedy.selected == [1]
    assert results.equal_shares.selected == [1]


def test_no_ballot_funds_nothing() -> None:
    results = compute_results(100_00, COSTS, [])
    assert results.voters == 0 and results.greedy.selected == [] and results.equal_shares.selected == []


def _pabutools(total: int, costs: dict[int, int], ballots: Counter[frozenset[int]], increment: int | None) -> list[int]:
    projects = {project_id: Project(f"p{project_id:09d}", cost) for project_id, cost in costs.items()}
    instance = Instance(projects.values(), budget_limit=total)
    profile = ApprovalMultiProfile(instance=instance)
    for ballot, count in ballots.items():
        profile[FrozenApprovalBallot([projects[project_id] for project_id in sorted(ballot)])] = count
    outcome = pabutools_mes(instance, profile, sat_class=Cost_Sat, voter_budget_increment=increment)
    return [int(project.name[1:]) for project in outcome]


@pytest.mark.parametrize("increment", [None, 1])
def test_the_fast_equal_shares_gives_the_outcome_of_pabutools(increment: int | None) -> None:
    """Random instances small enough for pabutools' exact arithmetic, with costs chosen to create ties."""
    for seed in range(150):
        rng = random.Random(seed)
        count = rng.randint(2, 8)
        costs = {index: rng.choice([rng.randint(1, 10) * 10, rng.randint(1, 100)]) for index in range(1, count + 1)}
        total = rng.randint(max(costs.values()), sum(costs.values()))
        ballots = Counter(frozenset(rng.sample(list(costs), rng.randint(1, count))) for _ in range(rng.randint(1, 25)))
        expected = _pabutools(total, costs, ballots, increment)
        assert method_of_equal_shares(total, costs, ballots, increment) == expected, f"seed {seed}"
