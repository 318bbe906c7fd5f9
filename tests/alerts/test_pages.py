"""The alerts pages in French and English: the feed with its filters and the detectors' record, an alert with
why it fired, staff of the department marking it; the forecasts' JSON for the charts."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.alerts import service
from citoyen.people import service as people
from tests.alerts.helpers import create_alerts_world
from tests.conftest import csrf_token
from tests.factories import log_in
from tests.sensing.helpers import create_station


async def test_the_feed_an_alert_and_a_false_alarm_in_french_and_english(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    world = await create_alerts_world(session)
    await service.run_foresight(session, "command", now=world.now, force=True)
    [alert] = (await service.list_alerts(session, service.AlertFilters()))[0]
    await session.commit()

    french = await client.get("/alerts", headers={"Accept-Language": "fr"})
    assert french.status_code == 200
    assert f'href="/alerts/{alert.id}"' in french.text and "Nombre de signalements" in french.text
    assert "EARS C2" in french.text and "séries jugées" in french.text
    english = await client.get(
        f"/alerts?kind=report_counts&status=new&neighbourhood={alert.neighbourhood_id}",
        headers={"Accept-Language": "en"},
    )
    assert f'data-alert="{alert.id}"' in english.text and "Report counts" in english.text
    none = await client.get("/alerts?kind=report_cluster", headers={"Accept-Language": "en"})
    assert "No alert matches these filters." in none.text
    assert (await client.get("/alerts?kind=rumour")).status_code == 400
    assert (await client.get("/alerts?neighbourhood=&kind=&status=")).status_code == 200  # the form's "all"
    assert (await client.get("/alerts?neighbourhood=abc")).status_code == 400
    assert (await client.get("/alerts/999999")).status_code == 404

    page = await client.get(f"/alerts/{alert.id}", headers={"Accept-Language": "en"})
    assert "where 1 was expected" in page.text and 'id="alert-chart"' in page.text
    assert "False alarm" not in page.text.split("Why it fired")[1].split("</h2>")[0]
    assert 'action="/alerts/' not in page.text  # not signed in: no marking form

    await log_in(client, world.lighting_staff.email)
    staff_page = await client.get(f"/alerts/{alert.id}", headers={"Accept-Language": "fr"})
    assert f'action="/alerts/{alert.id}/mark"' in staff_page.text and "Fausse alerte" in staff_page.text
    token = await csrf_token(client, f"/alerts/{alert.id}")
    marked = await client.post(f"/alerts/{alert.id}/mark", data={"status": "false_alarm", "csrf_token": token})
    assert marked.status_code == 303
    feed = await client.get("/alerts", headers={"Accept-Language": "en"})
    assert "<td data-false-alarms>1</td>" in feed.text

    # A weekly alert says which week, in both languages, and has a filter of its own.
    weekly = service.Alert(
        kind=service.AlertKind.REPORT_COUNTS_WEEKLY,
        detector="seasonal-robust",
        subject_key="reports-weekly:1:streetlight",
        subject_name="Lampadaire",
        subject_name_en="Street light",
        since=date(2026, 11, 30),
        day=date(2026, 12, 6),
        value=42.0,
        expected=14.0,
        expected_low=9.0,
        expected_high=19.0,
        score=15.0,
        threshold=2.5,
        recent=[["2026-11-23", 14.0], ["2026-11-30", 42.0]],
    )
    session.add(weekly)
    await session.commit()
    listed = await client.get("/alerts?kind=report_counts_weekly", headers={"Accept-Language": "en"})
    assert f'data-alert="{weekly.id}"' in listed.text and f'data-alert="{alert.id}"' not in listed.text
    english_week = (await client.get(f"/alerts/{weekly.id}", headers={"Accept-Language": "en"})).text
    assert "Report counts per week" in english_week and "42 reports where 14 were expected" in english_week
    assert "In the week from" in english_week and "Reports in the week" in english_week
    french_week = (await client.get(f"/alerts/{weekly.id}", headers={"Accept-Language": "fr"})).text
    assert "Dans la semaine du" in french_week and "42 signalements" in french_week


async def test_recent_clusters_are_drawn_on_the_reports_map(session: AsyncSession, client: httpx.AsyncClient) -> None:
    """The reports map lists the scan's recent clusters (GeoJSON, with their period, counts and a sentence in the
    reader's language, linking to the alert); a false alarm or an old cluster is not drawn."""
    world = await create_alerts_world(session, quiet_days=0, burst=0)
    today = world.now.date()
    made = []
    for days_ago, status in ((2, "new"), (3, "false_alarm"), (40, "new")):
        start = datetime.combine(today - timedelta(days=days_ago + 3), time.min, UTC)
        cluster = service.Alert(
            kind=service.AlertKind.REPORT_CLUSTER,
            detector="space-time-scan",
            subject_key=f"cluster:streetlight:{days_ago}",
            subject_name="Lampadaire",
            subject_name_en="Street light",
            category="streetlight",
            since=start.date(),
            day=today - timedelta(days=days_ago),
            lon=2.305,
            lat=48.855,
            radius_m=180.0,
            period_start=start,
            period_end=start + timedelta(days=3),
            observed=21,
            cluster_expected=3.4,
            p_value=0.01,
            status=service.AlertStatus(status),
        )
        session.add(cluster)
        made.append(cluster)
    await session.commit()

    english = await client.get("/api/alerts/clusters", headers={"Accept-Language": "en"})
    assert english.headers["content-type"].startswith("application/geo+json")
    [feature] = english.json()["features"]
    assert feature["geometry"]["coordinates"] == [2.305, 48.855]
    assert feature["properties"]["url"] == f"/alerts/{made[0].id}" and feature["properties"]["radius_m"] == 180
    assert feature["properties"]["label"].startswith("Cluster of reports (Street light): 21 reports from")
    french = (await client.get("/api/alerts/clusters", headers={"Accept-Language": "fr"})).json()
    assert "21\u00a0signalements" in french["features"][0]["properties"]["label"]
    assert (await client.get("/api/alerts/clusters?category=pothole")).json()["features"] == []

    page = await client.get("/reports?category=streetlight", headers={"Accept-Language": "en"})
    assert 'data-clusters-url="/api/alerts/clusters?category=streetlight"' in page.text
    assert "clusters of reports the early warning found" in page.text


async def test_a_forecast_is_drawn_only_when_it_beats_seasonal_naive(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    _token, secret = await people.create_api_token(session, "Sensor gateway", ["sensing:write"])
    await session.commit()
    judged, unjudged = (await create_station(client, secret))["Datastreams"][:2]
    points = [{"day": "2026-12-07", "yhat": 10.0, "lo80": 8.0, "hi80": 12.0, "lo95": 7.0, "hi95": 13.0}]
    made = datetime(2026, 12, 7, tzinfo=UTC)
    judged_key = f"datastream:{judged['@iot.id']}"
    for key, state, ratio in (("indicator:reports-filed", "forecast", 0.8), (judged_key, "does_not_beat", 1.2)):
        session.add(
            service.Forecast(
                series_key=key,
                state=state,
                error_ratio=ratio,
                coverage80=0.81,
                window=90,
                points=points,
                made_at=made,
                origin=date(2026, 12, 6),
                recent=[["2026-12-06", 9.0]],
            )
        )
    await session.commit()

    shown = (await client.get("/api/forecasts/indicators/reports-filed", headers={"Accept-Language": "en"})).json()
    assert shown["state"] == "forecast" and shown["points"] == points
    assert shown["sentence"] == (
        "Over the last 90 days this forecast's error was 0.80× that of repeating last week; its 80% interval held "
        "81% of the time."
    )
    french = (await client.get("/api/forecasts/indicators/reports-filed", headers={"Accept-Language": "fr"})).json()
    assert "0,80" in french["sentence"] and "81\u00a0%" in french["sentence"]
    hidden = (
        await client.get(f"/api/forecasts/datastreams/{judged['@iot.id']}", headers={"Accept-Language": "en"})
    ).json()
    assert hidden["state"] == "does_not_beat" and hidden["points"] == [] and "does not beat" in hidden["sentence"]
    never = (await client.get("/api/forecasts/indicators/air-atmo")).json()
    assert never["state"] == "not_computed" and never["points"] == []
    assert (await client.get("/api/forecasts/indicators/unknown")).status_code == 404
    assert (await client.get(f"/api/forecasts/datastreams/{unjudged['@iot.id']}")).json()["state"] == "not_computed"
    assert (await client.get("/api/forecasts/datastreams/999999")).status_code == 404  # unknown, or not public
    page = await client.get("/indicators", headers={"Accept-Language": "en"})
    assert page.status_code == 200
