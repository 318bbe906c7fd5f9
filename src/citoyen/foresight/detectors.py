"""Outbreak detectors for daily or weekly series: EARS C1, C2, C3 (CDC), a Farrington-type detector
(quasi-Poisson GLM on comparable past periods, after Farrington et al. 1996 and Noufaily et al. 2013, as R's
`surveillance::farringtonFlexible`), and ours, `seasonal-robust`: a seasonal baseline (the same weekday in past
weeks; the same week in past years moved to the current level) with a robust z-score on its own past residuals.

No look-ahead, by construction: `detect` hands each decision `values[: i + 1]`, the rows up to that date only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from citoyen.foresight.series_io import DAILY, Series

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Decision:
    """One date's verdict: an alarm when `score > threshold`; `expected` is what the method expected there.
    `scale`, for the methods whose score is a z-score, is its unit: expected ± threshold × scale is the range of
    values the method would not have found unusual (what a chart draws as the usual range)."""

    score: float
    threshold: float
    expected: float
    scale: float | None = None

    @property
    def alarm(self) -> bool:
        return bool(self.score > self.threshold)


@dataclass(frozen=True)
class Detection:
    """The decisions from `first` (an index of the series) to its end."""

    method: str
    first: int
    decisions: list[Decision]

    @property
    def alarms(self) -> npt.NDArray[np.bool_]:
        return np.array([d.alarm for d in self.decisions], dtype=bool)


Decide = Callable[[Array, str], Decision | None]


def _ears(history: Array, guard: int, min_sigma: float) -> tuple[float, float, float] | None:
    """EARS' statistic for the last value: (x - mean) / sd over the 7 values before it, `guard` values apart;
    with the mean and the sd."""
    end = len(history) - 1 - guard
    if end < 7:
        return None
    baseline = history[end - 7 : end]
    mean = float(baseline.mean())
    sigma = max(float(baseline.std(ddof=1)), min_sigma)
    return (float(history[-1]) - mean) / sigma, mean, sigma


def _min_sigma(history: Array) -> float:
    # surveillance's earsC takes a minSigma: a flat baseline (often zeros) must not turn one count into an alarm.
    return 0.5 if np.all(history == np.round(history)) else 1e-9


def ears_c1(history: Array, frequency: str) -> Decision | None:
    """C1: the 7 values just before, threshold 3 standard deviations."""
    found = _ears(history, 0, _min_sigma(history))
    return None if found is None else Decision(found[0], 3.0, found[1], found[2])


def ears_c2(history: Array, frequency: str) -> Decision | None:
    """C2: the 7 values before a 2-value guard band, threshold 3."""
    found = _ears(history, 2, _min_sigma(history))
    return None if found is None else Decision(found[0], 3.0, found[1], found[2])


def ears_c3(history: Array, frequency: str) -> Decision | None:
    """C3: the sum of max(0, C2 - 1) over the last 3 values, threshold 2."""
    if len(history) < 12:
        return None
    sigma = _min_sigma(history)
    parts = [_ears(history[: len(history) - k], 2, sigma) for k in range(3)]
    if any(p is None for p in parts):
        return None
    score = sum(max(0.0, p[0] - 1.0) for p in parts if p is not None)
    first = parts[0]
    assert first is not None
    return Decision(score, 2.0, first[1])


def _poisson_irls(y: Array, x: Array, weights: Array, trend: bool) -> tuple[float, float, Array, Array, float]:
    """A Poisson GLM with log link (intercept, and a slope on `x` when `trend`), by iteratively reweighted least
    squares in closed form: (intercept, slope, fitted means, hat values, variance factor of the slope)."""
    mu = np.maximum(y, 0.5)
    eta = np.log(mu)
    a, b = 0.0, 0.0
    for _ in range(30):
        z = eta + (y - mu) / mu
        w = weights * mu
        s0, s1, s2 = w.sum(), (w * x).sum(), (w * x * x).sum()
        t0, t1 = (w * z).sum(), (w * z * x).sum()
        if trend:
            det = s0 * s2 - s1 * s1
            new_a, new_b = (s2 * t0 - s1 * t1) / det, (s0 * t1 - s1 * t0) / det
        else:
            new_a, new_b = t0 / s0, 0.0
        eta = np.minimum(new_a + new_b * x, 30.0)
        mu = np.exp(eta)
        done = abs(new_a - a) + abs(new_b - b) < 1e-8
        a, b = new_a, new_b
        if done:
            break
    w = weights * mu
    s0, s1, s2 = w.sum(), (w * x).sum(), (w * x * x).sum()
    if trend:
        det = s0 * s2 - s1 * s1
        hat = w * (s2 - 2 * s1 * x + s0 * x * x) / det
        slope_variance = s0 / det
    else:
        hat = w / s0
        slope_variance = np.inf
    return a, b, mu, hat, slope_variance


def _upper_quantile(mean: float, phi: float, level: float) -> float:
    """The `level` quantile of a count with this mean and variance `phi * mean`: negative binomial when
    overdispersed, Poisson otherwise (a bisection on the CDF: scipy's generic ppf is slow in this loop).
    scipy is imported here, not with the module: only Farrington needs it, and importing scipy.special takes
    seconds that the app's detectors (ours and EARS) and the demo build would otherwise pay."""
    from scipy import special

    if phi > 1.0001:
        size = mean / (phi - 1)
        probability = size / (size + mean)

        def cdf(k: int) -> float:
            return float(special.betainc(size, k + 1.0, probability))
    else:

        def cdf(k: int) -> float:
            return float(special.gammaincc(k + 1.0, mean))

    low, high = 0, int(mean + 12 * np.sqrt(phi * mean) + 10)
    while low < high:
        middle = (low + high) // 2
        if cdf(middle) >= level:
            high = middle
        else:
            low = middle + 1
    return float(low)


def _reference(history: Array, frequency: str, years: int = 3, window: int = 3) -> tuple[Array, Array] | None:
    """Farrington's comparable periods for the last date, as (times relative to it, values): for weekly data the
    weeks within `window` of the same week in each of up to `years` past years; for daily data the same weekday
    in the 12 weeks before (a year of daily data is rarely all a city has, and a weekday is daily data's season)."""
    t = len(history) - 1
    if frequency == DAILY:
        lags = np.arange(1, 13) * 7
    else:
        lags = np.array([52 * k - j for k in range(1, years + 1) for j in range(-window, window + 1)])
    lags = lags[lags <= t]
    if frequency != DAILY and len(lags) < 2 * window + 1:
        return None
    if len(lags) < 6:
        return None
    return -lags.astype(np.float64), history[t - lags]


def farrington(
    history: Array, frequency: str, alpha: float = 0.01, limit_cases: float = 5, limit_periods: int = 4
) -> Decision | None:
    """Farrington-type: quasi-Poisson GLM with a linear trend on the comparable past periods, the trend kept only
    when significant (5 %) and not extrapolating past the largest reference value; past outbreaks down-weighted
    by their Anscombe residuals (> 2.58, Noufaily et al.); the threshold is the (1 - alpha) quantile of a
    negative binomial with the fitted mean and overdispersion. No alarm while the last `limit_periods` values
    sum below `limit_cases` (surveillance's limit54)."""
    reference = _reference(history, frequency)
    if reference is None:
        return None
    times, y = reference
    n = len(y)
    expected, phi = 0.0, 1.0
    if float(y.sum()) > 0.0:
        x = times / max(float(np.abs(times).max()), 1.0)
        weights = np.ones(n)
        for _ in range(2):  # a first fit, then one refit with past outbreaks down-weighted
            a, b, mu, hat, slope_variance = _poisson_irls(y, x, weights, True)
            phi = max(1.0, float(np.sum(weights * (y - mu) ** 2 / mu)) / max(n - 2, 1))
            if abs(b) < 1.96 * np.sqrt(phi * slope_variance) or np.exp(a) > y.max():
                a, b, mu, hat, _ = _poisson_irls(y, x, weights, False)
                phi = max(1.0, float(np.sum(weights * (y - mu) ** 2 / mu)) / max(n - 1, 1))
            expected = float(np.exp(a))
            spread = mu ** (1 / 6) * np.sqrt(phi * np.maximum(1 - hat, 1e-6))
            anscombe = 1.5 * (np.cbrt(y) ** 2 - np.cbrt(mu) ** 2) / spread
            weights = np.where(anscombe > 2.58, 1.0 / np.maximum(anscombe, 1e-6) ** 2, 1.0)
            weights = weights * n / weights.sum()
    threshold = _upper_quantile(expected, phi, 1 - alpha) if expected > 0 else 0.0
    value = float(history[-1])
    if float(history[-limit_periods:].sum()) < limit_cases:
        return Decision(value, max(threshold, value), expected)
    return Decision(value, threshold, expected)


def _seasonal_expected(history: Array, frequency: str, points: int) -> Array | None:
    """The seasonal baseline for each of the last `points` values, each from the values before it only: daily,
    the median of the same weekday in the 8 weeks before; weekly, the median of the 8 weeks before plus the
    median over up to 3 past years of how far that year's same week (and the 2 weeks either side) stood from its
    own 8 weeks before."""
    n = len(history)
    targets = np.arange(n - points, n)
    if frequency == DAILY:
        if targets[0] < 56:
            return None
        lagged = np.stack([history[targets - 7 * k] for k in range(1, 9)])
        return np.median(lagged, axis=0)
    if targets[0] < 8:
        return None
    level = np.median(np.stack([history[targets - k] for k in range(1, 9)]), axis=0)
    offsets = []
    for year in range(1, 4):
        for shift in (-2, -1, 0, 1, 2):
            past = targets - 52 * year + shift
            if past[0] < 8 or past[-1] >= targets[0]:
                continue
            past_level = np.median(np.stack([history[past - k] for k in range(1, 9)]), axis=0)
            offsets.append(history[past] - past_level)
    if not offsets:
        return level
    return np.asarray(level + np.median(np.stack(offsets), axis=0), dtype=np.float64)


def _weekday_trend_expected(history: Array, points: int, level_days: int = 84, profile_days: int = 182) -> Array:
    """Daily counts' baseline for each of the last `points` values, each from the values before it only: a weekday
    profile (each weekday's share, over up to `profile_days` before, whole weeks) times a local linear trend
    fitted on the profile-adjusted values of up to `level_days` before, extrapolated to the day; the fit is
    done twice, values more than 2.58 robust standard deviations above it down-weighted the second time (past
    outbreaks, as Farrington does). Pooling the weekdays this way is much less noisy than the median of the same
    weekday over 8 weeks (whose noise made ours miss outbreaks on the bench's simulated counts), and the trend
    follows a yearly season without lagging behind it."""
    n = len(history)
    first = n - points
    weeks = max(8, min(profile_days, first) // 7)
    depth = min(level_days, weeks * 7)
    # Only the rows the baselines read: the cost of a decision does not grow with the history.
    start = first - weeks * 7
    values = history[start:]
    targets = np.arange(first, n) - start
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    by_weekday = np.zeros(len(values) + 7)  # by_weekday[p + 7]: values[p] + values[p - 7] + ...
    for weekday in range(7):
        by_weekday[7 + weekday :: 7] = np.cumsum(values[weekday::7])
    lags = np.arange(1, 8)
    before = targets[:, None] - lags[None, :]  # (points, 7): lag class j + 1 is the weekday of target - j - 1
    sums = by_weekday[before + 7] - by_weekday[before + 7 - 7 * weeks]
    mean = (cumulative[targets] - cumulative[targets - 7 * weeks]) / (7 * weeks)
    profile = np.maximum(sums / weeks / np.maximum(mean, 1e-9)[:, None], 1e-3)  # (points, 7)
    lag = np.arange(1, depth + 1)
    factors = profile[:, (lag - 1) % 7]  # (points, depth): the profile of the day `lag` days before
    observed = values[targets[:, None] - lag[None, :]]
    adjusted = observed / factors
    x = -lag.astype(np.float64)[None, :]
    weights = np.ones_like(adjusted)
    for _ in range(2):
        s0, s1, s2 = weights.sum(axis=1), (weights * x).sum(axis=1), (weights * x * x).sum(axis=1)
        t0, t1 = (weights * adjusted).sum(axis=1), (weights * x * adjusted).sum(axis=1)
        determinant = s0 * s2 - s1 * s1
        intercept = (s2 * t0 - s1 * t1) / determinant
        slope = (s0 * t1 - s1 * t0) / determinant
        fitted = np.maximum((intercept[:, None] + slope[:, None] * x) * factors, 0.5)
        pearson = (observed - fitted) / np.sqrt(fitted)
        spread = np.maximum(1.4826 * np.median(np.abs(pearson), axis=1), 1e-9)[:, None]
        high = pearson / spread
        weights = np.where(high > 2.58, (2.58 / np.maximum(high, 1e-9)) ** 2, 1.0)
    return np.asarray(np.maximum(intercept * profile[:, 6], 0.0), dtype=np.float64)


def _trimmed_variance(values: Array) -> float:
    """The variance of the values within 3 robust standard deviations of their median (scaled back to a normal's:
    a variance is 2.7 times as efficient as the squared median absolute deviation, so the threshold moves less
    with the luck of the last weeks)."""
    centre = float(np.median(values))
    spread = 1.4826 * float(np.median(np.abs(values - centre)))
    kept = values[np.abs(values - centre) <= 3 * spread]
    return float(np.var(kept)) / 0.9733 if len(kept) > 1 else 0.0


def _seasonal_robust_counts(history: Array, threshold: float, persistence: float) -> Decision | None:
    """Ours on daily counts: the weekday-profile-and-trend baseline; the score is the Pearson residual
    (value - expected) / sqrt(phi * expected), phi being the dispersion of the baseline's own Pearson residuals
    over the 8 weeks before (their trimmed variance, at least 1: counts vary at least as a Poisson's)."""
    span = 56
    if len(history) - span - 1 < 56:
        return None
    expected = _weekday_trend_expected(history, span + 1)
    means = np.maximum(expected, 0.5)
    pearson = (history[-(span + 1) :] - means) / np.sqrt(means)
    phi = max(_trimmed_variance(pearson[:-1]), 1.0)
    z = pearson[-3:] / np.sqrt(phi)
    run = float(np.maximum(z - 1.5, 0).sum()) * threshold / persistence
    score = max(float(z[-1]), run if z[-1] > 1.5 else 0.0)
    return Decision(score, threshold, float(expected[-1]), float(np.sqrt(phi * means[-1])))


def seasonal_robust(
    history: Array, frequency: str, threshold: float | None = None, persistence: float | None = None
) -> Decision | None:
    """Ours: the robust z-score of the last value against its seasonal baseline, the scale being the median
    absolute deviation of the baseline's own errors over the 8 weeks (daily) or 26 weeks (weekly) before it.
    Score = max(z, the sum of max(0, z - 1.5) over the last 3 values scaled to the single-value threshold),
    so a sharp spike or a smaller rise that lasts both fire. Thresholds 2.75 (daily) and 2.5 (weekly), chosen on
    simulated series (bench/foresight.py --quick --seed 15) for a false-alarm rate near 1 %."""
    counts = bool(np.all(history == np.round(history)))
    if frequency == DAILY and counts:
        return _seasonal_robust_counts(history, 2.6 if threshold is None else threshold, persistence or 3.5)
    if threshold is None or persistence is None:
        threshold, persistence = (2.75, 3.5) if frequency == DAILY else (2.5, 3.0)
    span = 56 if frequency == DAILY else 26
    expected = _seasonal_expected(history, frequency, span + 1)
    if expected is None:
        return None
    recent = history[-(span + 1) :]
    residuals = recent - expected
    past = residuals[:-1]
    scale = 1.4826 * float(np.median(np.abs(past - np.median(past))))
    e_now = float(expected[-1])
    # Counts: never tighter than half the Poisson noise.
    floor = 0.5 * np.sqrt(max(e_now, 1.0)) if counts else max(1e-3 * abs(e_now), 1e-9)
    scale = max(scale, floor)
    z = residuals[-3:] / scale
    run = float(np.maximum(z - 1.5, 0).sum()) * threshold / persistence
    return Decision(max(float(z[-1]), run if z[-1] > 1.5 else 0.0), threshold, e_now, scale)


METHODS: dict[str, Decide] = {
    "seasonal-robust": seasonal_robust,
    "farrington": farrington,
    "ears-c1": ears_c1,
    "ears-c2": ears_c2,
    "ears-c3": ears_c3,
}
DEFAULT_METHOD = "seasonal-robust"


def first_decidable(series: Series, method: str) -> int | None:
    """The first index where `method` has enough past to decide (None when the whole series is too short)."""
    decide = METHODS[method]
    for i in range(len(series.values)):
        if decide(series.values[: i + 1], series.frequency) is not None:
            return i
    return None


def detect(series: Series, first: int, method: str = DEFAULT_METHOD) -> Detection:
    """The decision for every index from `first`, each computed from the rows up to it only; an index without
    enough past for the method raises ValueError (callers check `first_decidable`)."""
    decide = METHODS[method]
    decisions = []
    for i in range(first, len(series.values)):
        decision = decide(series.values[: i + 1], series.frequency)
        if decision is None:
            raise ValueError(f"not enough data before {series.date_at(i)} for {method}")
        decisions.append(decision)
    return Detection(method, first, decisions)
