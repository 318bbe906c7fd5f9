"""A run of the early warning: read the series through the sensing, reports and indicators services, judge and
forecast them in a worker thread (`compute`), store what was found, notify the concerned staff and announce
`AlertRaised`. Incremental: a run judges only the days after the previous run's, forecasts only series whose
last day moved, and scans reports only when there are new ones; the same data twice changes nothing."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.alerts import compute
from citoyen.alerts.models import Alert, AlertKind, AlertRun, Forecast
from citoyen.alerts.notify import notify_staff
from citoyen.config import DEFAULT_ALERT_DEPARTMENTS
from citoyen.db import utcnow
from citoyen.events import AlertRaised, announce
from citoyen.indicators import service as indicators
from citoyen.people import service as people
from citoyen.reports import service as reports
from citoyen.sensing import service as sensing

Progress = Callable[[str, int, int], None]

SENSOR_DAYS = 400  # the days of a Datastream's daily means a run reads (a year and a backtest)
SCHEDULE_EVERY = timedelta(hours=1)  # the app's task runs at most this often, and only when data moved


def _no_progress(step: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True)
class Inputs:
    through: date
    since: date | None
    sensors: list[compute.DailySeries]
    counts: list[compute.DailySeries]
    events: list[compute.ReportEvent]
    to_forecast: list[compute.DailySeries]
    scan: bool


@dataclass(frozen=True)
class Outputs:
    sensors: compute.Judged
    counts: compute.Judged
    weekly: compute.Judged
    clusters: list[compute.ClusterFinding]
    forecasts: list[compute.ForecastResult]


async def last_run(session: AsyncSession) -> AlertRun | None:
    query = select(AlertRun).where(AlertRun.finished_at.is_not(None)).order_by(AlertRun.id.desc()).limit(1)
    return (await session.execute(query)).scalar_one_or_none()


def _compute(inputs: Inputs, progress: Progress) -> Outputs:
    """The maths (in a worker thread): no database, no event loop."""
    progress("sensor series", 0, 1)
    sensors = compute.judge(inputs.sensors, inputs.through, inputs.since)
    progress("sensor series", 1, 1)
    progress("report counts", 0, 1)
    counts = compute.judge(inputs.counts, inputs.through, inputs.since)
    weekly = compute.judge(inputs.counts, inputs.through, inputs.since, weekly=True)
    progress("report counts", 1, 1)
    progress("report clusters", 0, 1)
    found = compute.clusters(inputs.events, inputs.through) if inputs.scan else []
    progress("report clusters", 1, 1)
    made = []
    for done, item in enumerate(inputs.to_forecast):
        progress("forecasts", done, len(inputs.to_forecast))
        made.append(compute.predict(item, inputs.through))
    progress("forecasts", len(inputs.to_forecast), len(inputs.to_forecast))
    return Outputs(sensors, counts, weekly, found, made)


@dataclass
class _Context:
    """What the stored alerts say about their subjects: names, places, departments."""

    streams: dict[int, dict[str, object]]
    stream_places: dict[int, int | None]
    stream_departments: dict[int, int | None]
    category_names: dict[str, tuple[str, str]]
    category_ids: dict[str, int]
    report_places: dict[int, int | None]


async def _stream_departments(
    session: AsyncSession, published: dict[int, dict[str, object]], departments: Mapping[str, str]
) -> dict[int, int | None]:
    """Each Datastream's department: the code in its (or its Thing's) properties, else the one its Thing's kind
    maps to; None when neither names a department the city has."""
    ids = {d.code: d.id for d in await people.list_departments(session)}
    return {
        stream_id: ids.get(str(row.get("department") or departments.get(str(row["kind"])) or ""))
        for stream_id, row in published.items()
    }


async def _gather(
    session: AsyncSession,
    previous: AlertRun | None,
    through: date,
    forecasts: bool,
    force: bool,
    departments: Mapping[str, str],
) -> tuple[Inputs, _Context, int, int]:
    since = previous.data_through if previous else None
    published = {int(row["id"]): row for row in await sensing.published_datastreams(session) if row["raw_published"]}
    places = {s.datastream_id: s.neighbourhood_id for s in await sensing.summed_streams(session, list(published))}
    stream_departments = await _stream_departments(session, published, departments)
    start = through - timedelta(days=SENSOR_DAYS)
    daily: dict[int, dict[date, float]] = {}
    for row in await sensing.daily_statistics(session, list(published)):
        if row["mean"] is not None and start <= row["day"] <= through:
            daily.setdefault(int(row["datastream_id"]), {})[row["day"]] = float(row["mean"])
    sensors = [compute.DailySeries(f"datastream:{i}", values) for i, values in sorted(daily.items())]

    per_day: dict[tuple[int, str], Counter[date]] = {}
    events = []
    names: dict[str, tuple[str, str]] = {}
    report_places: dict[int, int | None] = {}
    seen = last_id = 0
    async for batch in reports.public_reports(session):
        for row in batch:
            seen += 1
            last_id = max(last_id, int(row["id"]))
            if row["duplicate_of"] is not None:
                continue
            moment: datetime = row["requested_at"].astimezone(UTC)
            if moment.date() > through:
                continue
            names[row["category"]] = (row["category_name"], row["category_name_en"])
            report_places[int(row["id"])] = row["neighbourhood_id"]
            if row["neighbourhood_id"] is not None:
                per_day.setdefault((int(row["neighbourhood_id"]), row["category"]), Counter())[moment.date()] += 1
            if row["lon"] is not None and row["lat"] is not None:
                events.append(
                    compute.ReportEvent(int(row["id"]), moment, float(row["lon"]), float(row["lat"]), row["category"])
                )
    counts = [
        compute.DailySeries(
            f"reports:{nid}:{code}",
            {d: float(n) for d, n in days.items()},
            counts=True,
            weekly_key=f"reports-weekly:{nid}:{code}",
        )
        for (nid, code), days in sorted(per_day.items())
    ]
    new_reports = previous is None or force or (seen, last_id) != (previous.reports_seen, previous.last_report_id)
    scan = new_reports or since is None or since < through

    to_forecast: list[compute.DailySeries] = []
    if forecasts:
        stored = {f.series_key: f.origin for f in (await session.execute(select(Forecast))).scalars()}
        candidates = []
        for indicator in indicators.INDICATORS:
            if indicator.weekly:
                continue  # one value a week (on its Monday): not a daily series to forecast
            values = await indicators.values(
                session,
                indicator,
                "day",
                datetime.combine(start, datetime.min.time(), UTC),
                datetime.combine(through + timedelta(days=1), datetime.min.time(), UTC),
            )
            candidates.append(
                compute.DailySeries(
                    f"indicator:{indicator.id}",
                    {moment.date(): value for moment, value in values.items()},
                    counts=indicator.aggregation == "sum" and not indicator.from_sensors,
                )
            )
        candidates += sensors
        to_forecast = [c for c in candidates if force or stored.get(c.key) != through]
    categories = {c.code: c.id for c in await reports.list_categories(session, include_inactive=True)}
    context = _Context(published, places, stream_departments, names, categories, report_places)
    inputs = Inputs(through, since, sensors, counts, events, to_forecast, scan)
    return inputs, context, seen, last_id


async def _raise(session: AsyncSession, run: AlertRun, alert: Alert, raised: list[Alert]) -> None:
    session.add(alert)
    await session.flush()
    raised.append(alert)


async def _episode(session: AsyncSession, key: str, since: date) -> Alert | None:
    """The alert an alarm episode continues: same subject, its last day at most a day before `since`."""
    query = (
        select(Alert)
        .where(Alert.subject_key == key, Alert.day >= since - timedelta(days=1))
        .order_by(Alert.day.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


def _update_series_alert(alert: Alert, finding: compute.Finding) -> None:
    alert.since = min(alert.since, finding.since)
    if finding.day >= alert.day:
        alert.day = finding.day
        alert.value = finding.value
        alert.expected = finding.expected
        alert.expected_low = finding.low
        alert.expected_high = finding.high
        alert.score = finding.score
        alert.threshold = finding.threshold
        alert.recent = [list(point) for point in finding.recent]
        alert.detector = finding.detector


async def _store_series(
    session: AsyncSession, run: AlertRun, context: _Context, findings: list[compute.Finding], raised: list[Alert]
) -> int:
    updated = 0
    for finding in findings:
        existing = await _episode(session, finding.key, finding.since)
        if existing is not None:
            _update_series_alert(existing, finding)
            updated += 1
            continue
        parts = finding.key.split(":", 2)
        alert = Alert(
            detector=finding.detector,
            subject_key=finding.key,
            since=finding.since,
            day=finding.since,
            run_id=run.id,
            raised_at=utcnow(),
        )
        alert.score = 0.0
        _update_series_alert(alert, finding)
        if parts[0] == "datastream":
            stream = context.streams.get(int(parts[1]), {})
            alert.kind = AlertKind.SENSOR
            alert.datastream_id = int(parts[1])
            alert.subject_name = alert.subject_name_en = str(stream.get("name") or parts[1])[:300]
            alert.unit = str(stream.get("unit_symbol") or "")[:40]
            alert.neighbourhood_id = context.stream_places.get(int(parts[1]))
            alert.department_id = context.stream_departments.get(int(parts[1]))
        else:
            neighbourhood_id, code = int(parts[1]), parts[2]
            name, name_en = context.category_names.get(code, (code, code))
            alert.kind = AlertKind.REPORT_COUNTS_WEEKLY if parts[0] == "reports-weekly" else AlertKind.REPORT_COUNTS
            alert.category = code
            alert.subject_name, alert.subject_name_en = name[:300], name_en[:300]
            alert.neighbourhood_id = neighbourhood_id
            category_id = context.category_ids.get(code)
            alert.department_id = (
                await reports.route(session, category_id, neighbourhood_id) if category_id is not None else None
            )
        await _raise(session, run, alert, raised)
    return updated


async def _store_clusters(
    session: AsyncSession, run: AlertRun, context: _Context, found: list[compute.ClusterFinding], raised: list[Alert]
) -> int:
    updated = 0
    for cluster in found:
        known = (
            await session.execute(
                select(Alert).where(Alert.kind == AlertKind.REPORT_CLUSTER, Alert.category == cluster.category)
            )
        ).scalars()
        members = set(cluster.report_ids)
        same = next(
            (a for a in known if len(members & set(a.report_ids)) * 2 >= min(len(members), len(a.report_ids))), None
        )
        alert = same or Alert(
            kind=AlertKind.REPORT_CLUSTER,
            detector="space-time-scan",
            subject_key=f"cluster:{cluster.category}:{cluster.start.date().isoformat()}:{cluster.lon:.4f}:{cluster.lat:.4f}",
            category=cluster.category,
            run_id=run.id,
            raised_at=utcnow(),
        )
        alert.since = cluster.start.date() if same is None else min(same.since, cluster.start.date())
        alert.day = (cluster.end - timedelta(seconds=1)).date()
        alert.lon, alert.lat, alert.radius_m = cluster.lon, cluster.lat, cluster.radius_m
        alert.period_start, alert.period_end = cluster.start, cluster.end
        alert.observed, alert.cluster_expected, alert.p_value = cluster.observed, cluster.expected, cluster.p_value
        alert.value, alert.expected = float(cluster.observed), cluster.expected
        alert.score, alert.threshold = 1 - cluster.p_value, 1 - compute.SCAN_ALPHA
        alert.report_ids = list(cluster.report_ids)
        if same is not None:
            updated += 1
            continue
        places = Counter(p for i in cluster.report_ids if (p := context.report_places.get(i)) is not None)
        alert.neighbourhood_id = places.most_common(1)[0][0] if places else None
        name, name_en = context.category_names.get(cluster.category, (cluster.category, cluster.category))
        alert.subject_name, alert.subject_name_en = name[:300], name_en[:300]
        category_id = context.category_ids.get(cluster.category)
        alert.department_id = (
            await reports.route(session, category_id, alert.neighbourhood_id) if category_id is not None else None
        )
        await _raise(session, run, alert, raised)
    return updated


async def _store_forecasts(session: AsyncSession, made: list[compute.ForecastResult]) -> None:
    stored = {f.series_key: f for f in (await session.execute(select(Forecast))).scalars()}
    for result in made:
        row = stored.get(result.key) or Forecast(series_key=result.key)
        row.made_at = utcnow()
        row.origin = result.origin
        row.state = result.state
        row.method = result.method
        row.error_ratio = result.error_ratio
        row.coverage80 = result.coverage80
        row.window = result.window
        row.beats_naive = result.state == "forecast"
        row.days_available = result.days_available
        row.days_needed = result.days_needed
        row.points = list(result.points)
        row.recent = [list(point) for point in result.recent]
        session.add(row)
    await session.flush()


async def run_foresight(
    session: AsyncSession,
    trigger: str,
    *,
    now: datetime | None = None,
    forecasts: bool = True,
    force: bool = False,
    progress: Progress = _no_progress,
    departments: Mapping[str, str] = DEFAULT_ALERT_DEPARTMENTS,
    end_reading: bool = False,
) -> AlertRun | None:
    """One run up to the last complete UTC day before `now`. The schedule (`force=False`) skips a run when the
    previous one is recent and no day and no report came since; `citoyen foresight run` forces it (forecasts are
    then all recomputed). `departments` routes a sensor's alerts by its Thing's kind (Settings.alert_departments).
    Returns the run, or None when skipped."""
    now = now or utcnow()
    through = now.astimezone(UTC).date() - timedelta(days=1)
    previous = await last_run(session)
    if (
        not force
        and previous is not None
        and previous.finished_at is not None
        and previous.trigger != "demo"  # the demo's build runs without forecasts: the app's first round makes them
        and now - previous.finished_at < SCHEDULE_EVERY
    ):
        return None
    inputs, context, seen, last_id = await _gather(session, previous, through, forecasts, force, departments)
    if (
        not force
        and previous is not None
        and previous.data_through == through
        and not inputs.to_forecast
        and (seen, last_id) == (previous.reports_seen, previous.last_report_id)
    ):
        return None
    # The maths runs in a worker thread, before anything is written (on SQLite no write lock is held meanwhile):
    # the web server keeps answering. `end_reading` (the served app's scheduled run) ends the reading transaction
    # first on SQLite: SQLite cannot turn a reader into a writer once another connection has written since it
    # began ("database is locked" at the first INSERT, as the demo's first scheduled run met), and a served city
    # writes all the time. On PostgreSQL the transaction stays (it holds the housekeeping's lock, and its snapshot
    # can write); the demo's build and the command line keep their one transaction.
    if end_reading and session.get_bind().dialect.name == "sqlite":
        await session.commit()
    outputs = await asyncio.to_thread(_compute, inputs, progress)
    run = AlertRun(trigger=trigger, started_at=now, data_through=through, reports_seen=seen, last_report_id=last_id)
    session.add(run)
    await session.flush()
    raised: list[Alert] = []
    run.alerts_updated = await _store_series(session, run, context, outputs.sensors.findings, raised)
    run.alerts_updated += await _store_series(session, run, context, outputs.counts.findings, raised)
    run.alerts_updated += await _store_series(session, run, context, outputs.weekly.findings, raised)
    run.alerts_updated += await _store_clusters(session, run, context, outputs.clusters, raised)
    await _store_forecasts(session, outputs.forecasts)
    judged = (outputs.sensors, outputs.counts, outputs.weekly)
    run.series_checked = sum(j.checked for j in judged)
    run.not_enough_data = sum(len(j.not_enough) for j in judged)
    run.alerts_raised = len(raised)
    run.forecasts_made = sum(1 for f in outputs.forecasts if f.state == "forecast")
    run.finished_at = utcnow()
    await session.flush()
    for alert in raised:
        await notify_staff(session, alert)
        await announce(session, AlertRaised(alert_id=alert.id, neighbourhood_id=alert.neighbourhood_id))
    return run
