"""Who is told of a new alert, and who may mark it: the staff of the concerned department (for reports, the
department reports of its category and neighbourhood are routed to; for a sensor, the department its Thing's
kind maps to in `Settings.alert_departments`, or the one its properties name); for an alert without a
department, the staff without a department. Administrators may always mark; they are told when nobody else
would be."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.alerts.models import Alert, AlertKind
from citoyen.i18n import N_, get_translations, localized
from citoyen.notifications import service as notifications
from citoyen.people import service as people

TITLES = {
    AlertKind.SENSOR: N_("Alert: unusual values from the sensor %(name)s"),
    AlertKind.REPORT_COUNTS: N_("Alert: unusually many reports (%(name)s)"),
    AlertKind.REPORT_COUNTS_WEEKLY: N_("Alert: unusually many reports this week (%(name)s)"),
    AlertKind.REPORT_CLUSTER: N_("Alert: a cluster of reports (%(name)s)"),
}
BODY = N_("Confirm it or mark it as a false alarm: each detector's record is public.")


def may_mark(person: people.Person | None, alert: Alert) -> bool:
    """Staff of the alert's department (any staff without a department when it has none), or an administrator."""
    if person is None or not person.is_staff:
        return False
    return person.is_admin or person.department_id == alert.department_id


async def concerned_staff(session: AsyncSession, alert: Alert) -> list[people.Person]:
    staff, _ = await people.search_people(session, role=people.Role.STAFF, per_page=10_000)
    chosen = [p for p in staff if p.is_active and p.department_id == alert.department_id]
    if not chosen:
        admins, _ = await people.search_people(session, role=people.Role.ADMIN, per_page=10_000)
        chosen = [p for p in admins if p.is_active]
    return chosen


async def notify_staff(session: AsyncSession, alert: Alert) -> int:
    """Tell the concerned staff, each in their language; returns how many were told."""
    told = 0
    for person in await concerned_staff(session, alert):
        gettext = get_translations(person.locale).gettext
        french, english = notifications.in_both_languages(
            lambda translate, locale: (
                translate(TITLES[alert.kind]) % {"name": localized(locale, alert.subject_name, alert.subject_name_en)}
            )
        )
        await notifications.notify(session, person.id, french, gettext(BODY), f"/alerts/{alert.id}", title_en=english)
        told += 1
    return told
