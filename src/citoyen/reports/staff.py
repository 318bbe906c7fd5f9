"""The staff workflow: who handles a report, a staff update recorded in the history (and the map
counts when the status changes), merging a duplicate into the original, and telling followers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen import events as domain_events
from citoyen.addresses import base_url
from citoyen.config import Settings
from citoyen.db import utcnow
from citoyen.events import ReportUpdated
from citoyen.i18n import N_, get_translations
from citoyen.notifications import service as notifications
from citoyen.people import service as people
from citoyen.people.mail import send_mail
from citoyen.people.service import Person
from citoyen.reports.errors import ReportError
from citoyen.reports.models import (
    CloseReason,
    EventKind,
    Report,
    ReportEvent,
    ReportFollower,
    ReportStatus,
    ReportSupport,
)
from citoyen.reports.repository import count_in_map
from citoyen.reports.supports import follow

STATUS_LABELS = {
    ReportStatus.OPEN: N_("open"),
    ReportStatus.ACKNOWLEDGED: N_("acknowledged"),
    ReportStatus.IN_PROGRESS: N_("in progress"),
    ReportStatus.CLOSED: N_("closed"),
}


CLOSE_REASON_LABELS = {
    CloseReason.FIXED: N_("fixed"),
    CloseReason.DUPLICATE: N_("duplicate of another report"),
    CloseReason.NOT_RESPONSIBLE: N_("not the city's responsibility"),
    CloseReason.NOT_FOUND: N_("problem not found on site"),
    CloseReason.NO_ACTION: N_("no action planned"),
}


def can_handle(actor: Person, report: Report) -> bool:
    """Admins handle every report; staff those of their department (or not yet routed)."""
    if actor.is_admin:
        return True
    return actor.is_staff and (report.department_id is None or report.department_id == actor.department_id)


def _require_handler(actor: Person, report: Report) -> None:
    if not can_handle(actor, report):
        raise ReportError(N_("This report belongs to another department."), "forbidden")


@dataclass
class StaffUpdate:
    """What a staff member changes on a report in one go; empty fields mean "no change"."""

    status: ReportStatus | None = None
    close_reason: CloseReason | None = None
    public_answer: str = ""
    internal_note: str = ""
    expected_at: datetime | None = None
    department_id: int | None = None


async def update_report(
    session: AsyncSession, settings: Settings, actor: Person, report: Report, change: StaffUpdate
) -> None:
    """Apply a staff update, record it in the history, and tell followers of every public change."""
    _require_handler(actor, report)
    now = utcnow()
    new_status = change.status or report.status
    if new_status == ReportStatus.CLOSED and report.status != ReportStatus.CLOSED and change.close_reason is None:
        raise ReportError(N_("Say why the report is closed."), field="close_reason")
    events: list[ReportEvent] = []

    def record(kind: EventKind, text: str, public: bool = True) -> None:
        events.append(
            ReportEvent(
                report_id=report.id, at=now, kind=kind, status=new_status, public=public, actor_id=actor.id, text=text
            )
        )

    if change.department_id is not None and change.department_id != report.department_id:
        report.department_id = change.department_id
        record(EventKind.REASSIGNED, str(change.department_id), public=False)
    if change.status is not None and change.status != report.status:
        closing = change.status == ReportStatus.CLOSED
        await count_in_map(session, report, report.status, -1)
        await count_in_map(session, report, change.status, 1)
        report.status = change.status
        report.close_reason = change.close_reason if closing else None
        report.closed_at = now if closing else None
        record(EventKind.STATUS, change.close_reason.value if closing and change.close_reason else "")
    if change.public_answer.strip():
        report.status_notes = change.public_answer.strip()[:4000]
        record(EventKind.ANSWER, report.status_notes)
    if change.expected_at is not None and change.expected_at != report.expected_at:
        report.expected_at = change.expected_at
        record(EventKind.EXPECTED, change.expected_at.isoformat())
    if change.internal_note.strip():
        record(EventKind.NOTE, change.internal_note.strip()[:4000], public=False)
    session.add_all(events)
    report.updated_at = now
    await session.flush()
    if any(event.public for event in events):
        await notify_followers(session, settings, report)
    await domain_events.announce(session, ReportUpdated(report_id=report.id, status=report.status.value))


async def merge_into(
    session: AsyncSession, settings: Settings, actor: Person, duplicate: Report, original: Report
) -> None:
    """Close `duplicate` as a duplicate of `original`, moving its followers and supports over.

    Both reports change (the original gains followers and supports), so the actor must handle both."""
    if duplicate.id == original.id:
        raise ReportError(N_("A report cannot be a duplicate of itself."))
    _require_handler(actor, duplicate)
    _require_handler(actor, original)
    followers = (
        await session.execute(select(ReportFollower).where(ReportFollower.report_id == duplicate.id))
    ).scalars()
    for follower in list(followers):
        await follow(session, original, follower.person_id, follower.email or "")
    moved = int(
        (await session.execute(select(func.count()).where(ReportSupport.report_id == duplicate.id))).scalar_one()
    )
    await session.execute(
        delete(ReportSupport).where(
            ReportSupport.report_id == duplicate.id,
            ReportSupport.supporter_key.in_(
                select(ReportSupport.supporter_key).where(ReportSupport.report_id == original.id)
            ),
        )
    )
    await session.execute(
        update(ReportSupport).where(ReportSupport.report_id == duplicate.id).values(report_id=original.id)
    )
    original.supports = (
        int((await session.execute(select(func.count()).where(ReportSupport.report_id == original.id))).scalar_one())
        + (duplicate.supports - moved)
        + 1
    )
    duplicate.duplicate_of_id = original.id
    await update_report(
        session,
        settings,
        actor,
        duplicate,
        StaffUpdate(status=ReportStatus.CLOSED, close_reason=CloseReason.DUPLICATE, public_answer=f"#{original.id}"),
    )


async def notify_followers(session: AsyncSession, settings: Settings, report: Report) -> None:
    """Tell each follower, in their language, in the app (active accounts) and by e-mail (queued: it leaves after
    commit). Followers with an account are looked up together, not one query each."""
    followers = list(
        (await session.execute(select(ReportFollower).where(ReportFollower.report_id == report.id))).scalars()
    )
    accounts = {
        recipient.id: recipient
        for recipient in await people.active_recipients(session, [follower.person_id for follower in followers])
    }
    addresses = await people.emails(session, accounts)
    link = f"/reports/{report.id}"
    for follower in followers:
        account = accounts.get(follower.person_id) if follower.person_id is not None else None
        if follower.person_id is not None and account is None:
            continue  # a suspended account is told nothing
        locale = account.locale if account else settings.default_locale
        _ = get_translations(locale).gettext
        title = _("Report #%(id)s is now: %(status)s") % {"id": report.id, "status": _(STATUS_LABELS[report.status])}
        body = report.status_notes
        if account is not None:
            french, english = notifications.in_both_languages(
                lambda gettext, _locale: (
                    gettext("Report #%(id)s is now: %(status)s")
                    % {"id": report.id, "status": gettext(STATUS_LABELS[report.status])}
                )
            )
            await notifications.notify(session, account.id, french, body, link, title_en=english)
        recipient = addresses.get(account.id) if account else follower.email
        if recipient:
            text = "\n\n".join(part for part in (title, body, base_url(settings) + link) if part)
            await send_mail(session, settings, recipient, title, text, account.id if account else None)
