"""The privacy layer on every count about people the platform publishes, and the arithmetic of its public ledger.

A table of counts about people (reports per neighbourhood, category and week; participation per neighbourhood;
survey answers per option) leaves the platform only through one of two mechanisms:

- a minimum cell size (`MinCellSize`): a cell counted from fewer than k contributors (10 by default) is
  published empty, with `suppressed` true, so nobody can be singled out in a small cell;
- differential privacy (`LaplaceDP`): every cell gets discrete Laplace noise from OpenDP, scaled to the
  contribution bound over ε, then is clamped at zero (post-processing keeps the guarantee);
- or (`GaussianDP`, chosen per release) discrete Gaussian noise from OpenDP for (ε, δ)-differential privacy,
  scaled to the bound's L2 norm: less noise when one person can change many cells.

The caller gives the exact counts with the whole public grid of cells (`CellCounts.domain`: every
neighbourhood × category × week, zeros included, so that whether a cell exists tells nothing) and the bound on
one person's contributions (`max_contributions`: how many cells, at most one each, a person can change; the
domains enforce it when they count, e.g. one report per person per cell and at most three cells per release).
Each release returns the rows and the ledger entry the public privacy ledger records (`ledger_values` gives the
fields of the catalogue's `PrivacyRelease` row); the ledger's totals are pure functions of its entries.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

DEFAULT_K = 10
DEFAULT_EPSILON = 1.0
# The largest ε one release may spend: past it the noise no longer protects anyone in a small cell.
MAX_EPSILON = 10.0

MECHANISM_MIN_CELL = "min_cell_size"
MECHANISM_LAPLACE = "laplace"  # the catalogue's PrivacyMechanism.LAPLACE (discrete Laplace on integers)
MECHANISM_GAUSSIAN = "discrete_gaussian"  # PrivacyMechanism.DISCRETE_GAUSSIAN
# The δ of a Gaussian release: the chance its ε guarantee fails, far below one in the city's population.
DEFAULT_DELTA = 1e-7


class PrivacyError(ValueError):
    """A release that would not protect people (a bad ε or k, cells outside the public grid)."""


@dataclass(frozen=True)
class MinCellSize:
    """Suppress every cell counted from fewer than `k` contributors."""

    k: int = DEFAULT_K


@dataclass(frozen=True)
class LaplaceDP:
    """ε-differential privacy: discrete Laplace noise of scale max_contributions / ε on every cell (OpenDP)."""

    epsilon: float = DEFAULT_EPSILON


@dataclass(frozen=True)
class GaussianDP:
    """(ε, δ)-differential privacy: discrete Gaussian noise from OpenDP on every cell, of the smallest scale
    that spends at most ε at δ for one person's L2 bound (√ max_contributions: they change that many cells by
    one). Less noise than Laplace's when a person can change many cells, at the price of δ."""

    epsilon: float = DEFAULT_EPSILON
    delta: float = DEFAULT_DELTA


Policy = MinCellSize | LaplaceDP | GaussianDP


@dataclass(frozen=True)
class CellCounts:
    """Exact counts of contributors per cell, keyed by the values of `dimensions`, over a public grid.

    `max_contributions` is the L1 bound of one person on the table: the number of cells they can change,
    each by at most one. `contribution_rule` / `contribution_rule_en` say in plain words how it is enforced."""

    dimensions: tuple[str, ...]
    counts: Mapping[tuple[Any, ...], int]
    domain: Sequence[tuple[Any, ...]]
    max_contributions: int
    contribution_rule: str
    contribution_rule_en: str
    # Cells sharing their first `groups` dimensions add up to a total that may be known elsewhere (a survey
    # question's respondents): minimum cell size then also hides cells that would let a hidden one be worked out.
    groups: int = 0


@dataclass(frozen=True)
class LedgerEntry:
    """What the public privacy ledger records about one release (the fields of `PrivacyRelease`)."""

    dataset: str
    resource: str
    released_at: datetime
    period: str
    mechanism: str
    epsilon: float | None
    k: int | None
    description: str
    description_en: str


@dataclass(frozen=True)
class Release:
    """The published rows (the dimensions, `count` — None when suppressed — and `suppressed`) and the
    ledger entry of the release."""

    rows: list[dict[str, Any]]
    ledger: LedgerEntry
    cells: int = 0
    suppressed: int = 0


def period_label(start: date | datetime, end: date | datetime) -> str:
    """An ISO 8601 interval, [start, end): how the ledger names the period a release covers."""
    return f"{start.isoformat()}/{end.isoformat()}"


def _opendp() -> Any:
    """OpenDP's few modules this layer uses, imported on first use. Not `opendp.prelude`: it also imports
    OpenDP's scikit-learn, pandas and Polars extras, about 160 MB resident in every app process for two
    measurements."""
    from opendp import combinators, domains, measurements, metrics, mod

    mod.enable_features("contrib")
    return SimpleNamespace(
        binary_search_param=mod.binary_search_param,
        vector_domain=domains.vector_domain,
        atom_domain=domains.atom_domain,
        l1_distance=metrics.l1_distance,
        l2_distance=metrics.l2_distance,
        m=measurements,
        c=combinators,
    )


def laplace_scale(epsilon: float, max_contributions: int) -> float:
    """The noise scale that makes a table where one person changes at most `max_contributions` cells
    by one each ε-differentially private (L1 sensitivity over ε)."""
    _check_epsilon(epsilon)
    if max_contributions < 1:
        raise PrivacyError("a person contributes to at least one cell")
    return max_contributions / epsilon


def noisy_counts(values: Sequence[int], epsilon: float, max_contributions: int) -> list[int]:
    """Discrete Laplace noise from OpenDP on integer counts, clamped at zero. OpenDP's own privacy map
    checks that the measurement spends no more than ε for the given bound."""
    dp = _opendp()
    scale = laplace_scale(epsilon, max_contributions)
    space = dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int)
    measurement = dp.m.make_laplace(*space, scale=scale)
    spent = float(measurement.map(max_contributions))
    if spent > epsilon * (1 + 1e-9):
        raise PrivacyError(f"the measurement would spend ε = {spent}, more than {epsilon}")
    if not values:
        return []
    return [max(0, int(value)) for value in measurement([int(value) for value in values])]


def gaussian_scale(epsilon: float, delta: float, max_contributions: int) -> float:
    """The discrete Gaussian's scale that makes the table (ε, δ)-differentially private (OpenDP's own privacy
    map, through zero-concentrated DP, searched for the smallest scale that fits)."""
    _check_epsilon(epsilon)
    if not 0 < delta < 1e-3:
        raise PrivacyError("δ must be above 0 and below 0.001")
    if max_contributions < 1:
        raise PrivacyError("a person contributes to at least one cell")
    scale = _opendp().binary_search_param(
        lambda value: _gaussian(value, delta), d_in=math.sqrt(max_contributions), d_out=(epsilon, delta)
    )
    return float(scale)


def _gaussian(scale: float, delta: float) -> Any:
    dp = _opendp()
    space = dp.vector_domain(dp.atom_domain(T=int)), dp.l2_distance(T=float)
    zero_concentrated = dp.m.make_gaussian(*space, scale=scale)
    return dp.c.make_fix_delta(dp.c.make_zCDP_to_approxDP(zero_concentrated), delta)


def gaussian_counts(values: Sequence[int], epsilon: float, delta: float, max_contributions: int) -> list[int]:
    """Discrete Gaussian noise from OpenDP on integer counts, clamped at zero; OpenDP's privacy map checks the
    measurement spends no more than (ε, δ) for the bound."""
    measurement = _gaussian(gaussian_scale(epsilon, delta, max_contributions), delta)
    spent, _ = measurement.map(math.sqrt(max_contributions))
    if spent > epsilon * (1 + 1e-9):
        raise PrivacyError(f"the measurement would spend ε = {spent}, more than {epsilon}")
    if not values:
        return []
    return [max(0, int(value)) for value in measurement([int(value) for value in values])]


def suppress(values: Sequence[int], k: int, groups: Sequence[Sequence[int]] = ()) -> list[int | None]:
    """Counts under k become None (published empty, with `suppressed` true). Within each group of positions
    whose total may be known, cells are hidden too, smallest first, until the hidden cells add up to 0 or at
    least k: subtracting the shown cells from the total then reveals no group of fewer than k people."""
    _check_k(k)
    published: list[int | None] = [value if value >= k else None for value in values]
    for group in groups:
        hidden = sum(values[i] for i in group if published[i] is None)
        shown = sorted((values[i], i) for i in group if published[i] is not None)
        while 0 < hidden < k and shown:
            value, position = shown.pop(0)
            published[position] = None
            hidden += value
    return published


def release(
    counts: CellCounts,
    policy: Policy,
    *,
    dataset: str,
    resource: str,
    period: str,
    released_at: datetime,
    subject: str,
    subject_en: str,
) -> Release:
    """Release a table of counts about people through `policy`, over every cell of its public grid.
    `subject`/`subject_en` name what is counted, for the ledger's explanation ("signalements par quartier…")."""
    domain = list(counts.domain)
    grid = set(domain)
    if len(grid) != len(domain):
        raise PrivacyError("each cell of the public grid is released once")
    outside = [cell for cell, value in counts.counts.items() if value and cell not in grid]
    if outside:
        raise PrivacyError(f"{len(outside)} counted cells are not in the public grid")
    exact = [int(counts.counts.get(cell, 0)) for cell in domain]
    if any(value < 0 for value in exact):
        raise PrivacyError("counts are never negative")
    published: Sequence[int | None]
    if isinstance(policy, MinCellSize):
        published = suppress(exact, policy.k, _groups(domain, counts.groups))
        mechanism, epsilon, k = MECHANISM_MIN_CELL, None, policy.k
        description, description_en = _min_cell_text(counts, policy.k, subject, subject_en)
    elif isinstance(policy, GaussianDP):
        published = gaussian_counts(exact, policy.epsilon, policy.delta, counts.max_contributions)
        mechanism, epsilon, k = MECHANISM_GAUSSIAN, policy.epsilon, None
        description, description_en = _gaussian_text(counts, policy, subject, subject_en)
    else:
        published = noisy_counts(exact, policy.epsilon, counts.max_contributions)
        mechanism, epsilon, k = MECHANISM_LAPLACE, policy.epsilon, None
        description, description_en = _laplace_text(counts, policy.epsilon, subject, subject_en)
    rows = []
    hidden = 0
    for cell, value in zip(domain, published, strict=True):
        row = dict(zip(counts.dimensions, cell, strict=True))
        row["count"] = value
        row["suppressed"] = value is None
        hidden += value is None
        rows.append(row)
    entry = LedgerEntry(
        dataset=dataset,
        resource=resource,
        released_at=released_at,
        period=period,
        mechanism=mechanism,
        epsilon=epsilon,
        k=k,
        description=description,
        description_en=description_en,
    )
    return Release(rows=rows, ledger=entry, cells=len(rows), suppressed=hidden)


def _groups(domain: Sequence[tuple[Any, ...]], width: int) -> list[list[int]]:
    if width <= 0:
        return []
    groups: dict[tuple[Any, ...], list[int]] = {}
    for position, cell in enumerate(domain):
        groups.setdefault(cell[:width], []).append(position)
    return list(groups.values())


def ledger_values(entry: LedgerEntry) -> dict[str, Any]:
    """The values of one `PrivacyRelease` row (dataset, resource, released_at, period, mechanism, epsilon, k,
    description, description_en), for the catalogue to store."""
    return {
        "dataset": entry.dataset,
        "resource": entry.resource,
        "released_at": entry.released_at,
        "period": entry.period,
        "mechanism": entry.mechanism,
        "epsilon": entry.epsilon,
        "k": entry.k,
        "description": entry.description,
        "description_en": entry.description_en,
    }


# --- the ledger's arithmetic --------------------------------------------------------------------------


def total_epsilon(entries: Iterable[LedgerEntry], dataset: str, period: str) -> float:
    """The ε spent on one dataset and period: the sum of its releases' ε (sequential composition; a
    minimum-cell release spends none)."""
    return math.fsum(e.epsilon for e in entries if e.dataset == dataset and e.period == period and e.epsilon)


def totals(entries: Iterable[LedgerEntry]) -> dict[tuple[str, str], float]:
    """The ε spent per (dataset, period), every pair that had a release listed (0.0 for minimum-cell ones)."""
    spent: dict[tuple[str, str], list[float]] = {}
    for entry in entries:
        spent.setdefault((entry.dataset, entry.period), []).append(entry.epsilon or 0.0)
    return {key: math.fsum(values) for key, values in spent.items()}


def already_released(entries: Iterable[LedgerEntry], dataset: str, period: str) -> bool:
    """Whether the ledger holds a release of this dataset for this period: a refresh skips it rather than
    spend the period's ε again."""
    return any(entry.dataset == dataset and entry.period == period for entry in entries)


def remaining_budget(entries: Iterable[LedgerEntry], dataset: str, period: str, budget: float) -> float:
    """What is left of `budget` for a dataset and period after its releases (never below zero)."""
    return max(0.0, budget - total_epsilon(entries, dataset, period))


# --- plain explanations -------------------------------------------------------------------------------


def _check_epsilon(epsilon: float) -> None:
    if not (isinstance(epsilon, int | float) and math.isfinite(epsilon) and 0 < epsilon <= MAX_EPSILON):
        raise PrivacyError(f"ε must be a number above 0 and at most {MAX_EPSILON}")


def _check_k(k: int) -> None:
    if not isinstance(k, int) or k < 2:
        raise PrivacyError("k must be a whole number of at least 2")


def _min_cell_text(counts: CellCounts, k: int, subject: str, subject_en: str) -> tuple[str, str]:
    french = (
        f"{subject} : taille minimale de cellule k = {k}. Chaque personne est comptée au plus une fois par "
        f"cellule ({counts.contribution_rule}). Une cellule comptant moins de {k} personnes est publiée vide, "
        "avec la colonne « suppressed » à vrai : on ne peut pas y reconnaître quelqu’un. Les autres cellules "
        "sont exactes."
    )
    if counts.groups:
        french = french.replace(
            "Les autres cellules sont exactes.",
            "D’autres cellules du même groupe sont aussi masquées quand il le faut, pour qu’aucune cellule masquée "
            "ne puisse être retrouvée en soustrayant les autres du total. Les cellules publiées sont exactes.",
        )
    english = (
        f"{subject_en}: minimum cell size k = {k}. Each person is counted at most once per cell "
        f"({counts.contribution_rule_en}). A cell counting fewer than {k} people is published empty, with the "
        "“suppressed” column true, so nobody can be recognised in it. Other cells are exact."
    )
    if counts.groups:
        english = english.replace(
            "Other cells are exact.",
            "Other cells of the same group are hidden too when needed, so that no hidden cell can be worked out by "
            "subtracting the others from the total. Published cells are exact.",
        )
    return french, english


def _laplace_text(counts: CellCounts, epsilon: float, subject: str, subject_en: str) -> tuple[str, str]:
    scale = laplace_scale(epsilon, counts.max_contributions)
    bound = counts.max_contributions
    french = (
        f"{subject} : confidentialité différentielle, ε = {epsilon:g} pour cette publication. Une personne "
        f"change au plus {bound} cellule(s) d’une unité ({counts.contribution_rule}) ; chaque cellule reçoit un "
        f"bruit de Laplace discret d’échelle {scale:g} (OpenDP), puis les comptes négatifs sont ramenés à 0. "
        "Le résultat dit presque la même chose qu’une personne y figure ou non ; les petits comptes sont "
        "approximatifs. Les ε de toutes les publications d’une même période s’additionnent dans ce registre."
    )
    english = (
        f"{subject_en}: differential privacy, ε = {epsilon:g} for this release. One person changes at most "
        f"{bound} cell(s) by one ({counts.contribution_rule_en}); each cell gets discrete Laplace noise of "
        f"scale {scale:g} (OpenDP), then negative counts are set to 0. The result says almost the same whether "
        "or not any one person is in it; small counts are approximate. The ε of every release for the same "
        "period add up in this ledger."
    )
    return french, english


def _gaussian_text(counts: CellCounts, policy: GaussianDP, subject: str, subject_en: str) -> tuple[str, str]:
    scale = gaussian_scale(policy.epsilon, policy.delta, counts.max_contributions)
    bound = counts.max_contributions
    french = (
        f"{subject}\u00a0: confidentialité différentielle, ε = {policy.epsilon:g} et δ = {policy.delta:g} pour cette "
        f"publication. Une personne change au plus {bound} cellule(s) d’une unité ({counts.contribution_rule})\u202f; "
        f"chaque cellule reçoit un bruit gaussien discret d’échelle {scale:.3g} (OpenDP), puis les comptes négatifs "
        "sont ramenés à 0. Le résultat dit presque la même chose qu’une personne y figure ou non, sauf avec une "
        "probabilité δ négligeable\u202f; les petits comptes sont approximatifs. Les ε de toutes les publications "
        "d’une même période s’additionnent dans ce registre."
    )
    english = (
        f"{subject_en}: differential privacy, ε = {policy.epsilon:g} and δ = {policy.delta:g} for this release. One "
        f"person changes at most {bound} cell(s) by one ({counts.contribution_rule_en}); each cell gets discrete "
        f"Gaussian noise of scale {scale:.3g} (OpenDP), then negative counts are set to 0. The result says almost "
        "the same whether or not any one person is in it, but with a negligible probability δ; small counts are "
        "approximate. The ε of every release for the same period add up in this ledger."
    )
    return french, english
