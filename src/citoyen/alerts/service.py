"""Alerts: the domain's public front (pages, the API, the CLI, the app and tests import from here).

- `compute.py`: the maths of a run (detectors, forecasts and the scan of `citoyen.foresight`), without storage;
- `run.py`: a run: reads the series through the sensing, reports and indicators services, stores alerts and
  forecasts, notifies the concerned staff and announces `AlertRaised`;
- `notify.py`: who is told and who may mark an alert.

Alerts read other domains only through their services; no domain imports alerts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.alerts.compute import SCAN_RECENT_DAYS
from citoyen.alerts.models import Alert, AlertKind, AlertRun, AlertStatus, Forecast
from citoyen.alerts.notify import may_mark, notify_staff
from citoyen.alerts.run import last_run, run_foresight
from citoyen.config import Settings
from citoyen.db import utcnow
from citoyen.errors import Kind, Refusal
from citoyen.housekeeping import Housekeeping
from citoyen.i18n import N_
from citoyen.people.registry import PersonalDataProvider, PersonalDataRegistry
from citoyen.people.service import Person

__all__ = [
    "Alert",
    "AlertError",
    "AlertFilters",
    "AlertKind",
    "AlertRun",
    "AlertStatus",
    "Forecast",
    "Reliability",
    "get_alert",
    "get_forecast",
    "last_run",
    "list_alerts",
    "mark_alert",
    "may_mark",
    "notify_staff",
    "recent_clusters",
    "register_housekeeping",
    "register_personal_data",
    "reliability",
    "run_foresight",
]

PAGE_SIZE = 50


class AlertError(Refusal):
    """A refused request about alerts."""


@dataclass(frozen=True)
class AlertFilters:
    neighbourhood_id: int | None = None
    kind: AlertKind | None = None
    status: AlertStatus | None = None


def parse_filters(neighbourhood_id: int | None, kind: str | None, status: str | None) -> AlertFilters:
    """The feed's filters from a query string: 400 for an unknown kind or status."""
    try:
        chosen_kind = AlertKind(kind) if kind else None
    except ValueError:
        raise AlertError(N_("Unknown kind of alert."), Kind.INVALID, "kind") from None
    try:
        chosen_status = AlertStatus(status) if status else None
    except ValueError:
        raise AlertError(N_("Unknown status of alert."), Kind.INVALID, "status") from None
    return AlertFilters(neighbourhood_id, chosen_kind, chosen_status)


async def list_alerts(
    session: AsyncSession, filters: AlertFilters, offset: int = 0, limit: int = PAGE_SIZE
) -> tuple[list[Alert], int]:
    """The alerts matching the filters, the most recent day first, and how many match."""
    query = select(Alert)
    if filters.neighbourhood_id is not None:
        query = query.where(Alert.neighbourhood_id == filters.neighbourhood_id)
    if filters.kind is not None:
        query = query.where(Alert.kind == filters.kind)
    if filters.status is not None:
        query = query.where(Alert.status == filters.status)
    total = int((await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one())
    rows = await session.execute(query.order_by(Alert.day.desc(), Alert.id.desc()).offset(offset).limit(limit))
    return list(rows.scalars()), total


async def get_alert(session: AsyncSession, alert_id: int) -> Alert:
    alert = await session.get(Alert, alert_id)
    if alert is None:
        raise AlertError(N_("Unknown alert."), Kind.NOT_FOUND, "alert")
    return alert


async def mark_alert(session: AsyncSession, actor: Person, alert_id: int, status: str) -> Alert:
    """Staff of the concerned department confirm an alert or mark it a false alarm (or set it back to new)."""
    alert = await get_alert(session, alert_id)
    if not may_mark(actor, alert):
        raise AlertError(N_("Only staff of the concerned department may mark this alert."), Kind.FORBIDDEN)
    try:
        alert.status = AlertStatus(status)
    except ValueError:
        raise AlertError(N_("Unknown status of alert."), Kind.INVALID, "status") from None
    alert.marked_by_id = actor.id if alert.status != AlertStatus.NEW else None
    alert.marked_at = utcnow() if alert.status != AlertStatus.NEW else None
    await session.flush()
    return alert


@dataclass(frozen=True)
class Reliability:
    """One detector's record: its alerts, how many staff confirmed or called false alarms, and still new."""

    detector: str
    total: int
    confirmed: int
    false_alarms: int

    @property
    def unmarked(self) -> int:
        return self.total - self.confirmed - self.false_alarms


async def reliability(session: AsyncSession) -> list[Reliability]:
    query = select(Alert.detector, Alert.status, func.count()).group_by(Alert.detector, Alert.status)
    counts: dict[str, dict[AlertStatus, int]] = {}
    for detector, status, count in (await session.execute(query)).all():
        counts.setdefault(detector, {})[AlertStatus(status)] = int(count)
    return [
        Reliability(
            detector,
            sum(by.values()),
            by.get(AlertStatus.CONFIRMED, 0),
            by.get(AlertStatus.FALSE_ALARM, 0),
        )
        for detector, by in sorted(counts.items())
    ]


async def recent_clusters(session: AsyncSession, today: date, category: str | None = None) -> list[Alert]:
    """The clusters of reports still recent (ended within SCAN_RECENT_DAYS before `today`) and not called false
    alarms, of one category when given: what the reports map draws."""
    query = select(Alert).where(
        Alert.kind == AlertKind.REPORT_CLUSTER,
        Alert.day >= today - timedelta(days=SCAN_RECENT_DAYS),
        Alert.status != AlertStatus.FALSE_ALARM,
        Alert.lon.is_not(None),
    )
    if category:
        query = query.where(Alert.category == category)
    return list((await session.execute(query.order_by(Alert.day.desc(), Alert.id.desc()))).scalars())


async def get_forecast(session: AsyncSession, series_key: str) -> Forecast | None:
    """The stored forecast of a series ("indicator:<id>" or "datastream:<id>"); None: never computed yet."""
    return (await session.execute(select(Forecast).where(Forecast.series_key == series_key))).scalar_one_or_none()


def register_housekeeping(housekeeping: Housekeeping, settings: Settings) -> None:
    """The early warning is recomputed on the housekeeping round when a day or reports came since the last run
    (at most once an hour); its maths runs in a worker thread."""

    async def scheduled(session: AsyncSession, now: datetime) -> int:
        run = await run_foresight(
            session, "schedule", now=now, departments=settings.alert_departments, end_reading=True
        )
        return 0 if run is None else run.alerts_raised + run.forecasts_made

    # Its maths runs for seconds between reading and writing: it ends its reading transaction before (run.py), so it
    # does not hold the app's SQLite write turn meanwhile.
    housekeeping.add("alerts: detectors, forecasts and the report scan", scheduled, own_write_turn=True)


async def _export(session: AsyncSession, person: Person) -> dict[str, list[dict[str, Any]]]:
    rows = await session.execute(select(Alert).where(Alert.marked_by_id == person.id).order_by(Alert.id))
    return {
        "alerts_marked": [
            {"alert": a.id, "status": a.status.value, "marked_at": a.marked_at.isoformat() if a.marked_at else None}
            for a in rows.scalars()
        ]
    }


async def _erase(session: AsyncSession, person: Person) -> None:
    await session.execute(update(Alert).where(Alert.marked_by_id == person.id).values(marked_by_id=None))


def register_personal_data(registry: PersonalDataRegistry) -> None:
    registry.register(
        PersonalDataProvider(
            domain="alerts",
            description=N_("the alerts you marked as confirmed or as a false alarm (as staff)"),
            export=_export,
            erase=_erase,
        )
    )
