"""The maths of a run, away from the database and the event loop: plain inputs in (daily values, report events),
plain findings out. `citoyen.foresight` does the methods; this module chooses them per series, keeps only what
happened since the last run, and says "not enough data" instead of guessing. Run in a worker thread.

The methods are imported when a run needs them: scipy's signal module and statsmodels take seconds to import,
which every process start (the app, each test) would otherwise pay."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from citoyen.foresight.series_io import DAILY, WEEKLY, Events, Series

if TYPE_CHECKING:
    from citoyen.foresight.detectors import Decision

Array = npt.NDArray[np.float64]

DETECTORS = ("seasonal-robust", "ears-c2")  # ours when the series is long enough (112 days), else EARS C2
HORIZON = 7
RECENT_DAYS = 28  # the days (weeks) of history kept with an alert or a forecast for its chart
FIRST_RUN_DAYS = 7  # a first run judges the last week; later runs the days since the previous one
MIN_REPORTS = 3  # a day's report count below this never fires: one or two reports are not an outbreak
MIN_WEEKLY_REPORTS = 5  # nor a week's below this (as surveillance's limit54: fewer than 5 cases in 4 weeks)
SCAN_DAYS = 90
SCAN_REPLICATES = 99
SCAN_ALPHA = 0.05
SCAN_SEED = 15
SCAN_RECENT_DAYS = 28  # a cluster is raised while it is recent: it ended within these days
SCAN_CATEGORY_MIN = 300  # a category is also scanned on its own from this many reports in the window


@dataclass(frozen=True)
class DailySeries:
    """A series to watch or forecast: `values[day]` (missing days: gaps, or zeros for counts). Counts are also
    watched summed per week (Monday to Sunday), `weekly_key` naming that series."""

    key: str
    values: dict[date, float]
    counts: bool = False  # report counts: a missing day is zero
    weekly_key: str = ""


@dataclass(frozen=True)
class Finding:
    """One alarm episode: consecutive alarm days (or weeks) from `since` to `day` (the first day of its first
    period to the last day of its last), with the last period's figures."""

    key: str
    detector: str
    since: date
    day: date
    value: float
    expected: float
    low: float | None
    high: float | None
    score: float
    threshold: float
    recent: list[tuple[str, float]]


@dataclass
class Judged:
    findings: list[Finding] = field(default_factory=list)
    checked: int = 0
    not_enough: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ForecastResult:
    key: str
    state: str  # "forecast", "does_not_beat", "not_enough_data"
    origin: date | None
    method: str = ""
    error_ratio: float | None = None
    coverage80: float | None = None
    window: int = 0
    days_available: int = 0
    days_needed: int = 0
    points: list[dict[str, object]] = field(default_factory=list)
    recent: list[tuple[str, float]] = field(default_factory=list)


@dataclass(frozen=True)
class ClusterFinding:
    category: str
    start: datetime
    end: datetime
    lon: float
    lat: float
    radius_m: float
    observed: int
    expected: float
    p_value: float
    report_ids: list[int]


def regular(series: DailySeries, through: date) -> Series | None:
    """The longest run of consecutive days ending at `through` (counts: from their first day, zeros filled);
    None when `through` itself has no value."""
    if series.counts:
        if not series.values:
            return None
        first = min(series.values)
        days = (through - first).days + 1
        if days <= 0:
            return None
        values = np.array([series.values.get(first + timedelta(days=i), 0.0) for i in range(days)], dtype=float)
        return Series(first, DAILY, values)
    if through not in series.values:
        return None
    day = through
    run = []
    while day in series.values:
        run.append(series.values[day])
        day -= timedelta(days=1)
    run.reverse()
    return Series(day + timedelta(days=1), DAILY, np.array(run, dtype=float))


def weeks(series: DailySeries, through: date) -> Series | None:
    """A count series summed per week, Monday to Sunday, from the week of its first day to the last week that
    ended by `through` (the week still running is left out: a part of a week is not a low week)."""
    if not series.values:
        return None
    first = min(series.values)
    first -= timedelta(days=first.weekday())
    last_sunday = through - timedelta(days=(through.weekday() + 1) % 7)
    count = ((last_sunday - first).days + 1) // 7
    if count <= 0:
        return None
    totals = np.zeros(count)
    for day, value in series.values.items():
        index = (day - first).days // 7
        if 0 <= index < count:
            totals[index] += value
    return Series(first, WEEKLY, totals)


def _recent(series: Series, upto: int) -> list[tuple[str, float]]:
    start = max(0, upto - RECENT_DAYS + 1)
    return [(series.date_at(i).isoformat(), float(series.values[i])) for i in range(start, upto + 1)]


def _expected_range(decision: Decision) -> tuple[float | None, float | None]:
    """The values the detector would not have found unusual: expected ± threshold × its scale."""
    if decision.scale is None:
        return None, None
    spread = decision.threshold * decision.scale
    return max(0.0, decision.expected - spread), decision.expected + spread


def judge(series_list: list[DailySeries], through: date, since: date | None, weekly: bool = False) -> Judged:
    """The alarms of each series on the days after `since` (the previous run's last day; None: the last
    FIRST_RUN_DAYS) up to `through`, each decided with the days up to it only; `weekly`: the count series summed
    per week, judged for each week that ended in those days. A count series whose periods to judge all stay
    below MIN_REPORTS (MIN_WEEKLY_REPORTS a week) cannot fire: it is counted as judged without running the
    detector."""
    from citoyen.foresight import detectors

    judged = Judged()
    first_day = (since + timedelta(days=1)) if since else through - timedelta(days=FIRST_RUN_DAYS - 1)
    first_day = max(first_day, through - timedelta(days=RECENT_DAYS - 1))
    floor = MIN_WEEKLY_REPORTS if weekly else MIN_REPORTS
    for item in series_list:
        if weekly and not (item.counts and item.weekly_key):
            continue
        series = weeks(item, through) if weekly else regular(item, through)
        key = item.weekly_key if weekly else item.key
        if series is None:
            continue
        judged.checked += 1
        last = len(series.values) - 1
        # A week is judged when its last day (Sunday) is among the days to judge.
        start = max(series.index_of(first_day - timedelta(days=6) if weekly else first_day), 0)
        if item.counts and start <= last and float(series.values[start:].max()) < floor:
            continue
        frequency = series.frequency
        method = next(
            (m for m in DETECTORS if detectors.METHODS[m](series.values[: start + 1], frequency) is not None), None
        )
        if method is None:
            judged.not_enough.append(key)
            continue
        detection = detectors.detect(series, start, method)
        episode: list[int] = []
        for offset, decision in enumerate(detection.decisions):
            index = start + offset
            fires = decision.alarm and (not item.counts or series.values[index] >= floor)
            if fires:
                episode.append(index)
            if episode and (not fires or index == last):
                end = episode[-1]
                final = detection.decisions[end - start]
                low, high = _expected_range(final)
                judged.findings.append(
                    Finding(
                        key=key,
                        detector=method,
                        since=series.date_at(episode[0]),
                        day=series.date_at(end) + (timedelta(days=6) if weekly else timedelta(0)),
                        value=float(series.values[end]),
                        expected=final.expected,
                        low=low,
                        high=high,
                        score=final.score,
                        threshold=final.threshold,
                        recent=_recent(series, end),
                    )
                )
                episode = []
    return judged


def predict(item: DailySeries, through: date) -> ForecastResult:
    """The 7-day forecast after `through` by ours (`auto`), with its backtest: its error over seasonal naive's
    on the last 90 origins and how often its 80 % interval held. Not shown if it does not beat seasonal naive."""
    from citoyen.foresight import forecasts

    series = regular(item, through)
    have = 0 if series is None else len(series.values)
    shape = series or Series(through, DAILY, np.zeros(1))
    window = forecasts.backtest_window(shape)
    # The first origin of the coverage backtest needs the method's own history and backtest before it.
    need = forecasts.first_target(shape, "auto", HORIZON) + window
    if series is None:
        return ForecastResult(item.key, "not_enough_data", None, days_available=0, days_needed=need)
    recent = _recent(series, have - 1)
    if have < need:
        return ForecastResult(
            item.key, "not_enough_data", through, days_available=have, days_needed=need, recent=recent
        )
    paths, ratio = forecasts.forecast(series, have - window, HORIZON, "auto")
    # Coverage: over past origins, the share of observed targets inside the 80 % interval.
    inside = total = 0
    for i, origin in enumerate(paths.origins):
        for h in range(HORIZON):
            target = int(origin) + h + 1
            if target < have:
                actual = series.values[target]
                total += 1
                inside += int(paths.lo[0.8][i, h] <= actual <= paths.hi[0.8][i, h])
    last = len(paths.origins) - 1
    error_ratio = float(ratio[last])
    state = "forecast" if error_ratio < 1 else "does_not_beat"
    points: list[dict[str, object]] = []
    if state == "forecast":
        for h in range(HORIZON):
            points.append(
                {
                    "day": (through + timedelta(days=h + 1)).isoformat(),
                    "yhat": round(float(paths.yhat[last, h]), 3),
                    "lo80": round(float(paths.lo[0.8][last, h]), 3),
                    "hi80": round(float(paths.hi[0.8][last, h]), 3),
                    "lo95": round(float(paths.lo[0.95][last, h]), 3),
                    "hi95": round(float(paths.hi[0.95][last, h]), 3),
                }
            )
    return ForecastResult(
        item.key,
        state,
        through,
        method=paths.method[last],
        error_ratio=error_ratio,
        coverage80=inside / total if total else None,
        window=window,
        days_available=have,
        days_needed=need,
        points=points,
        recent=recent,
    )


@dataclass(frozen=True)
class ReportEvent:
    id: int
    at: datetime
    lon: float
    lat: float
    category: str


def _scan(members: list[ReportEvent]) -> list[ClusterFinding]:
    from citoyen.foresight.scan import scan

    data = Events(
        [str(e.id) for e in members],
        np.array([e.at.timestamp() for e in members]),
        np.array([e.lon for e in members]),
        np.array([e.lat for e in members]),
        [e.category for e in members],
    )
    by_id = {e.id: e for e in members}
    found = []
    for cluster in scan(data, replicates=SCAN_REPLICATES, alpha=SCAN_ALPHA, seed=SCAN_SEED):
        ids = sorted(int(i) for i in cluster.ids)
        categories = Counter(by_id[i].category for i in ids)
        found.append(
            ClusterFinding(
                category=categories.most_common(1)[0][0],
                start=cluster.start,
                end=cluster.end,
                lon=cluster.lon,
                lat=cluster.lat,
                radius_m=cluster.radius_m,
                observed=cluster.observed,
                expected=cluster.expected,
                p_value=cluster.p_value,
                report_ids=ids,
            )
        )
    return found


def clusters(events: list[ReportEvent], through: date) -> list[ClusterFinding]:
    """The significant space-time clusters of reports over the SCAN_DAYS up to `through` that end within the last
    SCAN_RECENT_DAYS (Kulldorff's permutation scan, a fixed seed: the same reports give the same clusters): all
    reports together, and each category with at least SCAN_CATEGORY_MIN reports on its own (with fewer, its
    zones are too coarse for the scan to tell a cluster from the category's own margins). A cluster is named
    after the category most of its reports are of."""
    end = datetime.combine(through + timedelta(days=1), datetime.min.time(), UTC)
    start = end - timedelta(days=SCAN_DAYS)
    recent_from = end - timedelta(days=SCAN_RECENT_DAYS)
    window = [e for e in events if start <= e.at < end]
    groups = [window] if len(window) >= 2 * MIN_REPORTS else []
    by_category: dict[str, list[ReportEvent]] = {}
    for event in window:
        by_category.setdefault(event.category, []).append(event)
    groups += [members for _, members in sorted(by_category.items()) if len(members) >= SCAN_CATEGORY_MIN]
    found: list[ClusterFinding] = []
    for members in groups:
        if len({(e.lon, e.lat) for e in members}) < 2:
            continue
        for cluster in _scan(members):
            if cluster.end <= recent_from or cluster.observed < MIN_REPORTS:
                continue
            if any(len(set(cluster.report_ids) & set(f.report_ids)) * 2 >= cluster.observed for f in found):
                continue  # the same cluster, found among all reports and within its category
            found.append(cluster)
    return found
