"""The Method of Equal Shares with cost satisfaction on approval ballots, vectorised with numpy.

This follows pabutools' `method_of_equal_shares` step by step (`mes_inner_algo` and the iterated
`voter_budget_increment` scheme): the same affordability computation, the same lazy evaluation order,
the same removal of projects their supporters can no longer afford, the same lexicographic tie-breaking
on project names (here: the smaller project id). It exists because pabutools represents every voter as a
Python object with exact fractions, which takes minutes for 100,000 distinct ballots, while city-size
votes must be counted in seconds. tests/participation/test_budget_rules.py checks that both give the same
outcome on hundreds of random instances.

Arithmetic is in float64 (pabutools: exact rationals). Amounts are integer cents below 2**53, so sums are
exact until budgets are split; two affordabilities within a relative 1e-9 of each other are treated as a
tie, which is then broken by project id as pabutools does.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

TIE_TOLERANCE = 1e-9


class EqualSharesProfile:
    """Distinct approval ballots (rows) with how many voters cast each (weights)."""

    def __init__(self, costs: Mapping[int, int], ballots: Mapping[frozenset[int], int]) -> None:
        self.project_ids = sorted(costs)
        self.costs = np.array([costs[project_id] for project_id in self.project_ids], dtype=np.float64)
        column = {project_id: index for index, project_id in enumerate(self.project_ids)}
        self.weights = np.fromiter(ballots.values(), dtype=np.float64, count=len(ballots))
        self.voters = float(self.weights.sum())
        lengths = np.fromiter((len(ballot) for ballot in ballots), dtype=np.int64, count=len(ballots))
        rows = np.repeat(np.arange(len(ballots)), lengths)
        columns = np.fromiter(
            (column[project_id] for ballot in ballots for project_id in ballot), dtype=np.int64, count=len(rows)
        )
        # For each project, the rows of the ballots that approve it (sorted by project, then row).
        order = np.argsort(columns, kind="stable")
        sorted_rows = rows[order]
        bounds = np.searchsorted(columns[order], np.arange(len(self.project_ids) + 1))
        self.supporters = [sorted_rows[bounds[i] : bounds[i + 1]] for i in range(len(self.project_ids))]
        self.supporter_weight = np.array([self.weights[rows].sum() for rows in self.supporters])


class _Budgets:
    """What each ballot's voters have left. Voters with the same payment history hold the same amount,
    so budgets are kept per class of history: a few hundred classes instead of 100,000 voters, which turns
    each affordability computation into a weighted count and a small sort."""

    def __init__(self, rows: int, share: float) -> None:
        self.class_of = np.zeros(rows, dtype=np.int64)
        self.amounts = [share]

    def held(
        self, rows: npt.NDArray[np.int64], weights: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """The amounts held by these ballots' classes, and the voters of each class among them."""
        voters = np.bincount(self.class_of[rows], weights=weights, minlength=len(self.amounts))
        present = np.flatnonzero(voters)
        return np.asarray(self.amounts, dtype=np.float64)[present], voters[present].astype(np.float64)

    def pay(self, rows: npt.NDArray[np.int64], price: float) -> None:
        """Each voter of these ballots pays `price`, or all they have left."""
        old_classes = np.unique(self.class_of[rows])
        mapping = np.arange(len(self.amounts), dtype=np.int64)
        for old in old_classes:
            mapping[old] = len(self.amounts)
            self.amounts.append(self.amounts[old] - min(self.amounts[old], price))
        self.class_of[rows] = mapping[self.class_of[rows]]


def _inner(profile: EqualSharesProfile, share: float) -> list[int]:
    """One run of MES where every voter starts with `share`: the selected project indices, in order."""
    budgets = _Budgets(len(profile.weights), share)
    costs = profile.costs
    # Lower bounds of each project's affordability (per unit of satisfaction); only ever rise.
    affordability = {
        index: 1.0 / profile.supporter_weight[index]
        for index in range(len(costs))
        if profile.supporter_weight[index] > 0 and costs[index] > 0
    }
    selected: list[int] = []
    while affordability:
        best = np.inf
        tied: list[int] = []
        for index in sorted(affordability, key=lambda i: (affordability[i], i)):
            cost = costs[index]
            held, weights = budgets.held(profile.supporters[index], profile.weights[profile.supporters[index]])
            if float(held @ weights) < cost * (1 - TIE_TOLERANCE):
                del affordability[index]  # its supporters can no longer pay for it
                continue
            if affordability[index] > best * (1 + TIE_TOLERANCE):
                break  # no project further down can beat the best of this round
            rho = _affordability(held, weights, cost)
            affordability[index] = rho
            if rho < best * (1 - TIE_TOLERANCE):
                best, tied = rho, [index]
            elif rho <= best * (1 + TIE_TOLERANCE):
                tied.append(index)
        if not tied:
            break
        chosen = min(tied)  # project ids are sorted: the smaller index is the lexicographically first name
        budgets.pay(profile.supporters[chosen], best * costs[chosen])
        selected.append(chosen)
        del affordability[chosen]
    return selected


def _affordability(held: npt.NDArray[np.float64], weights: npt.NDArray[np.float64], cost: float) -> float:
    """The smallest rho such that the supporters, each paying min(budget, rho * cost), pay `cost`."""
    order = np.argsort(held, kind="stable")
    held, weights = held[order], weights[order]
    paid_before = np.concatenate(([0.0], np.cumsum(held * weights)[:-1]))
    weight_from = weights[::-1].cumsum()[::-1]
    rho = (cost - paid_before) / (cost * weight_from)
    fits = rho * cost <= held * (1 + TIE_TOLERANCE)
    return float(rho[int(np.argmax(fits))])


def method_of_equal_shares(
    total_cents: int, costs: Mapping[int, int], ballots: Mapping[frozenset[int], int], increment: int | None
) -> list[int]:
    """MES (cost satisfaction), iterated: each voter's share grows by `increment` until the outcome is
    exhaustive or the next one would exceed the budget (pabutools' `voter_budget_increment`)."""
    profile = EqualSharesProfile(costs, ballots)
    if profile.voters == 0:
        return []
    share = total_cents / profile.voters
    available = [index for index in range(len(profile.costs)) if profile.supporter_weight[index] > 0]
    previous: list[int] = []
    while True:
        outcome = _inner(profile, share)
        if increment is None:
            break
        spent = float(profile.costs[outcome].sum()) if outcome else 0.0
        if spent > total_cents:
            outcome = previous
            break
        chosen = set(outcome)
        if all(index in chosen or profile.costs[index] + spent > total_cents for index in available):
            break
        share += increment
        previous = outcome
    return [profile.project_ids[index] for index in outcome]
