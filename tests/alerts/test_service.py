"""The alert lifecycle: a run raises an alert on a burst of reports, tells the concerned department's staff,
announces it; staff of that department (only) mark it; the page's per-detector record counts it; a second run
on the same data changes nothing. And a forecast that does not beat seasonal naive is not shown."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.alerts import compute, service, views
from citoyen.alerts import run as alerts_run
from citoyen.app import build_event_hub
from citoyen.db import make_engine, make_sessionmaker
from citoyen.errors import Kind
from citoyen.events import AlertRaised
from citoyen.foresight import forecasts
from citoyen.notifications import service as notifications
from tests.alerts.helpers import create_alerts_world


async def _alerts(session: AsyncSession) -> list[service.Alert]:
    return list((await session.execute(select(service.Alert).order_by(service.Alert.id))).scalars())


async def test_a_burst_of_reports_raises_one_alert_for_its_department_and_staff_mark_it(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await create_alerts_world(session)
    announced: list[object] = []

    async def remember(_session: AsyncSession, event: object) -> None:
        announced.append(event)

    monkeypatch.setattr("citoyen.alerts.run.announce", remember)
    run = await service.run_foresight(session, "command", now=world.now, force=True)
    assert run is not None and run.alerts_raised == 1
    [alert] = await _alerts(session)
    assert alert.kind == service.AlertKind.REPORT_COUNTS and alert.category == "streetlight"
    assert alert.detector == "ears-c2"  # 21 days: too short for ours (112), enough for EARS C2
    assert alert.value == 6 and alert.expected == 1 and alert.since == alert.day == world.now.date() - timedelta(1)
    assert alert.expected_high is not None and alert.value > alert.expected_high
    assert alert.department_id == world.reports.lighting.id
    assert announced == [AlertRaised(alert_id=alert.id, neighbourhood_id=alert.neighbourhood_id)]

    told = await notifications.list_notifications(session, world.lighting_staff)
    assert [n.link for n in told] == [f"/alerts/{alert.id}"]
    assert await notifications.list_notifications(session, world.roads_staff) == []

    for outsider in (world.citizen, world.roads_staff):
        with pytest.raises(service.AlertError) as refused:
            await service.mark_alert(session, outsider, alert.id, "false_alarm")
        assert refused.value.kind == Kind.FORBIDDEN
    with pytest.raises(service.AlertError):
        await service.mark_alert(session, world.lighting_staff, alert.id, "maybe")
    await service.mark_alert(session, world.lighting_staff, alert.id, "false_alarm")
    assert alert.status == service.AlertStatus.FALSE_ALARM and alert.marked_by_id == world.lighting_staff.id
    assert await service.reliability(session) == [service.Reliability("ears-c2", 1, 0, 1)]
    await service.mark_alert(session, world.lighting_staff, alert.id, "confirmed")
    assert await service.reliability(session) == [service.Reliability("ears-c2", 1, 1, 0)]

    # The same data again: forced, nothing new; on the schedule, not even a run.
    again = await service.run_foresight(session, "command", now=world.now, force=True)
    assert again is not None and again.alerts_raised == 0
    assert [(a.id, a.status) for a in await _alerts(session)] == [(alert.id, service.AlertStatus.CONFIRMED)]
    assert await service.run_foresight(session, "schedule", now=world.now) is None
    assert len(await notifications.list_notifications(session, world.lighting_staff)) == 1
    runs = (await session.execute(select(func.count()).select_from(service.AlertRun))).scalar_one()
    assert runs == 2

    # Who marked it is the staff member's personal data: exported, and erased with them (the alert stays).
    from citoyen.app import build_personal_data_registry
    from citoyen.people import service as people

    exported = await people.export_personal_data(session, build_personal_data_registry(), world.lighting_staff)
    assert f'"alert": {alert.id}' in json.dumps(exported, default=str)
    await people.erase_person(session, build_personal_data_registry(), world.lighting_staff)
    await session.refresh(alert)
    assert [(a.marked_by_id, a.status) for a in await _alerts(session)] == [(None, service.AlertStatus.CONFIRMED)]


def test_a_series_too_short_is_not_enough_data_never_an_alarm() -> None:
    through = date(2026, 12, 6)
    burst = {through - timedelta(days=i): 1.0 for i in range(1, 6)} | {through: 8.0}
    judged = compute.judge([compute.DailySeries("reports:1:leak", burst, counts=True)], through, None)
    assert judged.findings == [] and judged.not_enough == ["reports:1:leak"] and judged.checked == 1
    longer = {through - timedelta(days=i): 1.0 for i in range(1, 21)} | {through: 8.0}
    fired = compute.judge([compute.DailySeries("reports:1:leak", longer, counts=True)], through, None)
    assert [(f.detector, f.since, f.value) for f in fired.findings] == [("ears-c2", through, 8.0)]


def test_a_forecast_that_does_not_beat_seasonal_naive_is_not_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    through = date(2026, 12, 6)
    values = {through - timedelta(days=i): float(10 + i % 7) for i in range(400)}
    real = forecasts.forecast

    def worse_than_naive(series: object, first: int, horizon: int, method: str) -> object:
        paths, ratio = real(series, first, horizon, "seasonal-naive")  # type: ignore[arg-type]
        return paths, np.full(len(ratio), 1.07)

    monkeypatch.setattr(forecasts, "forecast", worse_than_naive)
    result = compute.predict(compute.DailySeries("indicator:x", values), through)
    assert result.state == "does_not_beat" and result.points == [] and result.error_ratio == pytest.approx(1.07)
    short = compute.predict(compute.DailySeries("indicator:y", {through: 1.0}), through)
    assert short.state == "not_enough_data" and short.days_available == 1 and short.days_needed > 200

    row = service.Forecast(
        series_key="indicator:x",
        state=result.state,
        error_ratio=1.07,
        window=90,
        points=[],
        made_at=datetime(2026, 12, 7, tzinfo=UTC),
    )
    shown = views.forecast_json(row, "indicator:x", "en")
    assert shown["points"] == [] and "1.07" in shown["sentence"] and "does not beat" in shown["sentence"]


async def test_a_sensor_alert_goes_to_the_department_of_its_kind_and_to_the_quartier_s_followers(
    session: AsyncSession,
) -> None:
    """An air sensor's alert is the environment department's (Settings.alert_departments maps the kind); a
    Datastream whose properties name a department is that department's; its staff are told and may mark it, other
    staff may not; a follower of the sensor's quartier is told in the app and in their digest."""
    from citoyen.participation.follows import service as follows
    from citoyen.participation.follows.models import DigestEntry
    from citoyen.people import service as people
    from citoyen.people.models import Role
    from citoyen.sensing.models import ThingKind
    from citoyen.territory import service as territory
    from tests.alerts.helpers import create_sensor
    from tests.factories import create_person

    world = await create_alerts_world(session, quiet_days=0, burst=0)
    west = next(n.id for n in await territory.list_neighbourhoods(session) if n.name == "Ouest")
    environment = await people.create_department(session, "environnement", "Environnement")
    green = await create_person(session, role=Role.STAFF)
    green.department_id = environment.id
    follower = await create_person(session)
    await people.record_consent(session, follower, follows.EMAIL_PURPOSE, True)
    await follows.follow(session, follower, "neighbourhood", west)
    yesterday = world.now.date() - timedelta(days=1)
    quiet = {yesterday - timedelta(days=i): 10.0 + i % 2 for i in range(1, 21)}
    air = await create_sensor(session, ThingKind.AIR, west, quiet | {yesterday: 40.0})
    lights = await create_sensor(session, ThingKind.AIR, None, quiet | {yesterday: 40.0}, {"department": "eclairage"})

    run = await service.run_foresight(
        session, "command", now=world.now, force=True, departments={"air": "environnement"}
    )
    assert run is not None and run.alerts_raised == 2
    by_stream = {a.datastream_id: a for a in await _alerts(session)}
    assert {a.kind for a in by_stream.values()} == {service.AlertKind.SENSOR}
    assert by_stream[air.id].department_id == environment.id and by_stream[air.id].neighbourhood_id == west
    assert by_stream[lights.id].department_id == world.reports.lighting.id

    link = f"/alerts/{by_stream[air.id].id}"
    assert [n.link for n in await notifications.list_notifications(session, green)] == [link]
    assert [n.link for n in await notifications.list_notifications(session, world.roads_staff)] == []
    told = await notifications.list_notifications(session, follower)
    assert [n.link for n in told] == [link] and by_stream[air.id].subject_name in told[0].title
    digest = (await session.execute(select(DigestEntry).where(DigestEntry.person_id == follower.id))).scalars()
    assert [entry.link for entry in digest] == [link]

    with pytest.raises(service.AlertError):
        await service.mark_alert(session, world.roads_staff, by_stream[air.id].id, "confirmed")
    await service.mark_alert(session, green, by_stream[air.id].id, "confirmed")
    assert by_stream[air.id].status == service.AlertStatus.CONFIRMED


def test_weekly_report_counts_judge_each_ended_week_with_the_weeks_before_it_only() -> None:
    """Counts are also summed Monday to Sunday: a week of many reports fires as one weekly alert (from its Monday
    to its Sunday); the week still running is not judged, and changing the days after the judged week moves
    nothing (no look-ahead)."""
    through = date(2026, 12, 9)  # a Wednesday: the last week that ended is Monday 30 November to Sunday 6 December
    past = {date(2026, 11, 29) - timedelta(days=i): float(1 + i % 3) for i in range(300)}
    burst = {date(2026, 11, 30) + timedelta(days=i): 6.0 for i in range(7)}
    item = compute.DailySeries("reports:1:leak", past | burst, counts=True, weekly_key="reports-weekly:1:leak")
    judged = compute.judge([item], through, None, weekly=True)
    [finding] = judged.findings
    assert (finding.key, finding.detector) == ("reports-weekly:1:leak", "seasonal-robust")
    assert (finding.since, finding.day, finding.value) == (date(2026, 11, 30), date(2026, 12, 6), 42.0)
    assert finding.high is not None and finding.expected < finding.high < 42
    assert finding.recent[-1] == ("2026-11-30", 42.0)

    running = {date(2026, 12, 7) + timedelta(days=i): 50.0 for i in range(3)}
    later = compute.DailySeries(item.key, item.values | running, counts=True, weekly_key=item.weekly_key)
    assert compute.judge([later], through, None, weekly=True).findings == judged.findings
    # A quiet last week: no weekly alarm; and the daily series alone is not judged weekly without its key.
    quiet = compute.DailySeries(item.key, past | {d: 2.0 for d in burst}, counts=True, weekly_key=item.weekly_key)
    assert compute.judge([quiet], through, None, weekly=True).findings == []
    assert compute.judge([compute.DailySeries("x", item.values, counts=True)], through, None, weekly=True).checked == 0


async def test_a_run_stores_its_alerts_on_sqlite_although_the_city_wrote_while_it_computed(
    own_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite cannot make a writer of a transaction that read before another connection wrote: a run that kept its
    reading transaction through the maths failed at its first INSERT ("database is locked") whenever a report, a
    reading or a login was written meanwhile, as in the demo's first scheduled run."""
    if not own_database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's snapshots can write after others wrote: nothing of SQLite's locking to check")
    engine = make_engine(own_database_url)
    sessions = make_sessionmaker(engine, build_event_hub())
    computing = alerts_run._compute
    database_file = own_database_url.split(":///", 1)[1]

    def compute_while_the_city_writes(*args: object) -> object:
        with sqlite3.connect(database_file) as other:  # another connection commits while the maths runs
            other.execute(
                "UPDATE people SET display_name = display_name || '.' WHERE id = (SELECT min(id) FROM people)"
            )
        return computing(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(alerts_run, "_compute", compute_while_the_city_writes)
    try:
        async with sessions() as session:
            world = await create_alerts_world(session)
            await session.commit()
        async with sessions() as session:
            run = await service.run_foresight(session, "schedule", now=world.now, force=True, end_reading=True)
            await session.commit()
        assert run is not None and run.alerts_raised >= 1
    finally:
        await engine.dispose()
