"""Eco-feedback's arithmetic: normalisation per m², per day and per degree-day; the ≥ 10 rule; percentile and
quartile. Pure functions, no database."""

from __future__ import annotations

import pytest

from citoyen.indicators.ecofeedback import Usage, change, compare, degree_days, normalised


def test_degree_days_count_only_days_below_18_degrees() -> None:
    assert degree_days([10.0, 18.0, 20.0, 17.5]) == pytest.approx(8.5)


def test_heating_is_per_m2_and_degree_day_in_wh() -> None:
    # 28 days, 2,800 kWh over 1,000 m² and 280 degree-days: 10 Wh per m² per degree-day.
    assert normalised("heating", Usage(2800.0, 28), 1000, 28, 280.0) == pytest.approx(10.0)


def test_electricity_and_water_are_per_m2_and_day() -> None:
    assert normalised("electricity", Usage(560.0, 28), 1000, 28) == pytest.approx(20.0)  # Wh/m²/day
    assert normalised("water", Usage(28.0, 28), 500, 28) == pytest.approx(2.0)  # L/m²/day


def test_missing_days_are_scaled_not_read_as_savings_and_too_many_missing_drop_the_building() -> None:
    full = normalised("electricity", Usage(560.0, 28), 1000, 28)
    assert normalised("electricity", Usage(540.0, 27), 1000, 28) == pytest.approx(full)
    assert normalised("electricity", Usage(400.0, 20), 1000, 28) is None  # under 90 % of the days
    assert normalised("heating", Usage(2800.0, 28), 1000, 28, None) is None  # no temperature, no degree-days
    assert normalised("water", None, 1000, 28) is None


def test_nine_peers_give_no_comparison_ten_do() -> None:
    assert compare(5.0, [float(value) for value in range(9)]) is None
    comparison = compare(5.0, [float(value) for value in range(10)])
    assert comparison is not None
    assert comparison.peers == 10


def test_percentile_quartile_and_difference() -> None:
    peers = [float(value) for value in range(1, 13)]  # 1..12
    comparison = compare(9.1, peers)
    assert comparison is not None
    assert comparison.median == pytest.approx(6.5)
    assert comparison.efficient == pytest.approx(3.75)  # the first quartile: a quarter use this much or less
    assert comparison.percentile == 75  # 9 of the 12 use less
    assert comparison.difference == pytest.approx(40.0)  # 9.1 is 40 % above the median 6.5
    alone = compare(None, peers)
    assert alone is not None and alone.percentile is None and alone.difference is None


def test_change_in_percent() -> None:
    assert change(11.0, 10.0) == pytest.approx(10.0)
    assert change(None, 10.0) is None
