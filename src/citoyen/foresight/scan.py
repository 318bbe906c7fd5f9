"""Kulldorff's space-time permutation scan (Kulldorff et al. 2005, as in SaTScan): cylinders (a circle over event
locations, a time window) whose count exceeds what the space and time margins predict, the Poisson generalised
likelihood ratio as the statistic, and its p-value by Monte Carlo: the events' times are shuffled among them (the
margins stay), and each observed cluster is compared with the largest ratio of every shuffled data set.

The computation is on a grid of zones (cells grown until at most `max_zones` hold events) and time bins (days,
or several days when the study period is long), so one replicate is a few array operations. Since shuffling
keeps both margins, every cylinder's expected count is the same in every replicate: the ratio's logarithms are
computed once, and after a few pilot replicates the others only look at the cylinders whose count could reach
a ratio that matters for a p-value below alpha (the p-values are exactly those of the full computation).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from citoyen.foresight.series_io import Events

EARTH_RADIUS_M = 6_371_008.8
DAY = 86_400.0
PILOT = 1  # shuffles computed in full before the others look only at cylinders that can matter


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


@dataclass(frozen=True)
class _Cylinders:
    """What a cylinder's log-likelihood ratio needs besides its count, computed once: the permutation keeps both
    margins, so every cylinder's expected count e is the same in every shuffle. With o its count and N all
    events, LLR = o log(o / e) + (N - o) log((N - o) / (N - e)) = g(o) + o D - C, where g(o) = o log o +
    (N - o) log(N - o) is a table over the integers 0..N, D = log(N - e) - log e and C = N log(N - e): no
    logarithm per cylinder and shuffle. Arrays are per window length, (zones, k, windows)."""

    lengths: list[int]
    floor: list[npt.NDArray[np.float64]]  # a cylinder counts when o > max(e, 1); inf for circles too large
    slope: list[npt.NDArray[np.float64]]  # D
    offset: list[npt.NDArray[np.float64]]  # C
    g: npt.NDArray[np.float64]

    def llr(self, index: int, observed: npt.NDArray[np.int32]) -> npt.NDArray[np.float64]:
        """Every cylinder's ratio for these counts (zero where the count is not above expectation)."""
        value = self.g[observed] + observed * self.slope[index] - self.offset[index]
        return np.where(observed > self.floor[index], value, 0.0)

    def needed(self, index: int, level: float) -> npt.NDArray[np.int32]:
        """Per cylinder, the smallest count whose ratio reaches `level` (N + 1 when none does): the ratio grows
        with the count above expectation, so a bisection over the integers."""
        total = len(self.g) - 1
        floor = np.minimum(self.floor[index], total)
        low = np.floor(floor).astype(np.int64) + 1  # the first count above expectation
        # The ratio is at least the Poisson one, o log(o / e) - (o - e) >= d^2 / (2 (e + d)) with d = o - e, so
        # d >= level + sqrt(level^2 + 2 level e) reaches the level: the bisection starts from that bracket.
        reach = np.ceil(floor + level + np.sqrt(level * level + 2 * level * floor)).astype(np.int64)
        high = np.minimum(np.maximum(reach, low), total + 1)
        slope, offset = self.slope[index], self.offset[index]
        while True:
            open_ = low < high
            if not open_.any():
                return low.astype(np.int32)
            middle = (low + high) // 2
            reaches = np.zeros(low.shape, dtype=bool)
            probe = np.minimum(middle, total)
            reaches[open_] = (self.g[probe] + probe * slope - offset)[open_] >= level
            high = np.where(open_ & reaches, middle, high)
            low = np.where(open_ & ~reaches, middle + 1, low)


def _cylinders(
    lengths: list[int], circle_share: npt.NDArray[np.float64], time_cumulative: npt.NDArray[np.float64], total: float
) -> _Cylinders:
    """`circle_share` (zones, k): each circle's share of all events, inf for circles larger than allowed."""
    floor, slope, offset = [], [], []
    allowed = np.isfinite(circle_share)[:, :, None]
    share = np.where(allowed, circle_share[:, :, None], 0.0)
    for length in lengths:
        windows = (time_cumulative[length:] - time_cumulative[:-length])[None, None, :]
        expected = share * windows
        # A cylinder holding every event (e = N) can never exceed its expectation: its constants are unused.
        usable = allowed & (expected > 0) & (expected < total)
        safe = np.where(usable, expected, 1.0)
        floor.append(np.where(usable, np.maximum(expected, 1.0), np.inf))
        slope.append(np.where(usable, np.log(total - safe) - np.log(safe), 0.0))
        offset.append(np.where(usable, total * np.log(total - safe), 0.0))
    o = np.arange(int(total) + 1, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.nan_to_num(o * np.log(o)) + np.nan_to_num((total - o) * np.log(total - o))
    return _Cylinders(lengths, floor, slope, offset, g)


def _running(counts: npt.NDArray[np.int64], grid: _Grid, dtype: type = np.int32) -> npt.NDArray[np.signedinteger]:
    """(zones, k, bins + 1): each circle's events before each bin, so a window's count is a difference. In
    int16 (`dtype`) the running sums wrap around, but a difference is still exact when the true window count
    fits in int16 (two's complement arithmetic is modular): `_Shuffles` checks that every window's does."""
    before = np.zeros((counts.shape[0], counts.shape[1] + 1), dtype=dtype)
    np.cumsum(counts, axis=1, out=before[:, 1:], dtype=dtype)  # (zones, bins + 1): each zone's events before each bin
    # Circle k is circle k - 1 plus its k-th nearest zone: one addition per k (7 times faster than a cumsum
    # along the middle axis of the gathered array).
    neighbours = grid.neighbours
    running = np.empty((neighbours.shape[0], neighbours.shape[1], before.shape[1]), dtype=dtype)
    running[:, 0] = before[neighbours[:, 0]]
    for k in range(1, neighbours.shape[1]):
        np.add(running[:, k - 1], before[neighbours[:, k]], out=running[:, k])
    return running


def _ratios(counts: npt.NDArray[np.int64], grid: _Grid, cylinders: _Cylinders) -> list[npt.NDArray[np.float64]]:
    """The log-likelihood ratio of every cylinder, one (zones, k, windows) array per window length (zero where
    the count is not above expectation)."""
    running = _running(counts, grid)
    return [
        cylinders.llr(index, running[:, :, length:] - running[:, :, :-length])
        for index, length in enumerate(cylinders.lengths)
    ]


class _Shuffles:
    """The largest ratio of a shuffle, if it reaches a level, with one integer comparison per cylinder: the ratio is
    computed only where a cylinder's count reaches `needed`, its smallest count whose ratio reaches the level.
    The window counts are computed in int16 when no window of the longest length holds more than 32,766 events
    (any circle's count in a window is at most that), else int32, into buffers allocated once: half the memory
    traffic of int32, and no allocation per shuffle."""

    def __init__(self, grid: _Grid, cylinders: _Cylinders, needed: list[npt.NDArray[np.int32]], most: int) -> None:
        self.grid, self.cylinders = grid, cylinders
        self.dtype: type = np.int16 if most < np.iinfo(np.int16).max else np.int32
        cap = min(most + 1, int(np.iinfo(self.dtype).max))  # never reached by a window's count
        self.needed = [np.minimum(n, cap).astype(self.dtype) for n in needed]
        self.counts = [np.empty(n.shape, dtype=self.dtype) for n in needed]
        self.reach = [np.empty(n.shape, dtype=bool) for n in needed]

    def largest_above(self, counts: npt.NDArray[np.int64]) -> float:
        """The largest ratio of this shuffle's table if it reaches the level, else -inf."""
        running = _running(counts, self.grid, self.dtype)
        cylinders = self.cylinders
        best = -np.inf
        for index, length in enumerate(cylinders.lengths):
            observed, reach = self.counts[index], self.reach[index]
            np.subtract(running[:, :, length:], running[:, :, :-length], out=observed)
            np.greater_equal(observed, self.needed[index], out=reach)
            if not reach.any():
                continue
            where = np.flatnonzero(reach)
            o = observed.ravel()[where].astype(np.int64)
            value = cylinders.g[o] + o * cylinders.slope[index].ravel()[where] - cylinders.offset[index].ravel()[where]
            best = max(best, float(value.max()))
        return best


def _maxima(
    time_bin: npt.NDArray[np.int64],
    table: Callable[[npt.NDArray[np.int64]], npt.NDArray[np.int64]],
    grid: _Grid,
    cylinders: _Cylinders,
    replicates: int,
    alpha: float,
    seed: int,
    most: int,
) -> npt.NDArray[np.float64]:
    """The largest ratio of each of `replicates` shuffles of the events' times, sorted; -inf stands for "below
    the level". A cluster's p-value only needs the exact maxima above the smallest ratio that can still be
    significant: the first PILOT shuffles are computed in full, the level is half the smallest of their maxima,
    and the others only look at the cylinders whose count reaches it. At the end, the shuffles at or above the
    level must be enough that any ratio below it has p >= alpha (then its p-value is not needed); when they are
    not (e.g. alpha near 1) every shuffle is recomputed in full, with the same seed."""
    pilot = min(replicates, PILOT)
    rng = np.random.default_rng(seed)
    maxima = np.empty(replicates)
    level = -np.inf
    for r in range(replicates):
        if r == pilot:
            level = float(np.min(maxima[:pilot])) / 2
            needed = [cylinders.needed(index, level) for index in range(len(cylinders.lengths))]
            shuffles = _Shuffles(grid, cylinders, needed, most)
        shuffled = table(rng.permutation(time_bin))
        if r < pilot:
            maxima[r] = max([0.0, *(float(llr.max()) for llr in _ratios(shuffled, grid, cylinders))])
        else:
            maxima[r] = shuffles.largest_above(shuffled)
    if pilot < replicates and (1 + int(np.sum(maxima >= level))) / (replicates + 1) < alpha:
        rng = np.random.default_rng(seed)
        for r in range(replicates):
            llrs = _ratios(table(rng.permutation(time_bin)), grid, cylinders)
            maxima[r] = max([0.0, *(float(llr.max()) for llr in llrs)])
    maxima.sort()
    return maxima


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

    def table(time_bin: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return np.bincount(cells + time_bin, minlength=zones * grid.bins).reshape(zones, grid.bins)

    observed_table = table(grid.time_bin)
    zone_totals = observed_table.sum(axis=1)
    time_cumulative = np.concatenate([[0.0], np.cumsum(observed_table.sum(axis=0))])
    lengths = _window_lengths(grid.bins, max(1, longest_days // grid.bin_days))
    allowed = np.arange(grid.neighbours.shape[1])[None, :] < grid.sizes[:, None]
    circle_share = np.where(allowed, np.cumsum(zone_totals[grid.neighbours], axis=1) / total, np.inf)
    cylinders = _cylinders(lengths, circle_share, time_cumulative, total)
    ratios = _ratios(observed_table, grid, cylinders)
    longest = lengths[-1]
    most = int(np.max(time_cumulative[longest:] - time_cumulative[:-longest]))  # the most events in a window
    maxima = _maxima(grid.time_bin, table, grid, cylinders, replicates, alpha, seed, most)

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
