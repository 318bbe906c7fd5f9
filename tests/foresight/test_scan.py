"""The space-time permutation scan finds a planted cluster and rarely calls null data significant."""

from __future__ import annotations

import numpy as np
import pytest

from citoyen.foresight.scan import scan
from tests.foresight.helpers import events

SMALL = {"max_zones": 60, "max_bins": 40}  # a coarser grid than the default: the same logic, less work


def test_a_planted_cluster_is_found_with_nearly_all_its_events() -> None:
    clusters = scan(events(1500, planted=40), replicates=99, **SMALL)
    assert clusters, "the planted cluster was not found"
    top = clusters[0]
    planted = sum(1 for event_id in top.ids if event_id.startswith("p"))
    assert planted >= 36 and top.p_value < 0.05
    assert top.observed > top.expected
    assert abs(top.lon - 2.36) < 0.01 and abs(top.lat - 48.865) < 0.01


def test_null_data_p_values_are_roughly_uniform() -> None:
    """Times independent of places: the most likely cluster's p-value should be about uniform on (0, 1)."""
    p_values = [scan(events(300, seed=seed), replicates=19, alpha=1.01, **SMALL)[0].p_value for seed in range(30)]
    assert 0.3 < float(np.mean(p_values)) < 0.7
    assert sum(p <= 0.05 for p in p_values) <= 5  # 1.5 expected; 6 or more has probability < 0.5 %


def test_shuffles_that_only_look_at_cylinders_that_can_matter_give_the_full_p_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After the pilot shuffles, the others skip the cylinders whose count cannot reach the pilot maxima's lower
    quartile: the clusters and p-values must be those of every shuffle computed in full (null data and a loose
    alpha, so that the p-value depends on many shuffles' maxima)."""
    from citoyen.foresight import scan as module

    found = events(1500, seed=0)
    pruned = scan(found, replicates=59, alpha=0.5, **SMALL)
    monkeypatch.setattr(module, "PILOT", 59)
    full = scan(found, replicates=59, alpha=0.5, **SMALL)
    assert pruned and 0.05 < pruned[0].p_value < 0.5
    assert [(c.ids, c.p_value, c.llr) for c in pruned] == [(c.ids, c.p_value, c.llr) for c in full]
