"""The opinion map's mathematics, Pol.is's "classic" pipeline as red-dwarf implements it: the vote matrix
(participants × statements, 1 agree, -1 disagree, 0 pass, missing unvoted), moderated-out statements zeroed,
PCA to two dimensions, k-means with k from 2 to 5 chosen by silhouette among the participants with enough
votes, started from the previous map's centres with a fixed seed (so that groups keep their number across
recomputations), each group's representative statements (Pol.is's repness, with its probability test),
the consensus statements (agreed, or disagreed, by a majority of every group) and the most divisive ones.

Pure functions of the votes: `recompute` in maps.py reads and stores, the background task calls it."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Pol.is clusters participants who voted on at least 7 statements (or on all of them when there are fewer).
MIN_VOTES = 7
MAX_GROUPS = 5
SEED = 20261207
PICK = 5
CONSENSUS_SHARE = 0.6  # every group agrees (or disagrees) at least this much, counted with Pol.is's prior
DIVISIVE_SPREAD = 0.3  # between the group that agrees most and the one that agrees least
MIN_GROUP_VOTES = 3  # a group's share on a statement counts from this many of its votes


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


def compute_map(
    votes: Sequence[tuple[int, int, int]],
    moderated_out: Sequence[int] = (),
    statement_count: int | None = None,
    previous_groups: Sequence[dict[str, Any]] = (),
) -> MapResult:
    """The map of `votes` ((pid, tid, value) triples): where each participant stands, the groups and what
    characterises them. With too few votes to tell groups apart, only the points (or nothing)."""
    from reddwarf.implementations.polis import run_pipeline
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    votes = list({(pid, tid): (pid, tid, value) for pid, tid, value in votes}.values())  # the last vote counts
    tids = {tid for _, tid, _ in votes}
    pids = {pid for pid, _, _ in votes}
    counted = len(tids - set(moderated_out))
    threshold = min_votes(statement_count if statement_count is not None else counted)
    voted: dict[int, int] = {}
    for pid, _, _ in votes:
        voted[pid] = voted.get(pid, 0) + 1
    clusterable = sum(1 for count in voted.values() if count >= threshold)
    if counted < 2 or len(pids) < 2 or clusterable < 4:
        return MapResult()
    records = [{"participant_id": pid, "statement_id": tid, "vote": value, "modified": 0} for pid, tid, value in votes]
    init = [group["center"] for group in previous_groups] or None
    # One thread: faster than a pool at these sizes, and the web workers keep the other cores.
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")
        result = run_pipeline(
            votes=records,
            mod_out_statement_ids=list(moderated_out),
            min_user_vote_threshold=threshold,
            init_centers=init,
            max_group_count=min(MAX_GROUPS, clusterable - 1),
            random_state=SEED,
            pick_max=PICK,
        )
    clusterer = result.clusterer
    participants = result.participants_df
    if clusterer is None:
        return MapResult(points=_points(participants, {}))
    centres = np.asarray(clusterer.cluster_centers_, dtype=float)
    ids = _stable_ids(centres, previous_groups)
    label_to_id = dict(enumerate(ids))
    stats = result.group_comment_stats
    groups: list[dict[str, Any]] = []
    sizes = participants["cluster_id"].value_counts()
    for label, group_id in label_to_id.items():
        representative: list[dict[str, Any]] = []
        for item in result.repness.get(label, []):
            tid = int(item["tid"])
            row = stats.loc[(label, tid)]
            seen = int(row["ns"])
            representative.append(
                {
                    "tid": tid,
                    "direction": str(item["repful-for"]),
                    "agreed": _share(row["na"], seen),
                    "disagreed": _share(row["nd"], seen),
                    "voted": seen,
                }
            )
        groups.append(
            {
                "id": group_id,
                "size": int(sizes.get(label, 0)),
                "center": [round(float(value), 4) for value in centres[label]],
                "representative": representative,
            }
        )
    groups.sort(key=lambda group: group["id"])
    consensus, divisive = _across_groups(stats, label_to_id, set(moderated_out))
    return MapResult(_points(participants, label_to_id), groups, consensus, divisive)


def _share(count: Any, total: int) -> float:
    return round(float(count) / total, 4) if total else 0.0


def _points(participants: Any, label_to_id: dict[int, int]) -> list[list[float | int]]:
    points: list[list[float | int]] = []
    for pid, x, y, label in zip(
        participants.index, participants["x"], participants["y"], participants["cluster_id"], strict=True
    ):
        group = -1 if label is None or (isinstance(label, float) and math.isnan(label)) or label is np.nan else label
        try:
            group = label_to_id.get(int(group), -1)
        except (TypeError, ValueError):
            group = -1
        points.append([int(pid), round(float(x), 4), round(float(y), 4), group])
    return points


def _across_groups(
    stats: Any, label_to_id: dict[int, int], moderated_out: set[int]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Consensus: every group agrees (or disagrees) with Pol.is's prior share (n+1)/(seen+2) of at least 60 %,
    ranked by the product of the groups' shares (Pol.is's group-aware consensus). Divisive: the widest gap
    between the groups' agreement."""
    shares: dict[int, dict[int, tuple[float, float, int]]] = {}
    for (label, tid), row in stats.iterrows():
        tid = int(tid)
        if tid in moderated_out:
            continue
        seen = int(row["ns"])
        agree = (float(row["na"]) + 1) / (seen + 2)
        disagree = (float(row["nd"]) + 1) / (seen + 2)
        shares.setdefault(tid, {})[label_to_id[int(label)]] = (agree, disagree, seen)
    consensus: list[dict[str, Any]] = []
    divisive: list[dict[str, Any]] = []
    group_count = len(label_to_id)
    for tid, by_group in shares.items():
        if len(by_group) < group_count:
            continue
        for direction, index in (("agree", 0), ("disagree", 1)):
            values = [share[index] for share in by_group.values()]
            if min(values) >= CONSENSUS_SHARE:
                consensus.append(
                    {
                        "tid": tid,
                        "direction": direction,
                        "score": round(math.prod(values), 4),
                        "shares": {str(group): round(share[index], 4) for group, share in by_group.items()},
                    }
                )
        counted = {group: share for group, share in by_group.items() if share[2] >= MIN_GROUP_VOTES}
        if len(counted) == group_count:
            agreement = [share[0] for share in counted.values()]
            spread = max(agreement) - min(agreement)
            if spread >= DIVISIVE_SPREAD:
                divisive.append(
                    {
                        "tid": tid,
                        "spread": round(spread, 4),
                        "shares": {str(group): round(share[0], 4) for group, share in counted.items()},
                    }
                )
    consensus.sort(key=lambda item: (-item["score"], item["tid"]))
    divisive.sort(key=lambda item: (-item["spread"], item["tid"]))
    agreed = [item for item in consensus if item["direction"] == "agree"][:PICK]
    disagreed = [item for item in consensus if item["direction"] == "disagree"][:PICK]
    return agreed + disagreed, divisive[:PICK]
