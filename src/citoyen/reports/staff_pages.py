"""The reports back office: a department's queue, a report with its internal history and its reporter's
contact (an access to personal data, logged), the form that changes it, merging duplicates."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import DbSession
from citoyen.errors import Kind
from citoyen.i18n import N_, localized
from citoyen.people import service as people
from citoyen.people.service import Person
from citoyen.reports import service as reports
from citoyen.reports.models import CloseReason, Report, ReportStatus
from citoyen.reports.pages import labels, parse_date, report_context, report_or_404
from citoyen.territory import service as territory
from citoyen.web.forms import AppSettings, field, see_other
from citoyen.web.params import PageNumber, PathId, parse_id
from citoyen.web.security import Form, StaffPerson
from citoyen.web.templating import flash, locale_of, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
UNCLOSED = [ReportStatus.OPEN, ReportStatus.ACKNOWLEDGED, ReportStatus.IN_PROGRESS]
STAFF_SORTS = {
    "oldest": N_("Oldest first"),
    "newest": N_("Newest first"),
    "supports": N_("Most supported"),
    "updated": N_("Recently updated"),
}


@router.get("/staff/reports")
async def queue(
    request: Request,
    session: DbSession,
    actor: StaffPerson,
    status: str = "",
    category: str = "",
    neighbourhood: str = "",
    department: str = "",
    sort: str = "oldest",
    page: PageNumber = 1,
) -> Response:
    """Reports to handle: the staff member's department's (admins: every department, or the chosen one)."""
    if status == "all":
        statuses: list[ReportStatus] | None = None
    elif status in ReportStatus._value2member_map_:
        statuses = [ReportStatus(status)]
    else:
        status, statuses = "", UNCLOSED
    filters = reports.ReportFilters(
        category_codes=[category] if category else None,
        statuses=statuses,
        neighbourhood_id=parse_id(neighbourhood),
    )
    if actor.is_admin:
        filters.department_id = parse_id(department)
    elif actor.department_id is not None:
        filters.department_id = actor.department_id
    else:
        filters.ids = []  # staff of no department have no queue
    sort = sort if sort in STAFF_SORTS else "oldest"
    page = max(page, 1)
    found = await reports.search_reports(session, filters, PAGE_SIZE, (page - 1) * PAGE_SIZE, sort)
    total = await reports.count_reports(session, filters)
    locale = locale_of(request)
    categories = await reports.categories_by_id(session)
    neighbourhoods = await territory.list_neighbourhoods(session)
    departments = await people.list_departments(session)
    chosen = {
        "status": status,
        "category": category,
        "neighbourhood": neighbourhood,
        "department": department if actor.is_admin else "",
        "sort": sort,
    }
    context = {
        "reports": found,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "chosen": chosen,
        "query": urlencode({name: value for name, value in chosen.items() if value}),
        "categories": list(categories.values()),
        "category_labels": {item.id: item.label(locale) for item in categories.values()},
        "neighbourhoods": neighbourhoods,
        "neighbourhood_names": {item.id: item.name for item in neighbourhoods},
        "departments": departments,
        "department_names": {item.id: localized(locale_of(request), item.name, item.name_en) for item in departments},
        "own_department": next((item for item in departments if item.id == actor.department_id), None),
        "is_admin": actor.is_admin,
        "statuses": list(ReportStatus),
        "sorts": STAFF_SORTS,
        **labels(),
    }
    return render(request, "reports/staff_queue.html", context)


async def _render_report(
    request: Request,
    session: AsyncSession,
    actor: Person,
    report: Report,
    values: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    context = await report_context(request, session, report)
    events = await reports.history(session, report.id, include_internal=True)
    actor_names = await people.display_names(session, [event.actor_id for event in events])
    contact = await reports.contact_of(session, report.id)
    account = await people.get_person(session, contact.person_id) if contact and contact.person_id else None
    if account is not None:
        # Showing a reporter's contact details is an access to their personal data.
        await people.log_access(session, actor, account.id, "report_contact_viewed", f"report #{report.id}")
    departments = await people.list_departments(session)
    default_values = {
        "status": report.status.value,
        "close_reason": report.close_reason.value if report.close_reason else "",
        "expected_at": report.expected_at.date().isoformat() if report.expected_at else "",
        "department_id": str(report.department_id or ""),
    }
    context |= {
        "events": events,
        "internal": True,
        "actor_names": actor_names,
        "contact": contact,
        "account": account,
        "departments": departments,
        "department_names": {item.id: localized(locale_of(request), item.name, item.name_en) for item in departments},
        "statuses": list(ReportStatus),
        "close_reasons": list(CloseReason),
        "values": default_values | (values or {}),
        "errors": errors or [],
    }
    return render(request, "reports/staff_report.html", context, status_code)


async def _handled_report(session: AsyncSession, actor: Person, report_id: int) -> Report:
    report = await report_or_404(session, report_id)
    if not reports.can_handle(actor, report):
        raise HTTPException(403, "This report belongs to another department.")
    return report


@router.get("/staff/reports/{report_id:int}")
async def staff_report(request: Request, session: DbSession, actor: StaffPerson, report_id: PathId) -> Response:
    report = await _handled_report(session, actor, report_id)
    return await _render_report(request, session, actor, report)


def _staff_update(values: dict[str, str]) -> reports.StaffUpdate:
    """The change asked by the back-office form; ReportError on a value that is not one of the choices."""
    if values["status"] and values["status"] not in ReportStatus._value2member_map_:
        raise reports.ReportError(N_("Unknown status."), field="status")
    if values["close_reason"] and values["close_reason"] not in CloseReason._value2member_map_:
        raise reports.ReportError(N_("Unknown close reason."), field="close_reason")
    expected = parse_date(values["expected_at"])
    if values["expected_at"] and expected is None:
        raise reports.ReportError(N_("The expected date is not a valid date."), field="expected_at")
    if values["department_id"] and parse_id(values["department_id"]) is None:
        raise reports.ReportError(N_("Unknown department."), field="department_id")
    return reports.StaffUpdate(
        status=ReportStatus(values["status"]) if values["status"] else None,
        close_reason=CloseReason(values["close_reason"]) if values["close_reason"] else None,
        public_answer=values["public_answer"],
        internal_note=values["internal_note"],
        expected_at=datetime.combine(expected, time.min, UTC) if expected else None,
        department_id=parse_id(values["department_id"]),
    )


@router.post("/staff/reports/{report_id:int}")
async def update_report(
    request: Request, session: DbSession, settings: AppSettings, actor: StaffPerson, report_id: PathId, form: Form
) -> Response:
    report = await _handled_report(session, actor, report_id)
    names = ("status", "close_reason", "public_answer", "internal_note", "expected_at", "department_id")
    values = {name: field(form, name) for name in names}
    try:
        change = _staff_update(values)
        if change.department_id is not None and change.department_id not in {
            department.id for department in await people.list_departments(session)
        }:
            raise reports.ReportError(N_("Unknown department."), field="department_id")
        await reports.update_report(session, settings, actor, report, change)
    except reports.ReportError as error:
        if error.kind == Kind.FORBIDDEN:
            raise  # the app's refusal handler answers the 403 page
        return await _render_report(request, session, actor, report, values, [error.problem(locale_of(request))], 400)
    if not reports.can_handle(actor, report):
        flash(request, N_("The report has been passed to the chosen department."), "success")
        return see_other("/staff/reports")
    flash(request, N_("The report has been updated."), "success")
    return see_other(f"/staff/reports/{report.id}")


@router.post("/staff/reports/{report_id:int}/merge")
async def merge_report(
    request: Request, session: DbSession, settings: AppSettings, actor: StaffPerson, report_id: PathId, form: Form
) -> Response:
    """Close this report as a duplicate of another one, which gets its followers and supports."""
    duplicate = await _handled_report(session, actor, report_id)
    typed = field(form, "original").lstrip("#").strip()
    try:
        original_id = parse_id(typed)
        if original_id is None:
            raise reports.ReportError(N_("Give the number of the report this one duplicates."), field="original")
        original = await reports.get_report(session, original_id)
        await reports.merge_into(session, settings, actor, duplicate, original)
    except reports.ReportError as error:
        if error.kind == Kind.FORBIDDEN:
            raise  # the app's refusal handler answers the 403 page
        errors = [error.problem(locale_of(request))]
        return await _render_report(request, session, actor, duplicate, {"original": typed}, errors, 400)
    flash(request, N_("The report has been closed as a duplicate."), "success")
    return see_other(f"/staff/reports/{duplicate.id}")
