"""The alerts pages: the feed (`/alerts`, filtered by neighbourhood, kind and status), one alert with its chart
or its cluster's map and why it fired, and the staff's marking (confirmed / false alarm)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from babel.numbers import format_decimal
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from citoyen.alerts import service, views
from citoyen.alerts.compute import SCAN_REPLICATES
from citoyen.db import DbSession
from citoyen.errors import Kind
from citoyen.i18n import N_, format_day, format_moment, format_ratio
from citoyen.web.forms import field, see_other
from citoyen.web.params import PageNumber, PathId, parse_id
from citoyen.web.security import CurrentPerson, Form, StaffPerson
from citoyen.web.templating import flash, locale_of, render

router = APIRouter(include_in_schema=False)

KIND_LABELS = {
    service.AlertKind.SENSOR: N_("Sensor series"),
    service.AlertKind.REPORT_COUNTS: N_("Report counts per day"),
    service.AlertKind.REPORT_COUNTS_WEEKLY: N_("Report counts per week"),
    service.AlertKind.REPORT_CLUSTER: N_("Cluster of reports"),
}
STATUS_LABELS = {
    service.AlertStatus.NEW: N_("New"),
    service.AlertStatus.CONFIRMED: N_("Confirmed"),
    service.AlertStatus.FALSE_ALARM: N_("False alarm"),
}
DETECTOR_LABELS = {
    "seasonal-robust": N_("Seasonal robust z-score (ours)"),
    "ears-c2": N_("EARS C2 (CDC)"),
    "space-time-scan": N_("Space-time permutation scan (Kulldorff)"),
}


def _helpers(request: Request) -> dict[str, Any]:
    locale = locale_of(request)
    return {
        "number": lambda value: format_decimal(value, format="#,##0.##", locale=locale),
        "day": lambda value: format_day(value, locale),
        "moment": lambda value: format_moment(value, locale, request.app.state.settings.zone),
        "percent": lambda value: format_ratio(value, locale),
        "kind_labels": KIND_LABELS,
        "status_labels": STATUS_LABELS,
        "detector_labels": DETECTOR_LABELS,
        "scan_replicates": SCAN_REPLICATES,
        "timedelta": timedelta,  # a weekly alert's `day` is its last week's Sunday: the week began 6 days before
    }


@router.get("/alerts")
async def alerts_page(
    request: Request,
    session: DbSession,
    viewer: CurrentPerson,
    neighbourhood: Annotated[str, Query(max_length=12)] = "",
    kind: Annotated[str, Query(max_length=20)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
    page: PageNumber = 1,
) -> Response:
    # The filters' form sends an empty neighbourhood for "all".
    neighbourhood_id = parse_id(neighbourhood) if neighbourhood else None
    if neighbourhood and neighbourhood_id is None:
        raise service.AlertError(N_("Unknown neighbourhood."), Kind.INVALID, "neighbourhood")
    filters = service.parse_filters(neighbourhood_id, kind or None, status or None)
    view = await views.feed_page(session, filters, page, viewer)
    query = "&".join(
        f"{name}={value}"
        for name, value in (("neighbourhood", neighbourhood_id or ""), ("kind", kind), ("status", status))
        if value
    )
    return render(request, "alerts/feed.html", {"page": view, "query": query, **_helpers(request)})


@router.get("/alerts/{alert_id}")
async def alert_page(request: Request, session: DbSession, viewer: CurrentPerson, alert_id: PathId) -> Response:
    view = await views.alert_page(session, alert_id, viewer)
    return render(request, "alerts/alert.html", {"page": view, **_helpers(request)})


@router.post("/alerts/{alert_id}/mark")
async def mark_alert(
    request: Request, session: DbSession, person: StaffPerson, form: Form, alert_id: PathId
) -> Response:
    alert = await service.mark_alert(session, person, alert_id, field(form, "status"))
    flash(
        request,
        N_("The alert is marked as a false alarm.")
        if alert.status == service.AlertStatus.FALSE_ALARM
        else N_("The alert is marked as confirmed.")
        if alert.status == service.AlertStatus.CONFIRMED
        else N_("The alert is new again."),
        "success",
    )
    return see_other(f"/alerts/{alert_id}")
