"""Kulldorff's space-time permutation scan (Kulldorff et al. 2005, as in SaTScan): cylinders (a circle over event
locations, a time window) whose count exceeds what the space and time margins predict, the Poisson generalised
likelihood ratio as the statistic, and its p-value by Monte Carlo: the events' times are shuffled among them (the
margins stay), and each observed cluster is compared with the largest ratio of every shuffled data set.

The computation is on a grid of zones (cells grown until at most `max_zones` hold events) and time bins (days,
or several days when the study period is long), so one replicate is a few array operations: 100,000 events and
999 replicates run in under a minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from citoyen.foresight.series_io import Events

EARTH_RADIUS_M = 6_371_008.8
DAY = 86_400.0


@dataclass(frozen=True)
class Cluster:
    """A significant cylinder: centre, radius over the zones' centres, period, counts, p-value and its events."""

    start: datetime
    end: datetime  # the end of its last day (exclusive)
    lon: float
    lat: float
    radius_m: float
    observed: int
    expected: float
    llr: float
    p_value: float
    ids: list[str]


@dataclass(frozen=True)
class _Grid:
    zone: npt.NDArray[np.int64]  # each event's zone
    time_bin: npt.NDArray[np.int64]  # each event's time bin
    centres: npt.NDArray[np.float64]  # zones' centroids, metres (x, y)
    neighbours: npt.NDArray[np.int64]  # (zones, k): each zone's k nearest zones, nearest first (itself)
    sizes: npt.NDArray[np.int64]  # (zones,) how many of the nearest zones each circle may hold
    bins: int
    bin_days: int
    origin_day: float  # the first bin's start, days since the epoch


def _project(lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], ...]:
    """Metres on a plane tangent at the events' mean point: exact enough at a city's scale."""
    lon0, lat0 = float(np.mean(lon)), float(np.mean(lat))
    x = np.radians(lon - lon0) * EARTH_RADIUS_M * np.cos(np.radians(lat0))
    y = np.radians(lat - lat0) * EARTH_RADIUS_M
    return x, y, np.array([lon0, lat0])


def _grid(events: Events, max_zones: int, max_neighbours: int, max_share: float, max_bins: int) -> _Grid:
    x, y, _ = _project(events.lon, events.lat)
    max_zones = max(20, min(max_zones, len(x) // 10))  # about ten events a zone at least: small files scan fast
    cell = 25.0
    while True:
        keys = np.floor(x / cell).astype(np.int64) * 1_000_003 + np.floor(y / cell).astype(np.int64)
        unique, zone = np.unique(keys, return_inverse=True)
        if len(unique) <= max_zones:
            break
        cell *= 1.5
    counts = np.bincount(zone).astype(np.float64)
    centres = np.column_stack([np.bincount(zone, x) / counts, np.bincount(zone, y) / counts])
    k = min(max_neighbours, len(unique))
    distances = np.hypot(*(centres[:, None, :] - centres[None, :, :]).transpose(2, 0, 1))
    neighbours = np.argsort(distances, axis=1, kind="stable")[:, :k]
    # A circle holds at most `max_share` of all events (SaTScan's default is half).
    cumulative = np.cumsum(counts[neighbours], axis=1)
    sizes = np.maximum(1, (cumulative <= max_share * len(zone)).sum(axis=1))
    days = np.floor(events.times / DAY)
    span = int(days.max() - days.min()) + 1
    bin_days = max(1, -(-span // max_bins))
    time_bin = ((days - days.min()) // bin_days).astype(np.int64)
    return _Grid(zone, time_bin, centres, neighbours, sizes, int(time_bin.max()) + 1, bin_days, float(days.min()))


def _window_lengths(bins: int, longest: int) -> list[int]:
    """Window lengths in bins: every length up to 7, then growing by about a third, up to `longest`."""
    lengths: list[int] = []
    length = 1
    while length <= min(longest, bins):
        lengths.append(length)
        length = length + 1 if length < 7 else int(np.ceil(length * 4 / 3))
    return lengths


def _ratios(
    counts: npt.NDArray[np.float64],
    grid: _Grid,
    lengths: list[int],
    circle_share: npt.NDArray[np.float64],
    time_cumulative: npt.NDArray[np.float64],
    total: float,
    keep: bool,
) -> tuple[float, list[npt.NDArray[np.float64]]]:
    """The log-likelihood ratio of every cylinder: its largest value and, when `keep`, one (zones, k, windows)
    array per window length (zero where the count is not above expectation). `circle_share` is each circle's
    share of all events, 1e30 for circles larger than allowed."""
    inside = np.cumsum(counts[grid.neighbours], axis=1)  # (zones, k, bins): counts per circle and bin
    running = np.zeros((*inside.shape[:2], inside.shape[2] + 1))
    np.cumsum(inside, axis=2, out=running[:, :, 1:])
    best = 0.0
    kept = []
    for length in lengths:
        observed = running[:, :, length:] - running[:, :, :-length]
        expected = circle_share * (time_cumulative[length:] - time_cumulative[:-length])[None, None, :]
        above = observed > np.maximum(expected, 1.0)
        o, e = observed[above], expected[above]
        llr = o * np.log(o / e) + (total - o) * np.log((total - o) / (total - e))
        if len(llr):
            best = max(best, float(llr.max()))
        if keep:
            full = np.zeros(observed.shape)
            full[above] = llr
            kept.append(full)
    return best, kept


def scan(
    events: Events,
    replicates: int = 999,
    alpha: float = 0.05,
    seed: int = 0,
    max_zones: int = 200,
    max_neighbours: int = 12,
    max_share: float = 0.5,
    max_bins: int = 183,
    longest_days: int = 28,
) -> list[Cluster]:
    """The significant clusters (p < alpha), most likely first, none overlapping another in both space (a zone in
    common) and time; `replicates` Monte Carlo shuffles of the events' times give the p-values."""
    grid = _grid(events, max_zones, max_neighbours, max_share, max_bins)
    zones = len(grid.centres)
    total = float(len(grid.zone))
    cells = grid.zone * grid.bins

    def table(time_bin: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        return np.bincount(cells + time_bin, minlength=zones * grid.bins).reshape(zones, grid.bins).astype(float)

    observed_table = table(grid.time_bin)
    zone_totals = observed_table.sum(axis=1)
    time_cumulative = np.concatenate([[0.0], np.cumsum(observed_table.sum(axis=0))])
    lengths = _window_lengths(grid.bins, max(1, longest_days // grid.bin_days))
    allowed = np.arange(grid.neighbours.shape[1])[None, :] < grid.sizes[:, None]
    circle_share = np.where(allowed, np.cumsum(zone_totals[grid.neighbours], axis=1) / total, 1e30)[:, :, None]
    _, ratios = _ratios(observed_table, grid, lengths, circle_share, time_cumulative, total, keep=True)
    rng = np.random.default_rng(seed)
    maxima = np.empty(replicates)
    for r in range(replicates):
        shuffled = table(rng.permutation(grid.time_bin))
        maxima[r], _ = _ratios(shuffled, grid, lengths, circle_share, time_cumulative, total, keep=False)
    maxima.sort()

    candidates = []
    for index, (length, llr) in enumerate(zip(lengths, ratios, strict=True)):
        flat = llr.ravel()
        top = np.argpartition(flat, -min(200, flat.size))[-min(200, flat.size) :]
        for position in top[flat[top] > 0]:
            centre, k, start = np.unravel_index(position, llr.shape)
            candidates.append((float(flat[position]), int(centre), int(k), int(start), length, index))
    candidates.sort(reverse=True)
    clusters: list[Cluster] = []
    taken: list[tuple[set[int], int, int]] = []
    _, _, origin = _project(events.lon, events.lat)
    for llr_value, centre, k, start, length, _index in candidates:
        exceeding = replicates - int(np.searchsorted(maxima, llr_value, side="left"))
        p_value = (1 + exceeding) / (replicates + 1)
        if p_value >= alpha:
            break
        members = {int(z) for z in grid.neighbours[centre, : k + 1]}
        stop = start + length
        if any(members & zones_taken and start < t_stop and t_start < stop for zones_taken, t_start, t_stop in taken):
            continue
        taken.append((members, start, stop))
        chosen = np.isin(grid.zone, list(members)) & (grid.time_bin >= start) & (grid.time_bin < stop)
        observed = int(chosen.sum())
        window_total = time_cumulative[stop] - time_cumulative[start]
        expected = float(zone_totals[list(members)].sum() * window_total / total)
        cx, cy = grid.centres[centre]
        radius = float(np.max(np.hypot(*(grid.centres[list(members)] - grid.centres[centre]).T)))
        lat = origin[1] + np.degrees(cy / EARTH_RADIUS_M)
        lon = origin[0] + np.degrees(cx / (EARTH_RADIUS_M * np.cos(np.radians(origin[1]))))
        first_day = grid.origin_day + start * grid.bin_days
        clusters.append(
            Cluster(
                start=datetime.fromtimestamp(first_day * DAY, UTC),
                end=datetime.fromtimestamp((first_day + length * grid.bin_days) * DAY, UTC),
                lon=float(lon),
                lat=float(lat),
                radius_m=radius,
                observed=observed,
                expected=expected,
                llr=llr_value,
                p_value=p_value,
                ids=[events.ids[i] for i in np.flatnonzero(chosen)],
            )
        )
    return clusters
