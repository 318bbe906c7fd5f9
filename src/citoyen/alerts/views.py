"""The alerts pages' typed views: the feed (filters, reliability per detector, the last run) and one alert, and
the forecast a chart draws (with its backtest sentence in the reader's language)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.alerts import service
from citoyen.alerts.models import Alert, AlertRun, Forecast
from citoyen.i18n import N_, format_day, format_number, format_ratio, get_translations
from citoyen.people import service as people
from citoyen.people.service import Person
from citoyen.territory import service as territory

SENTENCE = N_(
    "Over the last %(days)s days this forecast's error was %(ratio)s× that of repeating last week; its 80%% "
    "interval held %(coverage)s of the time."
)
DOES_NOT_BEAT = N_(
    "No forecast shown: over the last %(days)s days its error was %(ratio)s× that of repeating last week, "
    "so it does not beat that simple baseline."
)
NOT_ENOUGH = N_(
    "Not enough data for a forecast yet: %(have)s consecutive days, the forecast and its backtest need %(need)s."
)
CLUSTER_LABEL = N_(
    "Cluster of reports (%(name)s): %(observed)s reports from %(start)s to %(end)s where %(expected)s were expected."
)
NOT_YET = N_("No forecast computed yet: the early warning has not run on this series.")


@dataclass(frozen=True)
class FeedPage:
    alerts: list[Alert]
    total: int
    page: int
    pages: int
    filters: service.AlertFilters
    neighbourhoods: dict[int, str]
    reliability: list[service.Reliability]
    last_run: AlertRun | None
    markable: frozenset[int]


@dataclass(frozen=True)
class AlertPage:
    alert: Alert
    neighbourhood: str | None
    may_mark: bool
    marked_by: str | None


async def feed_page(session: AsyncSession, filters: service.AlertFilters, page: int, viewer: Person | None) -> FeedPage:
    alerts, total = await service.list_alerts(
        session, filters, offset=(page - 1) * service.PAGE_SIZE, limit=service.PAGE_SIZE
    )
    return FeedPage(
        alerts=alerts,
        total=total,
        page=page,
        pages=max(1, -(-total // service.PAGE_SIZE)),
        filters=filters,
        neighbourhoods=await territory.neighbourhood_names(session),
        reliability=await service.reliability(session),
        last_run=await service.last_run(session),
        markable=frozenset(a.id for a in alerts if service.may_mark(viewer, a)),
    )


async def alert_page(session: AsyncSession, alert_id: int, viewer: Person | None) -> AlertPage:
    alert = await service.get_alert(session, alert_id)
    names = await territory.neighbourhood_names(session)
    marked_by = None
    if alert.marked_by_id is not None and viewer is not None and viewer.is_staff:
        marked_by = (await people.display_names(session, [alert.marked_by_id])).get(alert.marked_by_id)
    return AlertPage(
        alert=alert,
        neighbourhood=names.get(alert.neighbourhood_id) if alert.neighbourhood_id is not None else None,
        may_mark=service.may_mark(viewer, alert),
        marked_by=marked_by,
    )


def forecast_json(forecast: Forecast | None, series_key: str, locale: str) -> dict[str, Any]:
    """What a chart draws: the recent days, the 7 days ahead with their 80 % and 95 % bands (only when the
    forecast beats seasonal naive), its state and the sentence that says how good it was or why it is absent."""
    gettext = get_translations(locale).gettext
    if forecast is None:
        return {"series": series_key, "state": "not_computed", "sentence": gettext(NOT_YET), "points": [], "recent": []}
    values: dict[str, str] = {"days": format_number(forecast.window, locale)}
    if forecast.error_ratio is not None:
        values["ratio"] = format_number(forecast.error_ratio, locale, 2)
    if forecast.coverage80 is not None:
        values["coverage"] = format_ratio(forecast.coverage80, locale)
    if forecast.state == "forecast":
        sentence = gettext(SENTENCE) % values
    elif forecast.state == "does_not_beat":
        sentence = gettext(DOES_NOT_BEAT) % values
    else:
        sentence = gettext(NOT_ENOUGH) % {
            "have": format_number(forecast.days_available, locale),
            "need": format_number(forecast.days_needed, locale),
        }
    return {
        "series": series_key,
        "state": forecast.state,
        "origin": forecast.origin.isoformat() if forecast.origin else None,
        "made_at": forecast.made_at.isoformat(),
        "method": forecast.method,
        "error_ratio": forecast.error_ratio,
        "coverage80": forecast.coverage80,
        "backtest_days": forecast.window,
        "sentence": sentence,
        "points": forecast.points if forecast.state == "forecast" else [],
        "recent": forecast.recent,
    }


def cluster_feature(alert: Alert, locale: str) -> dict[str, Any]:
    """A cluster alert as a GeoJSON point feature for the reports map: its circle, period, counts and a label."""
    gettext = get_translations(locale).gettext
    name = alert.subject_name_en if locale == "en" and alert.subject_name_en else alert.subject_name
    label = gettext(CLUSTER_LABEL) % {
        "name": name,
        "observed": format_number(alert.observed or 0, locale),
        "start": format_day(alert.period_start.date() if alert.period_start else alert.since, locale),
        "end": format_day(alert.day, locale),
        "expected": format_number(alert.cluster_expected or 0.0, locale, 1),
    }
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [alert.lon, alert.lat]},
        "properties": {
            "id": alert.id,
            "category": alert.category,
            "radius_m": alert.radius_m,
            "start": alert.period_start.isoformat() if alert.period_start else None,
            "end": alert.period_end.isoformat() if alert.period_end else None,
            "observed": alert.observed,
            "expected": alert.cluster_expected,
            "p_value": alert.p_value,
            "status": alert.status.value,
            "url": f"/alerts/{alert.id}",
            "label": label,
        },
    }
