"""The rule that makes a quartier's weekly figure news (citoyen.indicators.changes): outside the range of the weeks
before it and far enough from their mean, with enough weeks to compare and, for a count, enough to count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from citoyen.indicators.changes import judge, judged_week

WEEK = datetime(2026, 11, 30, tzinfo=UTC)
USUAL = (20.0, 22.0, 19.0, 21.0, 20.0, 23.0, 18.0, 21.0)  # mean 20.5, from 18 to 23


def weeks(value: float | None, before: tuple[float | None, ...] = USUAL) -> dict[datetime, float]:
    figures: dict[datetime, float | None] = {
        WEEK - timedelta(days=7 * number): figure for number, figure in enumerate(before, start=1)
    }
    figures[WEEK] = value
    return {moment: figure for moment, figure in figures.items() if figure is not None}


@pytest.mark.parametrize(
    ("now", "week"),
    [
        (datetime(2026, 12, 8, 12, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC)),  # Tuesday: last week
        (datetime(2026, 12, 7, 7, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC)),  # Monday morning, settled
        (datetime(2026, 12, 7, 3, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC)),  # not yet: the week before
    ],
)
def test_the_week_judged_is_the_last_one_over_for_six_hours(now: datetime, week: datetime) -> None:
    assert judged_week(now) == week


def test_a_figure_above_the_range_and_far_from_the_mean_is_a_change() -> None:
    found = judge(weeks(30.0), WEEK, count=False)
    assert found is not None
    assert (found.value, found.weeks, found.mean, found.low, found.high) == (30.0, 8, 20.5, 18.0, 23.0)
    assert round(found.ratio, 3) == 0.463
    fall = judge(weeks(10.0), WEEK, count=True)
    assert fall is not None and round(fall.ratio, 2) == -0.51


@pytest.mark.parametrize(
    ("figures", "count"),
    [
        (weeks(23.0), False),  # within the range
        (weeks(24.0), False),  # above the range, but only 17 % above the mean
        (weeks(None), False),  # no figure this week
        (weeks(40.0, (20.0, 21.0, 19.0, 20.0, 22.0, None, None, None)), False),  # five weeks to compare: too few
        (weeks(4.0, (1.0, 2.0, 1.0, 1.0, 2.0, 1.0, 2.0, 1.0)), True),  # a count too small to mean anything
        (weeks(3.0, (0.0,) * 8), False),  # from nothing: no percentage to give
    ],
)
def test_what_is_not_a_change(figures: dict[datetime, float], count: bool) -> None:
    assert judge(figures, WEEK, count=count) is None


def test_a_count_counts_zero_in_weeks_without_any_once_it_exists() -> None:
    # A quartier with reports in half of the weeks and none in the others: those weeks are 0, not unknown.
    sparse = {WEEK - timedelta(days=7 * number): 6.0 for number in (1, 2, 4, 7)}
    sparse[WEEK] = 12.0
    assert judge(sparse, WEEK, count=True) is None  # without zeros: four weeks, too few
    found = judge(sparse, WEEK, count=True, zero_from=WEEK - timedelta(days=7 * 20))
    assert found is not None and (found.weeks, found.mean, found.low) == (8, 3.0, 0.0)
    # Before the city's first report, a week without any is not 0: there was nothing to count yet.
    assert judge(sparse, WEEK, count=True, zero_from=WEEK - timedelta(days=7 * 3)) is None
