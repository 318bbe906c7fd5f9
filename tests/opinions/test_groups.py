"""The mathematics alone: known groups are recovered, ids stay stable across recomputations, consensus and
divisive statements are the ones built in, the results are red-dwarf's own, and the worker process computes
them as the web process would."""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest
from sklearn.metrics import adjusted_rand_score

from citoyen.opinions import groups, maps
from citoyen.opinions import service as opinions
from tests.opinions.helpers import simulated_votes


def _agreement(result: opinions.MapResult, truth: dict[int, int]) -> float:
    found = {pid: group for pid, group in result.group_of.items() if group >= 0}
    return float(adjusted_rand_score([truth[pid] for pid in found], list(found.values())))


def test_recovers_three_known_groups_with_their_sizes() -> None:
    votes, truth = simulated_votes(participants=240, statements=24, groups=3)
    result = opinions.compute_map(votes)
    assert len(result.groups) == 3
    assert sorted(group["size"] for group in result.groups) == [80, 80, 80]
    assert _agreement(result, truth) > 0.95


def test_recovers_two_groups_and_the_statement_everyone_agrees_with() -> None:
    votes, truth = simulated_votes(participants=150, statements=20, groups=2, seed=7)
    result = opinions.compute_map(votes)
    assert len(result.groups) == 2
    assert _agreement(result, truth) > 0.95
    assert 0 in [item["tid"] for item in result.consensus if item["direction"] == "agree"]
    # Every representative statement comes with the share of its group that agreed and disagreed.
    for group in result.groups:
        assert group["representative"]
        for item in group["representative"]:
            assert 0 <= item["agreed"] <= 1 and 0 <= item["disagreed"] <= 1 and item["voted"] > 0
    # The divisive statements are ones the two groups see oppositely.
    assert result.divisive and all(item["spread"] >= 0.3 for item in result.divisive)


def test_group_ids_stay_with_their_groups_across_recomputations() -> None:
    votes, _ = simulated_votes(participants=240, statements=24, groups=3, seed=3)
    first = opinions.compute_map(votes)
    # The next computation starts from the previous groups, given here in another order, with a few more votes.
    again = opinions.compute_map([*votes, (0, 1, 1), (1, 2, -1)], previous_groups=list(reversed(first.groups)))
    before, after = first.group_of, again.group_of
    same = sum(1 for pid in before if before[pid] == after[pid])
    assert same / len(before) > 0.97
    assert opinions.compute_map(votes).points == first.points  # deterministic


def test_moderated_out_statements_count_for_nothing() -> None:
    votes, _ = simulated_votes(participants=120, statements=12, groups=2, seed=5)
    result = opinions.compute_map(votes, moderated_out=[3])
    mentioned = {item["tid"] for item in result.consensus + result.divisive}
    mentioned |= {item["tid"] for group in result.groups for item in group["representative"]}
    assert 3 not in mentioned


def test_too_few_votes_make_no_groups() -> None:
    assert opinions.compute_map([(0, 0, 1), (1, 0, -1), (2, 1, 1)]).groups == []


def test_same_groups_points_and_statements_as_red_dwarfs_own_pipeline() -> None:
    """The pipeline on numpy arrays gives what red-dwarf's `run_pipeline` (pandas) gives on the same votes."""
    from reddwarf.implementations.polis import run_pipeline

    votes, _ = simulated_votes(participants=90, statements=16, groups=3, seed=11)
    ours = opinions.compute_map(votes, moderated_out=[4])
    theirs = run_pipeline(
        votes=[{"participant_id": p, "statement_id": t, "vote": v, "modified": 0} for p, t, v in votes],
        mod_out_statement_ids=[4],
        min_user_vote_threshold=opinions.MIN_VOTES,
        max_group_count=5,
        random_state=groups.SEED,
        pick_max=5,
    )
    frame = theirs.participants_df
    for pid, x, y, group in ours.points:
        assert abs(frame.loc[pid, "x"] - x) < 1e-4 and abs(frame.loc[pid, "y"] - y) < 1e-4
        assert group == int(frame.loc[pid, "cluster_id"])  # no previous groups: ids are k-means' labels
    expected = {
        label: [(int(item["tid"]), item["repful-for"]) for item in items] for label, items in theirs.repness.items()
    }
    assert {group["id"]: [(i["tid"], i["direction"]) for i in group["representative"]] for group in ours.groups} == (
        expected
    )


def test_silhouette_on_a_sample_still_finds_the_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above SILHOUETTE_SAMPLE participants the number of groups is chosen on an even sample of them."""
    monkeypatch.setattr(groups, "SILHOUETTE_SAMPLE", 60)
    votes, truth = simulated_votes(participants=240, statements=24, groups=3, seed=4)
    result = opinions.compute_map(votes)
    assert len(result.groups) == 3 and _agreement(result, truth) > 0.95


def test_what_crosses_to_the_worker_process_arrives_whole() -> None:
    """The served app computes in a process of its own: the input goes there and the result comes back pickled."""
    votes, _ = simulated_votes(participants=60, statements=10, groups=2, seed=6)
    sent = maps.MapInput(",".join(f"{p},{t},{v}" for p, t, v in votes), [], 10, [], None)
    data = pickle.loads(pickle.dumps(sent))  # noqa: S301 - made here
    local = maps.compute(data)
    remote = pickle.loads(pickle.dumps(local))  # noqa: S301 - made here
    assert remote.result.points == local.result.points and remote.result.groups == local.result.groups
    assert (remote.vote_count, remote.participant_count) == (len(votes), 60)
    picture = remote.picture
    assert picture["clustered"] == sum(group["size"] for group in remote.result.groups)
    assert picture["clustered"] + picture["unclustered"] == 60 and len(picture["layers"]) == 3  # 2 groups, none


def test_computing_a_map_prints_no_warning_from_red_dwarfs_models() -> None:
    """red-dwarf's models raised pydantic's UnsupportedFieldAttributeWarning at import, printed at every start; a
    fresh interpreter (this one has imported red-dwarf already) computes a map with that warning made an error."""
    code = (
        "from citoyen.opinions.groups import compute_map\n"
        "votes = [(p, t, (p * 7 + t * 3) % 3 - 1) for p in range(30) for t in range(8)]\n"
        "print(len(compute_map(votes).points))\n"
    )
    warning = "error::pydantic.warnings.UnsupportedFieldAttributeWarning"
    done = subprocess.run([sys.executable, "-W", warning, "-c", code], capture_output=True, text=True, timeout=120)  # noqa: S603
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "30" and "Warning" not in done.stderr
