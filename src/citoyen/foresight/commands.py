"""`citoyen foresight detect | forecast | scan`: the methods on a city's own CSV files, without the running app.
Bad input exits 2 with a message naming the line; a result always says which method made it. The methods are
imported when a command runs: scipy and statsmodels stay out of every other `citoyen` command's start-up."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, NoReturn

import numpy as np
import typer

from citoyen.foresight.series_io import InputError, Series, number, parse_day, read_events, read_series, write_csv

foresight_app = typer.Typer(
    help="Alerts, forecasts and clusters on your own CSV files (scored against the classic baselines).",
    no_args_is_help=True,
)

SeriesOption = Annotated[Path, typer.Option("--series", help="CSV with columns date,value (daily or weekly).")]
FromOption = Annotated[str, typer.Option("--from", help="First date to decide or forecast (YYYY-MM-DD).")]
OutOption = Annotated[Path, typer.Option("--out", help="CSV file to write.")]


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _load(path: Path, start: str) -> tuple[Series, date]:
    try:
        day = parse_day(start)
    except ValueError as exc:
        _fail(f"--from: {exc}")
    try:
        series = read_series(path)
    except InputError as exc:
        _fail(f"{path}: {exc}")
    return series, day


def _too_short(path: Path, series: Series, first: int | None, day: date, need: str) -> None:
    """Refuse a --from that leaves too little history before it (never a silent or made-up verdict)."""
    last_line = len(series.values) + 1
    if first is None or first >= len(series.values):
        _fail(f"{path}: line {last_line}: too short: {len(series.values)} rows; {need}")
    if series.index_of(day) < first:
        _fail(f"--from {day}: too early: the first date with enough history is {series.date_at(first)} ({need})")


@foresight_app.command("detect")
def detect(
    series_path: SeriesOption,
    start: FromOption,
    out: OutOption,
    method: Annotated[
        str, typer.Option("--method", help="seasonal-robust (ours), farrington, ears-c1, ears-c2 or ears-c3.")
    ] = "seasonal-robust",
) -> None:
    """For each date from --from, an alarm (0/1) decided with the rows up to that date only, with its score,
    threshold (alarm when score > threshold) and the value the method expected."""
    from citoyen.foresight import detectors

    if method not in detectors.METHODS:
        _fail(f"--method {method!r}: choose one of {', '.join(detectors.METHODS)}")
    series, day = _load(series_path, start)
    first = detectors.first_decidable(series, method)
    _too_short(series_path, series, first, day, f"{method} needs more history before its first decision")
    begin = series.index_of(day)
    if begin >= len(series.values):
        last = series.date_at(len(series.values) - 1)
        _fail(f"--from {day} is after the last date of {series_path}, {last} (line {len(series.values) + 1})")
    detection = detectors.detect(series, begin, method)
    rows = (
        (series.date_at(begin + i), int(d.alarm), number(d.score), number(d.threshold), number(d.expected))
        for i, d in enumerate(detection.decisions)
    )
    written = write_csv(out, ("date", "alarm", "score", "threshold", "expected"), rows)
    typer.echo(f"{method}: {written} dates, {int(detection.alarms.sum())} alarms -> {out}")


@foresight_app.command("forecast")
def forecast(
    series_path: SeriesOption,
    start: FromOption,
    out: OutOption,
    horizon: Annotated[int, typer.Option("--horizon", min=1, max=28, help="Steps ahead (days or weeks).")] = 7,
    method: Annotated[
        str, typer.Option("--method", help="auto (ours: the best on its backtest), seasonal-naive, ets or sarima.")
    ] = "auto",
) -> None:
    """For every target date from --from (up to --horizon past the last row) and each horizon h, the forecast
    made at the date h steps before with the rows up to it only, and its 90 % interval."""
    from citoyen.foresight import forecasts

    if method not in forecasts.METHODS:
        _fail(f"--method {method!r}: choose one of {', '.join(forecasts.METHODS)}")
    series, day = _load(series_path, start)
    first = forecasts.first_target(series, method, horizon)
    _too_short(series_path, series, first, day, f"{method} needs {first} rows before its first target")
    target = series.index_of(day)
    paths, ratio = forecasts.forecast(series, target, horizon, method)
    rows = []
    for i, origin in enumerate(paths.origins):
        for h in range(1, horizon + 1):
            if origin + h >= target:
                rows.append(
                    (
                        series.date_at(int(origin) + h),
                        h,
                        number(paths.yhat[i, h - 1]),
                        number(paths.lo[0.9][i, h - 1]),
                        number(paths.hi[0.9][i, h - 1]),
                        paths.method[i],
                    )
                )
    rows.sort(key=lambda row: (row[0], row[1]))
    written = write_csv(out, ("date", "horizon", "yhat", "lo90", "hi90", "method"), rows)
    typer.echo(f"{method}: {written} forecasts -> {out}")
    if method == "auto":
        last = float(ratio[-1])
        verdict = "beats" if last < 1 else "does NOT beat"
        typer.echo(
            f"backtest over the last {forecasts.backtest_window(series)} origins: error {last:.2f}x that of "
            f"seasonal naive; the forecast {verdict} seasonal naive"
        )


@foresight_app.command("scan")
def scan(
    events_path: Annotated[Path, typer.Option("--events", help="CSV with columns id,time,lon,lat[,category].")],
    out: OutOption,
    replicates: Annotated[int, typer.Option("--replicates", min=19, max=9999, help="Monte Carlo shuffles.")] = 499,
    alpha: Annotated[float, typer.Option("--alpha", min=0.0001, max=0.5, help="Significance level.")] = 0.05,
    category: Annotated[str | None, typer.Option("--category", help="Scan this category's events only.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the shuffles (same seed, same p-values).")] = 0,
) -> None:
    """The significant space-time clusters (Kulldorff's space-time permutation scan), most likely first."""
    from citoyen.foresight.scan import scan as run_scan

    try:
        events = read_events(events_path)
    except InputError as exc:
        _fail(f"{events_path}: {exc}")
    if category is not None:
        keep = np.array([c == category for c in events.categories])
        if keep.sum() < 2:
            _fail(f"--category {category!r}: {int(keep.sum())} events, a scan needs at least 2")
        events = type(events)(
            [i for i, k in zip(events.ids, keep, strict=True) if k],
            events.times[keep],
            events.lon[keep],
            events.lat[keep],
            [category] * int(keep.sum()),
        )
    clusters = run_scan(events, replicates=replicates, alpha=alpha, seed=seed)
    header = ("start", "end", "lon", "lat", "radius_m", "observed", "expected", "p_value", "ids")
    rows = (
        (
            c.start.isoformat().replace("+00:00", "Z"),
            c.end.isoformat().replace("+00:00", "Z"),
            f"{c.lon:.6f}",
            f"{c.lat:.6f}",
            f"{c.radius_m:.0f}",
            c.observed,
            f"{c.expected:.2f}",
            f"{c.p_value:.4f}",
            " ".join(c.ids),
        )
        for c in clusters
    )
    written = write_csv(out, header, rows)
    typer.echo(f"{written} significant clusters (p < {alpha}, {replicates} replicates) -> {out}")
