"""Forecasts of daily or weekly series, each made at an origin with the rows up to that origin only.

Baselines: seasonal naive (the same weekday last week; the same week last year), ETS (additive errors, damped
additive trend, additive season; parameters fitted by statsmodels' ETSModel) and SARIMA-type
(1,0,1)(0,1,1)[period], fitted by conditional sum of squares: statsmodels' SARIMAX took 8.5 s per daily fit and
over 7 minutes per weekly one on this machine, too slow to refit along a backtest. Parameters are refitted every
`refit` origins on the rows up to that origin; in between the fitted model only takes in the new rows.

Ours (`auto`): at each origin, the candidate (seasonal naive, ETS, SARIMA, or the mean of ETS and SARIMA) with
the smallest mean absolute error over the recent rolling-origin backtest (targets already observed at that
origin); its 80/90/95 % intervals are the empirical quantiles of ours' own past errors (the choice included) at
the same horizon, which keeps their coverage honest where a model's own intervals are too narrow.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import optimize, signal, special

from citoyen.foresight.series_io import DAILY, Series

Array = npt.NDArray[np.float64]
LEVELS = (0.8, 0.9, 0.95)
BASELINES = ("seasonal-naive", "ets", "sarima")
CANDIDATES = (*BASELINES, "ets+sarima")
METHODS = ("auto", *BASELINES)
DEFAULT_METHOD = "auto"


@dataclass(frozen=True)
class Paths:
    """Forecasts at origins `origins` (indices of the last row each one may use): `yhat[i, h - 1]` for horizon h,
    and the interval bounds `lo[level][i, h - 1]`, `hi[level][i, h - 1]`; `method[i]` is what made row i."""

    origins: npt.NDArray[np.int64]
    yhat: Array
    lo: dict[float, Array]
    hi: dict[float, Array]
    method: list[str]


def _z(level: float) -> float:
    return float(np.sqrt(2) * special.erfinv(level))


def _normal_paths(origins: npt.NDArray[np.int64], yhat: Array, sd: Array, name: str) -> Paths:
    lo = {level: np.maximum(yhat - _z(level) * sd, 0.0) for level in LEVELS}
    hi = {level: yhat + _z(level) * sd for level in LEVELS}
    return Paths(origins, yhat, lo, hi, [name] * len(origins))


def seasonal_naive(values: Array, period: int, origins: npt.NDArray[np.int64], horizon: int) -> Paths:
    """The value one period before the target; its sd from the seasonal differences of the year (daily: the 52
    weeks) before the origin, widened with every further period ahead."""
    steps = np.arange(1, horizon + 1)
    yhat = values[origins[:, None] - period + 1 + (steps[None, :] - 1) % period]
    differences = np.full(len(values), np.nan)
    differences[period:] = values[period:] - values[:-period]
    window = 364 if period == 7 else 156
    sd = np.array([np.nanstd(differences[max(period, o - window + 1) : o + 1]) for o in origins])
    sd = np.where(np.isfinite(sd), sd, 0.0)[:, None] * np.sqrt(1 + (steps[None, :] - 1) // period)
    return _normal_paths(origins, yhat, sd, "seasonal-naive")


class _Ets:
    """ETS(A, Ad, A): fitted by statsmodels on the rows up to a refit origin, then rolled forward row by row."""

    def __init__(self, period: int) -> None:
        self.period = period

    def fit(self, window: Array) -> None:
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = ETSModel(
                window,
                error="add",
                trend="add",
                damped_trend=True,
                seasonal="add",
                seasonal_periods=self.period,
                initialization_method="heuristic",
            )
            result = model.fit(disp=False, maxiter=200)
        self.alpha, self.beta, self.gamma, self.phi = (float(v) for v in result.params[:4])
        states = np.asarray(result.states)
        self.level, self.trend = float(states[-1, 0]), float(states[-1, 1])
        self.season = list(states[-self.period :, 2])
        self.sigma2 = float(np.mean(np.asarray(result.resid)[self.period :] ** 2))

    def update(self, value: float) -> None:
        expected = self.level + self.phi * self.trend + self.season[0]
        error = value - expected
        self.level, self.trend = (
            self.level + self.phi * self.trend + self.alpha * error,
            self.phi * self.trend + self.beta * error,
        )
        self.season = [*self.season[1:], self.season[0] + self.gamma * error]

    def forecast(self, horizon: int) -> tuple[Array, Array]:
        steps = np.arange(1, horizon + 1)
        damping = np.cumsum(self.phi**steps)
        yhat = self.level + damping * self.trend + np.array([self.season[(h - 1) % self.period] for h in steps])
        c = self.alpha + self.beta * damping + self.gamma * (steps % self.period == 0)
        variance = self.sigma2 * (1 + np.concatenate([[0.0], np.cumsum(c[:-1] ** 2)]))
        return yhat, np.sqrt(variance)


class _Sarima:
    """(1 - phi B)(1 - B^p) y_t = (1 + theta B)(1 + Theta B^p) e_t, by conditional sum of squares."""

    def __init__(self, period: int) -> None:
        self.period = period

    def _polynomials(self, params: Array) -> tuple[Array, Array]:
        phi, theta, seasonal_theta = params
        ma = np.zeros(self.period + 2)
        ma[0], ma[1], ma[self.period], ma[self.period + 1] = 1.0, theta, seasonal_theta, theta * seasonal_theta
        return np.array([1.0, -phi]), ma

    def _errors(self, params: Array, window: Array) -> Array:
        ar, ma = self._polynomials(params)
        differenced = window[self.period :] - window[: -self.period]
        return np.asarray(signal.lfilter(ar, ma, differenced), dtype=np.float64)

    def fit(self, window: Array) -> None:
        def loss(params: Array) -> float:
            return float(np.mean(self._errors(params, window)[self.period :] ** 2))

        bounds = [(-0.98, 0.98)] * 3
        # Refits along a backtest start from the previous fit's parameters: the window moved by a few weeks.
        start = getattr(self, "params", np.array([0.3, 0.0, -0.5]))
        result = optimize.minimize(loss, start, bounds=bounds, method="L-BFGS-B")
        self.params = np.asarray(result.x, dtype=np.float64)
        self.sigma2 = float(result.fun)
        ar, ma = self._polynomials(self.params)
        full_ar = np.convolve(ar, np.r_[1.0, np.zeros(self.period - 1), -1.0])
        impulse = np.zeros(64)
        impulse[0] = 1.0
        self.psi = np.asarray(signal.lfilter(ma, full_ar, impulse), dtype=np.float64)
        self.window = window

    def update(self, value: float) -> None:
        self.window = np.append(self.window, value)

    def forecast(self, horizon: int) -> tuple[Array, Array]:
        p = self.period
        errors = self._errors(self.params, self.window)
        differenced = list(self.window[p:] - self.window[:-p])
        error_list = list(errors)
        phi, theta, seasonal_theta = self.params
        history = list(self.window)
        yhat = []
        for _ in range(horizon):
            w = phi * differenced[-1] + theta * error_list[-1]
            w += seasonal_theta * error_list[-p] + theta * seasonal_theta * error_list[-p - 1]
            differenced.append(w)
            error_list.append(0.0)
            history.append(w + history[-p])
            yhat.append(history[-1])
        variance = self.sigma2 * np.cumsum(self.psi[:horizon] ** 2)
        return np.asarray(yhat), np.sqrt(variance)


def _model_paths(
    model: _Ets | _Sarima,
    values: Array,
    origins: npt.NDArray[np.int64],
    horizon: int,
    refit: int,
    window: int,
    name: str,
) -> Paths:
    """Refit at the first origin and every `refit` origins after it (on up to `window` rows up to the origin);
    between refits the model takes in each new row. Origins must be increasing."""
    yhat = np.zeros((len(origins), horizon))
    sd = np.zeros((len(origins), horizon))
    fitted_at: int | None = None
    last = int(origins[0])
    for i, origin in enumerate(origins):
        if fitted_at is None or origin - fitted_at >= refit:
            model.fit(values[max(0, origin + 1 - window) : origin + 1])
            fitted_at = origin
            last = origin
        for value in values[last + 1 : origin + 1]:
            model.update(float(value))
        last = origin
        yhat[i], sd[i] = model.forecast(horizon)
    return _normal_paths(origins, np.maximum(yhat, 0.0), sd, name)


def baseline_paths(series: Series, origins: npt.NDArray[np.int64], horizon: int, method: str) -> Paths:
    """One baseline's forecasts at each origin, with its own (normal) intervals."""
    period = series.period
    daily = series.frequency == DAILY
    if method == "seasonal-naive":
        return seasonal_naive(series.values, period, origins, horizon)
    refit = 28 if daily else 13
    window = 730 if daily else 520
    model: _Ets | _Sarima = _Ets(period) if method == "ets" else _Sarima(period)
    return _model_paths(model, series.values, origins, horizon, refit, window, method)


def min_history(series: Series) -> int:
    """Rows a model needs before its first origin: two full seasons and then some."""
    return 56 if series.frequency == DAILY else 2 * 52 + 4


def backtest_window(series: Series) -> int:
    """How many recent origins the automatic choice scores candidates on: 90 days, or 52 weeks."""
    return 90 if series.frequency == DAILY else 52


def auto_paths(series: Series, origins: npt.NDArray[np.int64], horizon: int) -> tuple[Paths, Array]:
    """Ours at each origin: the candidate with the smallest recent backtest error, with intervals from past errors
    per horizon. Also returns, per origin, the chosen candidate's backtest error over seasonal naive's (below 1:
    it beats seasonal naive).

    The intervals are calibrated on ours' own past errors (the choice included), not on the chosen candidate's:
    the candidate chosen is the one whose recent errors happened to be smallest, so its own errors are an
    optimistic sample and intervals built on them hold less often than they say. Where ours has no past
    forecast yet (the first origins of a series barely long enough), the chosen candidate's errors stand in."""
    window = backtest_window(series)
    span = window + horizon  # the backtest rows an origin scores on
    first = int(origins[0]) - span
    if first < min_history(series):
        raise ValueError("not enough data before the first origin for a backtest")
    # Up to one more backtest window before the first origin, when the series has it: ours' own forecasts there.
    first = max(min_history(series), first - span)
    history = np.arange(first, int(origins[-1]) + 1)
    candidates = {name: baseline_paths(series, history, horizon, name) for name in BASELINES}
    candidates["ets+sarima"] = Paths(
        history, (candidates["ets"].yhat + candidates["sarima"].yhat) / 2, {}, {}, ["ets+sarima"] * len(history)
    )
    n = len(series.values)
    steps = np.arange(1, horizon + 1)
    targets = history[:, None] + steps[None, :]
    actual = np.where(targets < n, series.values[np.minimum(targets, n - 1)], np.nan)
    errors = np.stack([actual - candidates[name].yhat for name in CANDIDATES])  # (candidates, rows, horizon)
    # Each row's recent score per candidate: the mean absolute error over the rows [row - span, row) whose target
    # is already observed at that row (row j, horizon k + 1: j + k + 1 <= row), from running sums per horizon.
    rows = np.arange(len(history))
    running = np.zeros((len(CANDIDATES), len(history) + 1, horizon))
    np.cumsum(np.nan_to_num(np.abs(errors)), axis=1, out=running[:, 1:])
    start = np.maximum(rows - span, 0)[:, None]
    stop = np.maximum(rows[:, None] - np.arange(horizon)[None, :], start)  # (rows, horizon), exclusive
    sums = (running[:, stop, np.arange(horizon)] - running[:, start, np.arange(horizon)]).sum(axis=2)
    counts = (stop - start).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = sums / counts  # (candidates, rows)
    best = np.argmin(scores, axis=0)
    own_yhat = errors[0] * np.nan
    own_rows = rows >= span  # rows with a full backtest window before them: ours is defined there
    own_yhat[own_rows] = np.stack([candidates[name].yhat for name in CANDIDATES])[best, rows][own_rows]
    own_errors = actual - own_yhat
    # Intervals at every row from the first with a full backtest window before it, so that the adaptive
    # miscoverage below has learned from the rows before the first origin.
    begin = span
    lo_rows = np.zeros((len(LEVELS), len(history), horizon))
    hi_rows = np.zeros((len(LEVELS), len(history), horizon))
    nominal = 1 - np.array(LEVELS)[:, None]  # (levels, 1)
    miss = np.repeat(nominal, horizon, axis=1)  # (levels, horizon): the miscoverage each interval is built for
    step = 1.0 / span  # a whole backtest window of intervals that held doubles the miscoverage allowed
    for row in range(begin, len(history)):
        origin = int(history[row])
        # Adaptive conformal inference (Gibbs and Candès 2021), per level and horizon: each interval whose target
        # has just been observed moves its miscoverage by step x (nominal - missed), so that over time the
        # intervals hold as often as they say even when the recent errors are not like the next ones.
        for k in range(horizon):
            made = row - k - 1
            if made >= begin and np.isfinite(actual[made, k]):
                value = actual[made, k]
                missed = (value < lo_rows[:, made, k]) | (value > hi_rows[:, made, k])
                miss[:, k] += step * (nominal[:, 0] - missed)
        pick = int(best[row])
        # Per horizon, the empirical quantiles of the known past errors, all horizons at once: unknown errors are
        # NaN, which sorting puts last; with n known errors at a horizon, a finite-sample correction (split
        # conformal) takes the quantile at (n + 1) / n the level, interpolated as np.quantile.
        recent = slice(row - span, row)
        past = np.where(own_rows[recent, None], own_errors[recent], errors[pick, recent])
        past = np.where(targets[recent] <= origin, past, np.nan)
        ordered = np.sort(past, axis=0)
        known = np.isfinite(past).sum(axis=0)
        uppers = np.clip((1 - np.clip(miss, 0.0, 1.0) / 2) * (known + 1) / known, 0.5, 1.0)  # (levels, horizon)
        for j in range(len(LEVELS)):
            lo_rows[j, row] = own_yhat[row] + _sorted_quantile(ordered, known, 1 - uppers[j])
            hi_rows[j, row] = own_yhat[row] + _sorted_quantile(ordered, known, uppers[j])
    rows_at = (origins - first).astype(np.int64)
    yhat = own_yhat[rows_at]
    lo = {level: np.maximum(0.0, lo_rows[j, rows_at]) for j, level in enumerate(LEVELS)}
    hi = {level: hi_rows[j, rows_at] for j, level in enumerate(LEVELS)}
    naive = CANDIDATES.index("seasonal-naive")
    chosen = [CANDIDATES[int(best[row])] for row in rows_at]
    picked = scores[best[rows_at], rows_at]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(scores[naive, rows_at] > 0, picked / scores[naive, rows_at], 1.0)
    return Paths(origins, yhat, lo, hi, chosen), ratio


def _sorted_quantile(ordered: Array, n: npt.NDArray[np.int64], q: Array) -> Array:
    """Per column, the q quantile of its first n values (sorted), with np.quantile's linear interpolation."""
    position = (n - 1) * q
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, n - 1)
    columns = np.arange(ordered.shape[1])
    low, high = ordered[below, columns], ordered[above, columns]
    return np.asarray(low + (high - low) * (position - below), dtype=np.float64)


def forecast(series: Series, first_target: int, horizon: int, method: str = DEFAULT_METHOD) -> tuple[Paths, Array]:
    """Forecasts for every target index from `first_target` up to `horizon` past the series' end, each target and
    horizon h made at origin target - h: one row of `Paths` per origin (first_target - horizon .. the last
    index). The second value is, per origin, the backtest error over seasonal naive's (NaN for a baseline)."""
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    origins = np.arange(max(first_target - horizon, 0), len(series.values), dtype=np.int64)
    # One BLAS thread: the fits are of 3 or 4 parameters, where more threads only wait on each other (on the
    # loaded 2-core machine they took 2.3 times the processor time of one thread, for the same result).
    with threadpool_limits(1):
        if method == "auto":
            return auto_paths(series, origins, horizon)
        return baseline_paths(series, origins, horizon, method), np.full(len(origins), np.nan)


def first_target(series: Series, method: str, horizon: int) -> int:
    """The first target index a method can forecast at every horizon with its history and, for ours, its backtest."""
    need = min_history(series) + horizon
    return need + backtest_window(series) + horizon if method == "auto" else need
