"""Forecasts are made with the rows up to their origin only, and ours says how it compares with seasonal naive."""

from __future__ import annotations

import numpy as np
import pytest

from citoyen.foresight import forecasts
from citoyen.foresight.series_io import Series
from tests.foresight.helpers import daily_counts


def test_changing_future_rows_moves_no_earlier_forecast() -> None:
    series = daily_counts(240, mean=80)
    first = forecasts.first_target(series, "auto", 7)
    changed = series.values.copy()
    changed[225:] = 0
    before, _ = forecasts.forecast(series, first, 7, "auto")
    after, _ = forecasts.forecast(Series(series.start, series.frequency, changed), first, 7, "auto")
    usable = before.origins < 225  # origins that had not seen the change
    assert usable.sum() > 20
    np.testing.assert_array_equal(before.yhat[usable], after.yhat[usable])
    np.testing.assert_array_equal(before.hi[0.9][usable], after.hi[0.9][usable])
    assert before.method[: usable.sum()] == after.method[: usable.sum()]
    assert not np.array_equal(before.yhat[~usable], after.yhat[~usable])


def test_ours_beats_seasonal_naive_on_a_noisy_weekly_pattern_and_its_interval_holds() -> None:
    series = daily_counts(240, mean=80, seed=7)
    first = forecasts.first_target(series, "auto", 7)
    paths, ratio = forecasts.forecast(series, first, 7, "auto")
    assert ratio[-1] < 1  # repeating last week carries last week's noise
    targets = paths.origins[:, None] + np.arange(1, 8)[None, :]
    seen = targets < len(series.values)
    actual = series.values[np.minimum(targets, len(series.values) - 1)]
    inside = (actual >= paths.lo[0.9]) & (actual <= paths.hi[0.9])
    assert 0.8 <= inside[seen].mean() <= 1.0
    assert np.all(paths.lo[0.8] >= paths.lo[0.95]) and np.all(paths.hi[0.8] <= paths.hi[0.95])


def test_seasonal_naive_repeats_last_week() -> None:
    series = daily_counts(100)
    paths, _ = forecasts.forecast(series, 90, 7, "seasonal-naive")
    origin = int(paths.origins[0])
    assert paths.yhat[0, 0] == series.values[origin - 6]
    assert paths.yhat[0, 6] == series.values[origin]


def test_too_little_history_for_a_backtest_is_refused() -> None:
    series = daily_counts(100)
    with pytest.raises(ValueError, match="not enough data"):
        forecasts.forecast(series, 60, 7, "auto")
