"""The privacy layer: what a published count about people may reveal, and the ledger's arithmetic.

Differentially private counts are random (OpenDP's own randomness, no seed): the tests check properties that
hold with overwhelming probability, never exact noisy values."""

from __future__ import annotations

import math
import statistics
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.opendata import ledger, privacy
from citoyen.opendata.privacy import CellCounts, GaussianDP, LaplaceDP, MinCellSize, PrivacyError
from tests.opendata.helpers import create_dataset, create_organization

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
PERIOD = privacy.period_label(date(2026, 9, 14), date(2026, 12, 7))


def grid(counts: dict[tuple[int, str], int], bound: int = 1) -> CellCounts:
    neighbourhoods = sorted({n for n, _ in counts} | {99})
    categories = sorted({c for _, c in counts})
    return CellCounts(
        dimensions=("neighbourhood_id", "category"),
        counts=counts,
        domain=[(n, c) for n in neighbourhoods for c in categories],
        max_contributions=bound,
        contribution_rule="une fois par cellule",
        contribution_rule_en="once per cell",
    )


def released(counts: CellCounts, policy: privacy.Policy, dataset: str = "d", period: str = PERIOD) -> privacy.Release:
    return privacy.release(
        counts,
        policy,
        dataset=dataset,
        resource="comptes",
        period=period,
        released_at=NOW,
        subject="Signalants",
        subject_en="Reporters",
    )


def discrete_laplace_variance(scale: float) -> float:
    q = math.exp(-1 / scale)
    return 2 * q / (1 - q) ** 2


def test_min_cell_size_hides_every_cell_under_k_and_keeps_the_others_exact() -> None:
    counts = {(n, c): n * 3 + len(c) for n in range(1, 8) for c in ("pothole", "light", "graffiti")}
    done = released(grid(counts), MinCellSize(k=10))
    assert done.cells == 8 * 3  # the whole public grid, the empty neighbourhood 99 included
    for row in done.rows:
        exact = counts.get((row["neighbourhood_id"], row["category"]), 0)
        if exact < 10:
            assert row["count"] is None and row["suppressed"] is True
        else:
            assert row["count"] == exact and row["suppressed"] is False
    assert done.suppressed == sum(1 for row in done.rows if row["suppressed"])
    assert done.ledger.mechanism == "min_cell_size" and done.ledger.k == 10 and done.ledger.epsilon is None
    assert "k = 10" in done.ledger.description and "k = 10" in done.ledger.description_en


def test_min_cell_size_hides_cells_from_which_a_hidden_one_could_be_worked_out() -> None:
    # A question's respondents are known (its total): hiding 4 alone would reveal it as total - 30 - 25.
    counts = {(1, "a"): 30, (1, "b"): 25, (1, "c"): 4, (2, "a"): 30, (2, "b"): 25, (2, "c"): 0, (3, "a"): 3}
    cells = CellCounts(("question", "option"), counts, list(counts), 1, "", "", groups=1)
    published = {(row["question"], row["option"]): row["count"] for row in released(cells, MinCellSize()).rows}
    assert published == {
        (1, "a"): 30,
        (1, "b"): None,  # the smallest shown cell of the question is hidden too: 25 + 4 hidden
        (1, "c"): None,
        (2, "a"): 30,
        (2, "b"): 25,
        (2, "c"): None,  # nobody: nothing to protect
        (3, "a"): None,
    }
    assert privacy.suppress([12, 11, 5, 1], 10, [[0, 1, 2, 3]]) == [12, None, None, None]
    assert privacy.suppress([12, 11, 9, 1], 10, [[0, 1, 2, 3]]) == [12, 11, None, None]  # 10 hidden: enough


def test_a_differentially_private_count_is_not_the_exact_count() -> None:
    counts = {(n, c): 40 + n for n in range(1, 11) for c in ("pothole", "light")}
    exact = [counts.get((row[0], row[1]), 0) for row in grid(counts).domain]
    for _ in range(5):
        done = released(grid(counts), LaplaceDP(epsilon=1.0))
        noisy = [row["count"] for row in done.rows]
        # 22 cells each left exact with probability ~0.46: all exact about once in 10^7 releases.
        assert noisy != exact
        assert all(isinstance(value, int) and value >= 0 for value in noisy)
        assert not any(row["suppressed"] for row in done.rows)
        assert done.ledger.mechanism == "laplace" and done.ledger.epsilon == 1.0 and done.ledger.k is None


def test_noise_is_clamped_to_non_negative_whole_numbers() -> None:
    values = privacy.noisy_counts([0] * 2000, epsilon=0.5, max_contributions=1)
    assert all(isinstance(value, int) and value >= 0 for value in values)
    assert any(value > 0 for value in values)  # noise was added, then negatives clamped


@pytest.mark.parametrize(("epsilon", "bound"), [(1.0, 1), (0.25, 1), (1.0, 3)])
def test_noise_scale_follows_epsilon_and_the_contribution_bound(epsilon: float, bound: int) -> None:
    draws = 4000
    values = privacy.noisy_counts([10_000] * draws, epsilon=epsilon, max_contributions=bound)
    expected = discrete_laplace_variance(privacy.laplace_scale(epsilon, bound))
    variance = statistics.variance(values)
    # The sample variance of a Laplace has a relative standard error of about sqrt(5 / n) = 3.5 % here:
    # ±20 % is more than five standard errors.
    assert 0.8 * expected < variance < 1.2 * expected, (variance, expected)
    assert abs(statistics.mean(values) - 10_000) < 6 * math.sqrt(expected / draws)


def test_smaller_epsilon_means_more_noise() -> None:
    loose = statistics.variance(privacy.noisy_counts([500] * 3000, epsilon=2.0, max_contributions=1))
    tight = statistics.variance(privacy.noisy_counts([500] * 3000, epsilon=0.2, max_contributions=1))
    assert tight > 20 * loose  # expected ratio about 170


def test_the_ledger_total_per_dataset_and_period_is_the_sum_of_its_releases() -> None:
    counts = grid({(1, "pothole"): 12, (2, "light"): 30})
    entries = [
        released(counts, LaplaceDP(epsilon=0.5)).ledger,
        released(counts, LaplaceDP(epsilon=0.3)).ledger,
        released(counts, LaplaceDP(epsilon=0.1)).ledger,
        released(counts, MinCellSize(k=10)).ledger,
        released(counts, LaplaceDP(epsilon=1.0), dataset="other").ledger,
        released(counts, LaplaceDP(epsilon=2.0), period="2026-01-05/2026-03-30").ledger,
    ]
    assert privacy.total_epsilon(entries, "d", PERIOD) == pytest.approx(0.9)
    assert privacy.total_epsilon(entries, "other", PERIOD) == pytest.approx(1.0)
    assert privacy.total_epsilon(entries, "none", PERIOD) == 0.0
    totals = privacy.totals(entries)
    assert totals == {
        ("d", PERIOD): pytest.approx(0.9),
        ("other", PERIOD): pytest.approx(1.0),
        ("d", "2026-01-05/2026-03-30"): pytest.approx(2.0),
    }
    assert sum(totals.values()) == pytest.approx(math.fsum(e.epsilon or 0 for e in entries))
    assert privacy.remaining_budget(entries, "d", PERIOD, budget=1.0) == pytest.approx(0.1)
    assert privacy.remaining_budget(entries, "d", PERIOD, budget=0.5) == 0.0


def test_ledger_values_are_the_fields_of_a_privacy_release_row() -> None:
    entry = released(grid({(1, "pothole"): 12}), LaplaceDP(epsilon=0.5)).ledger
    values = privacy.ledger_values(entry)
    assert set(values) == {
        "dataset",
        "resource",
        "released_at",
        "period",
        "mechanism",
        "epsilon",
        "k",
        "description",
        "description_en",
    }
    assert values["epsilon"] == 0.5 and values["released_at"] == NOW and values["period"] == PERIOD
    # The explanation says, in both languages, the ε, how a person's part is bounded and the noise's scale.
    assert "ε = 0.5" in values["description"] and "une fois par cellule" in values["description"]
    assert "ε = 0.5" in values["description_en"] and "once per cell" in values["description_en"]
    assert "échelle 2" in values["description"] and "scale 2" in values["description_en"]


@pytest.mark.parametrize("epsilon", [0.0, -1.0, float("nan"), float("inf"), 50.0])
def test_a_release_that_would_not_protect_people_is_refused(epsilon: float) -> None:
    with pytest.raises(PrivacyError):
        released(grid({(1, "pothole"): 3}), LaplaceDP(epsilon=epsilon))


def test_cells_outside_the_public_grid_and_tiny_k_are_refused() -> None:
    counts = grid({(1, "pothole"): 3})
    leaking = CellCounts(counts.dimensions, {(7, "secret"): 1}, counts.domain, 1, "", "")
    with pytest.raises(PrivacyError):
        released(leaking, LaplaceDP(epsilon=1.0))
    with pytest.raises(PrivacyError):
        released(counts, MinCellSize(k=1))
    twice = CellCounts(counts.dimensions, counts.counts, [*counts.domain, counts.domain[0]], 1, "", "")
    with pytest.raises(PrivacyError, match="once"):
        released(twice, LaplaceDP(epsilon=1.0))


def test_the_explanation_says_when_cells_are_hidden_to_protect_a_group_total() -> None:
    counts = {(1, "a"): 30, (1, "b"): 4}
    grouped = released(CellCounts(("q", "o"), counts, list(counts), 1, "r", "r", groups=1), MinCellSize()).ledger
    assert "soustrayant" in grouped.description and "subtracting" in grouped.description_en
    plain = released(CellCounts(("q", "o"), counts, list(counts), 1, "r", "r"), MinCellSize()).ledger
    assert "soustrayant" not in plain.description and "Other cells are exact." in plain.description_en


# --- the discrete Gaussian, chosen per release --------------------------------------------------------------


def test_a_gaussian_release_is_noisy_scaled_to_the_l2_bound_and_says_its_epsilon_and_delta() -> None:
    counts = {(n, c): 40 for n in range(1, 41) for c in ("pothole", "light", "graffiti", "tags", "trees")}
    done = released(grid(counts, bound=4), GaussianDP(epsilon=1.0))
    exact = [counts.get((row["neighbourhood_id"], row["category"]), 0) for row in done.rows]
    noisy = [row["count"] for row in done.rows]
    assert all(isinstance(value, int) and value >= 0 for value in noisy) and noisy != exact
    assert done.ledger.mechanism == "discrete_gaussian" and done.ledger.epsilon == 1.0 and done.ledger.k is None
    assert "δ = 1e-07" in done.ledger.description and "gaussien discret" in done.ledger.description
    assert "δ = 1e-07" in done.ledger.description_en and "Gaussian" in done.ledger.description_en
    # The scale follows the L2 bound (√4 = 2 times that of one cell) and shows in the noise's spread.
    one, four = privacy.gaussian_scale(1.0, 1e-7, 1), privacy.gaussian_scale(1.0, 1e-7, 4)
    assert four == pytest.approx(2 * one, rel=0.01)
    spread = statistics.pstdev(n - e for n, e in zip(noisy, exact, strict=True) if e)
    assert 0.7 * four < spread < 1.3 * four
    with pytest.raises(PrivacyError):
        released(grid(counts), GaussianDP(epsilon=1.0, delta=0.5))


async def test_a_gaussian_release_is_recorded_in_the_ledger_and_counts_in_its_total(session: AsyncSession) -> None:
    dataset = await create_dataset(session, await create_organization(session))
    gaussian = released(grid({(1, "pothole"): 30}), GaussianDP(epsilon=0.5), dataset=dataset.name).ledger
    laplace = released(grid({(1, "pothole"): 30}), LaplaceDP(epsilon=0.25), dataset=dataset.name).ledger
    for entry in (gaussian, laplace):
        await ledger.record_release(session, entry)
    lines = await ledger.ledger(session)
    assert {line.release.mechanism.value for line in lines if line.dataset_name == dataset.name} == {
        "discrete_gaussian",
        "laplace",
    }
    totals = [t for t in await ledger.ledger_totals(session) if t.dataset_name == dataset.name]
    assert [(t.period, t.epsilon, t.releases) for t in totals] == [(PERIOD, 0.75, 2)]
