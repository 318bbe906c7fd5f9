"""What sets each group apart and what the groups share, from the votes of the participants in groups:
red-dwarf's comment statistics (counts, Pol.is's probabilities and tests, on numpy arrays), then its choice of
representative statements (Pol.is's repness) written over arrays instead of pandas rows (the same rules in the
same order: tests/opinions/test_groups.py compares the two), the consensus and the divisive statements."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

PICK = 5
CONFIDENCE = 0.9
CONSENSUS_SHARE = 0.6  # every group agrees (or disagrees) at least this much, counted with Pol.is's prior
DIVISIVE_SPREAD = 0.3  # between the group that agrees most and the one that agrees least
MIN_GROUP_VOTES = 3  # a group's share on a statement counts from this many of its votes


@dataclass(frozen=True)
class GroupStatistics:
    """Per group (rows) and statement (columns): agrees, disagrees, votes seen, Pol.is's probabilities (pa, pd),
    their tests (pat, pdt), the representativeness against the other groups (ra, rd) and its tests (rat, rdt)."""

    na: np.ndarray
    nd: np.ndarray
    ns: np.ndarray
    pa: np.ndarray
    pd: np.ndarray
    pat: np.ndarray
    pdt: np.ndarray
    ra: np.ndarray
    rd: np.ndarray
    rat: np.ndarray
    rdt: np.ndarray


def import_reddwarf() -> None:
    """Import red-dwarf's models before any of its modules, without the one warning they print: red-dwarf 0.4.0
    declares `Optional[Annotated[str, Field(exclude=True)]]` (`reddwarf/models.py`), which pydantic 2.12 reports
    as an `UnsupportedFieldAttributeWarning` at import (every start of the opinion map printed it). We use none
    of those models; any other warning still shows."""
    from pydantic.warnings import UnsupportedFieldAttributeWarning

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The 'exclude' attribute", UnsupportedFieldAttributeWarning)
        import reddwarf.models  # noqa: F401


def group_statistics(matrix: np.ndarray, labels: np.ndarray, group_count: int) -> GroupStatistics:
    """The statistics of the raw votes (NaN where not voted) of the participants labelled 0..k-1: the counts by
    one matrix product per vote kind (red-dwarf counts them group by group on copies of the matrix), then
    red-dwarf's own formulas (Laplace-smoothed probabilities, Pol.is's one- and two-proportion tests)."""
    import_reddwarf()
    from reddwarf.utils.stats import one_prop_test, probability, two_prop_test

    # participants × groups, 1 where the participant is in the group
    membership = np.zeros((len(labels), group_count), dtype=np.float32)
    membership[np.arange(len(labels)), labels] = 1.0

    def count(where: np.ndarray) -> np.ndarray:
        counts: np.ndarray = np.rint(where.astype(np.float32).T @ membership).T.astype(np.int64)
        return counts

    na, nd, ns = count(matrix == 1), count(matrix == -1), count(np.isfinite(matrix))
    out_na, out_nd, out_ns = (total.sum(axis=0) - total for total in (na, nd, ns))
    pa, pd_ = probability(na, ns), probability(nd, ns)
    with np.errstate(divide="ignore", invalid="ignore"):
        ra = pa / probability(out_na, out_ns)
        rd = pd_ / probability(out_nd, out_ns)
        # red-dwarf's test adds its pseudo-counts in place: it gets copies
        rat = np.asarray(two_prop_test(na.copy(), out_na.copy(), ns.copy(), out_ns.copy()), dtype=float)
        rdt = np.asarray(two_prop_test(nd.copy(), out_nd.copy(), ns.copy(), out_ns.copy()), dtype=float)
    return GroupStatistics(na, nd, ns, pa, pd_, one_prop_test(na, ns), one_prop_test(nd, ns), ra, rd, rat, rdt)


def _direction(rat: float, rdt: float) -> str:
    return "agree" if rat > rdt else "disagree"


def representative(stats: GroupStatistics, tids: np.ndarray, moderated: np.ndarray) -> list[list[tuple[int, str]]]:
    """Per group, at most PICK (column, "agree" | "disagree"): red-dwarf's `select_representative_statements`
    (Pol.is's repness): the best-agreed statement first, then the significant ones by repness, agrees first."""
    from scipy.stats import norm

    critical = float(norm.ppf(CONFIDENCE))
    columns = np.flatnonzero(~moderated)
    chosen: list[list[tuple[int, str]]] = []
    for group in range(stats.na.shape[0]):
        na, nd = stats.na[group, columns].tolist(), stats.nd[group, columns].tolist()
        pa, pat = stats.pa[group, columns].tolist(), stats.pat[group, columns].tolist()
        ra, rat = stats.ra[group, columns].tolist(), stats.rat[group, columns].tolist()
        rd, rdt = stats.rd[group, columns].tolist(), stats.rdt[group, columns].tolist()
        pd_, pdt = stats.pd[group, columns].tolist(), stats.pdt[group, columns].tolist()
        best_agree: int | None = None
        for at in range(len(columns)):
            if na[at] == 0 and nd[at] == 0:
                continue
            if best_agree is None:
                better = pat[at] > critical or (ra[at] > 1.0 and pa[at] > 0.5)
            elif ra[best_agree] > 1.0:
                better = ra[at] * rat[at] * pa[at] * pat[at] > (
                    ra[best_agree] * rat[best_agree] * pa[best_agree] * pat[best_agree]
                )
            else:
                better = pa[at] * pat[at] > pa[best_agree] * pat[best_agree]
            if better:
                best_agree = at
        sufficient = [
            at
            for at in range(len(columns))
            if (pat[at] > critical and rat[at] > critical) or (pdt[at] > critical and rdt[at] > critical)
        ]
        head: int | None = best_agree
        if head is None and not sufficient:
            best: int | None = None
            for at in range(len(columns)):
                if best is None or max(rat[at], rdt[at]) > max(rat[best], rdt[best]):
                    best = at
            head = best

        metric = {
            at: ra[at] * rat[at] * pa[at] * pat[at]
            if _direction(rat[at], rdt[at]) == "agree"
            else rd[at] * rdt[at] * pd_[at] * pdt[at]
            for at in sufficient
        }
        ranked = sorted(sufficient, key=lambda at: -metric[at])
        picked = [] if head is None else [head, *(at for at in ranked if at != head)]
        lines = [(int(columns[at]), _direction(rat[at], rdt[at])) for at in picked[:PICK]]
        chosen.append(sorted(lines, key=lambda line: line[1]))
    return chosen


def _rounded(value: float) -> float:
    return round(float(value), 4)


def across_groups(
    stats: GroupStatistics, tids: np.ndarray, moderated: np.ndarray, ids: list[int]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Consensus: every group agrees (or disagrees) with Pol.is's prior share (n+1)/(seen+2) of at least 60 %,
    ranked by the product of the groups' shares (Pol.is's group-aware consensus). Divisive: the widest gap
    between the groups' agreement, each group having voted at least MIN_GROUP_VOTES times."""
    agree = (stats.na + 1) / (stats.ns + 2)
    disagree = (stats.nd + 1) / (stats.ns + 2)
    names = [str(group) for group in ids]
    consensus: list[dict[str, Any]] = []
    for direction, shares in (("agree", agree), ("disagree", disagree)):
        for column in np.flatnonzero(~moderated & (shares.min(axis=0) >= CONSENSUS_SHARE)).tolist():
            values = shares[:, column].tolist()
            consensus.append(
                {
                    "tid": int(tids[column]),
                    "direction": direction,
                    "score": _rounded(math.prod(values)),
                    "shares": {name: _rounded(value) for name, value in zip(names, values, strict=True)},
                }
            )
    spread = agree.max(axis=0) - agree.min(axis=0)
    counted = (stats.ns >= MIN_GROUP_VOTES).all(axis=0)
    divisive: list[dict[str, Any]] = [
        {
            "tid": int(tids[column]),
            "spread": _rounded(spread[column]),
            "shares": {name: _rounded(value) for name, value in zip(names, agree[:, column].tolist(), strict=True)},
        }
        for column in np.flatnonzero(~moderated & counted & (spread >= DIVISIVE_SPREAD)).tolist()
    ]
    consensus.sort(key=lambda item: (-item["score"], item["tid"]))
    divisive.sort(key=lambda item: (-item["spread"], item["tid"]))
    agreed = [item for item in consensus if item["direction"] == "agree"][:PICK]
    disagreed = [item for item in consensus if item["direction"] == "disagree"][:PICK]
    return agreed + disagreed, divisive[:PICK]
