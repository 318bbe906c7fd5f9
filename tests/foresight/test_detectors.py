"""Detectors decide with the past only, find a known outbreak, and follow EARS' published definitions."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from citoyen.foresight import detectors
from citoyen.foresight.series_io import DAILY, WEEKLY, Series
from tests.foresight.helpers import daily_counts, with_outbreak


@pytest.mark.parametrize("method", list(detectors.METHODS))
def test_changing_future_rows_moves_no_past_decision(method: str) -> None:
    series = daily_counts(200)
    changed = series.values.copy()
    changed[150:] = changed[150:] * 5 + 40  # a different future
    other = Series(series.start, series.frequency, changed)
    before = detectors.detect(series, 120, method).decisions
    after = detectors.detect(other, 120, method).decisions
    assert before[:30] == after[:30]
    assert before[30:] != after[30:]


@pytest.mark.parametrize("method", ["seasonal-robust", "farrington", "ears-c3"])
def test_a_known_outbreak_is_found_within_its_days(method: str) -> None:
    series = with_outbreak(daily_counts(200), start=170, days=4, extra=30)
    alarms = detectors.detect(series, 120, method).alarms
    assert alarms[50:54].any()


def test_the_seasonal_detector_does_not_cry_at_every_quiet_weekend_end() -> None:
    """Weekly seasonality alone (Monday after a quiet weekend) is no outbreak for ours."""
    series = Series(date(2024, 1, 1), DAILY, 100 * np.tile([1.5, 1.4, 1.3, 1.3, 1.4, 0.4, 0.3], 40))
    assert not detectors.detect(series, 120, "seasonal-robust").alarms.any()
    assert detectors.detect(daily_counts(300, mean=100), 120, "seasonal-robust").alarms.sum() <= 4  # of 180 days


def test_ears_c1_is_the_z_score_against_the_seven_days_before() -> None:
    history = np.array([10, 12, 8, 10, 11, 9, 10, 30], dtype=np.float64)
    decision = detectors.ears_c1(history, DAILY)
    assert decision is not None
    baseline = history[:7]
    assert decision.score == pytest.approx((30 - baseline.mean()) / baseline.std(ddof=1))
    assert decision.threshold == 3 and decision.alarm


def test_farrington_uses_the_same_weeks_of_past_years_on_weekly_data() -> None:
    rng = np.random.default_rng(4)
    weeks = 52 * 4
    season = 50 + 30 * np.sin(np.arange(weeks) * 2 * np.pi / 52)
    series = Series(date(2020, 1, 6), WEEKLY, rng.poisson(season).astype(np.float64))
    assert detectors.first_decidable(series, "farrington") == 52 + 3
    decision = detectors.farrington(series.values[:190], WEEKLY)
    assert decision is not None
    assert decision.expected == pytest.approx(season[189], rel=0.25)
    assert not decision.alarm
