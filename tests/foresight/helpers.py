"""Small series and event sets with known answers, simulated (seeded) for the foresight tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

from citoyen.foresight.series_io import DAILY, Events, Series

WEEKDAY_SHAPE = np.array([1.2, 1.1, 1.0, 1.0, 1.1, 0.7, 0.6])


def daily_counts(days: int, mean: float = 20.0, seed: int = 1) -> Series:
    """Poisson counts with a weekly pattern (quiet weekends), from 2024-01-01."""
    rng = np.random.default_rng(seed)
    expected = mean * WEEKDAY_SHAPE[np.arange(days) % 7]
    return Series(date(2024, 1, 1), DAILY, rng.poisson(expected).astype(np.float64))


def with_outbreak(series: Series, start: int, days: int, extra: float) -> Series:
    values = series.values.copy()
    values[start : start + days] += extra
    return Series(series.start, series.frequency, values)


def write_series(path: Path, series: Series) -> Path:
    lines = ["date,value", *(f"{series.date_at(i)},{v:g}" for i, v in enumerate(series.values))]
    path.write_text("\n".join(lines) + "\n")
    return path


def events(background: int, planted: int = 0, seed: int = 3) -> Events:
    """`background` events spread over a city and 120 days; the first `planted` ones (ids p0, p1, ...) packed
    within about 150 m and 3 days."""
    rng = np.random.default_rng(seed)
    n = background + planted
    lon = 2.35 + rng.normal(0, 0.02, n)
    lat = 48.86 + rng.normal(0, 0.012, n)
    start = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    times = start + rng.uniform(0, 120 * 86400, n)
    lon[:planted] = 2.36 + rng.normal(0, 0.001, planted)
    lat[:planted] = 48.865 + rng.normal(0, 0.0007, planted)
    times[:planted] = start + 60 * 86400 + rng.uniform(0, 3 * 86400, planted)
    ids = [f"p{i}" if i < planted else f"e{i}" for i in range(n)]
    return Events(ids, times, lon, lat, [""] * n)


def write_events(path: Path, found: Events) -> Path:
    lines = ["id,time,lon,lat,category"]
    for i, event_id in enumerate(found.ids):
        moment = datetime.fromtimestamp(float(found.times[i]), UTC) + timedelta(0)
        lines.append(f"{event_id},{moment.isoformat()},{found.lon[i]:.6f},{found.lat[i]:.6f},leak")
    path.write_text("\n".join(lines) + "\n")
    return path
