"""The opinion map's mathematics, Pol.is's "classic" pipeline as red-dwarf implements it: the vote matrix
(participants × statements, 1 agree, -1 disagree, 0 pass, missing unvoted), moderated-out statements zeroed,
PCA to two dimensions, k-means with k from 2 to 5 chosen by silhouette among the participants with enough
votes, started from the previous map's centres with a fixed seed (so that groups keep their number across
recomputations), each group's representative statements (Pol.is's repness, with its probability test),
the consensus statements (agreed, or disagreed, by a majority of every group) and the most divisive ones.

Pure functions of the votes: `recompute` in maps.py reads and stores, the background task calls it."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from citoyen.opinions.repness import across_groups, group_statistics, import_reddwarf, representative

# Pol.is clusters participants who voted on at least 7 statements (or on all of them when there are fewer).
MIN_VOTES = 7
MAX_GROUPS = 5
SEED = 20261207
# The silhouette (which picks the number of groups) is scored on this many participants at most, drawn evenly
# with the fixed seed: its cost grows with the square of their number (10,000 participants: 6 s; 2,000: 0.2 s).
SILHOUETTE_SAMPLE = 2000


@dataclass
class MapResult:
    points: list[list[float | int]] = field(default_factory=list)  # [pid, x, y, group id or -1]
    groups: list[dict[str, Any]] = field(default_factory=list)
    consensus: list[dict[str, Any]] = field(default_factory=list)
    divisive: list[dict[str, Any]] = field(default_factory=list)

    @property
    def group_of(self) -> dict[int, int]:
        return {int(point[0]): int(point[3]) for point in self.points}


def min_votes(statement_count: int) -> int:
    return max(1, min(MIN_VOTES, statement_count))


def _stable_ids(centres: np.ndarray, previous: Sequence[dict[str, Any]]) -> list[int]:
    """Each new group takes the id of the previous group whose centre is nearest (one to one); the others new ids."""
    from scipy.optimize import linear_sum_assignment

    ids = [-1] * len(centres)
    if previous:
        old = np.array([group["center"] for group in previous], dtype=float)
        cost = np.linalg.norm(centres[:, None, :] - old[None, :, :], axis=2)
        rows, cols = linear_sum_assignment(cost)
        for row, col in zip(rows, cols, strict=True):
            ids[row] = int(previous[col]["id"])
    taken = set(ids)
    fresh = (number for number in range(len(centres) + len(previous) + 1) if number not in taken)
    return [number if number >= 0 else next(fresh) for number in ids]


@dataclass(frozen=True)
class VoteColumns:
    """Votes as three integer columns (participant number, statement number, value), as they are read."""

    pids: np.ndarray
    tids: np.ndarray
    values: np.ndarray

    @classmethod
    def of(cls, votes: Sequence[tuple[int, int, int]]) -> VoteColumns:
        table = np.asarray(votes, dtype=np.int64).reshape(-1, 3)
        return cls(table[:, 0], table[:, 1], table[:, 2])

    def __len__(self) -> int:
        return len(self.pids)

    def latest_only(self) -> VoteColumns:
        """One vote per participant and statement: the last one given counts."""
        if len(self.pids) == 0:
            return self
        span = int(self.tids.max()) - int(self.tids.min()) + 1
        key = (self.pids - self.pids.min()) * span + (self.tids - self.tids.min())
        _, last = np.unique(key[::-1], return_index=True)
        if len(last) == len(key):
            return self
        keep = np.sort(len(key) - 1 - last)
        return VoteColumns(self.pids[keep], self.tids[keep], self.values[keep])


@dataclass(frozen=True)
class _Matrix:
    """The raw vote matrix (NaN where not voted), rows the participants by pid, columns the statements by tid."""

    values: np.ndarray
    pids: np.ndarray
    tids: np.ndarray


def _numbered(numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct numbers in order and each one's position among them (a lookup table: no sort of the votes)."""
    low = int(numbers.min())
    present = np.zeros(int(numbers.max()) - low + 1, dtype=bool)
    present[numbers - low] = True
    position = np.cumsum(present) - 1
    return np.flatnonzero(present) + low, position[numbers - low]


def _matrix(votes: VoteColumns) -> _Matrix:
    pids, rows = _numbered(votes.pids)
    tids, columns = _numbered(votes.tids)
    values = np.full((len(pids), len(tids)), np.nan)
    values[rows, columns] = votes.values
    return _Matrix(values, pids, tids)


def _best_kmeans(points: np.ndarray, max_groups: int, init: list[list[float]] | None) -> Any:
    """k from 2 to `max_groups`, the best silhouette wins (the smallest k on a tie), as red-dwarf's grid search
    picks it; the silhouette is scored on an even sample above `SILHOUETTE_SAMPLE` points (its cost grows with
    the square of their number)."""
    import_reddwarf()
    from reddwarf.sklearn.cluster import PolisKMeans
    from sklearn.metrics import silhouette_score

    best: Any = None
    best_score = -np.inf
    sample = SILHOUETTE_SAMPLE if len(points) > SILHOUETTE_SAMPLE else None
    for k in range(2, max_groups + 1):
        try:  # too few distinct points for k groups: this k is left out, as the grid search scores it NaN
            model = PolisKMeans(n_clusters=k, init="polis", init_centers=init, random_state=SEED).fit(points)
            score = float(silhouette_score(points, model.labels_, sample_size=sample, random_state=SEED))
        except ValueError:
            continue
        if score > best_score:
            best, best_score = model, score
    return best


def compute_map(
    votes: Sequence[tuple[int, int, int]] | VoteColumns,
    moderated_out: Sequence[int] = (),
    statement_count: int | None = None,
    previous_groups: Sequence[dict[str, Any]] = (),
) -> MapResult:
    """The map of `votes` ((pid, tid, value) triples, or columns): where each participant stands, the groups and
    what characterises them. With too few votes to tell groups apart, only the points (or nothing).

    red-dwarf's steps for Pol.is's pipeline (its reducer: mean imputation, PCA, sparsity-aware scaling; its
    k-means with Pol.is's initialisation; its comment statistics), on numpy arrays rather than pandas' pivot."""
    import_reddwarf()
    from reddwarf.utils.reducer.base import run_reducer
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    columns = (votes if isinstance(votes, VoteColumns) else VoteColumns.of(votes)).latest_only()
    if len(columns) == 0:
        return MapResult()
    raw = _matrix(columns)
    moderated = np.isin(raw.tids, np.asarray(list(moderated_out), dtype=np.int64))
    counted = int(len(raw.tids) - moderated.sum())
    threshold = min_votes(statement_count if statement_count is not None else counted)
    voted = np.count_nonzero(~np.isnan(raw.values), axis=1)
    clusterable = voted >= threshold
    if counted < 2 or len(raw.pids) < 2 or int(clusterable.sum()) < 4:
        return MapResult()
    filtered = raw.values.copy()
    filtered[:, moderated] = 0.0  # Pol.is zeroes the moderated-out statements' columns
    init = [list(group["center"]) for group in previous_groups] or None
    # One thread: the computation runs beside the web workers, which keep the other cores.
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")
        projected, _, _ = run_reducer(vote_matrix=filtered, reducer="pca", random_state=SEED)
        model = _best_kmeans(projected[clusterable], min(MAX_GROUPS, int(clusterable.sum()) - 1), init)
    if model is None:
        return MapResult(points=_points(raw.pids, projected, np.full(len(raw.pids), -1)))
    centres = np.asarray(model.cluster_centers_, dtype=float)
    ids = _stable_ids(centres, previous_groups)
    labels = np.full(len(raw.pids), -1)
    labels[clusterable] = model.labels_
    stats = group_statistics(raw.values[clusterable], model.labels_, len(centres))
    chosen = representative(stats, raw.tids, moderated)
    groups: list[dict[str, Any]] = []
    for label, group_id in enumerate(ids):
        lines = []
        for column, direction in chosen[label]:
            seen = int(stats.ns[label, column])
            lines.append(
                {
                    "tid": int(raw.tids[column]),
                    "direction": direction,
                    "agreed": _share(stats.na[label, column], seen),
                    "disagreed": _share(stats.nd[label, column], seen),
                    "voted": seen,
                }
            )
        groups.append(
            {
                "id": group_id,
                "size": int(np.count_nonzero(model.labels_ == label)),
                "center": [round(float(value), 4) for value in centres[label]],
                "representative": lines,
            }
        )
    groups.sort(key=lambda group: group["id"])
    id_of = np.asarray(ids)
    consensus, divisive = across_groups(stats, raw.tids, moderated, ids)
    point_groups = np.where(labels >= 0, id_of[np.maximum(labels, 0)], -1)
    return MapResult(_points(raw.pids, projected, point_groups), groups, consensus, divisive)


def _share(count: Any, total: int) -> float:
    return round(float(count) / total, 4) if total else 0.0


def _points(pids: np.ndarray, projected: np.ndarray, groups: np.ndarray) -> list[list[float | int]]:
    xs = np.round(projected[:, 0], 4).tolist()
    ys = np.round(projected[:, 1], 4).tolist()
    return [[pid, x, y, group] for pid, x, y, group in zip(pids.tolist(), xs, ys, groups.tolist(), strict=True)]
