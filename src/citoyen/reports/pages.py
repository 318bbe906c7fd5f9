"""Citizen pages of reports: report a problem (map, questions, photos, duplicates nearby), a report's
public page (status, answer, history, photos, support, follow), the public list and map.

No page ever shows who filed, follows or supports a report."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from citoyen import throttle
from citoyen.db import DbSession
from citoyen.errors import Kind
from citoyen.i18n import N_
from citoyen.people.service import Person
from citoyen.reports import service as reports
from citoyen.reports.models import Category, CategoryAttribute, EventKind, Report, ReportStatus
from citoyen.reports.photos import MAX_PHOTO_BYTES, MAX_PHOTOS, TOO_MANY_PHOTOS, PhotoError, prepare_photos
from citoyen.reports.schemas import QuestionOut, value_label
from citoyen.territory import maplayer
from citoyen.territory import service as territory
from citoyen.web.forms import AppSettings, field, or_404, safe_next, see_other
from citoyen.web.params import FORBIDDEN_TEXT, PageNumber, PathId, cleaned, form_has_forbidden_characters, parse_id
from citoyen.web.security import CurrentPerson, Form, TypedForm
from citoyen.web.templating import flash, locale_of, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20
HONEYPOT = "website"  # a field humans never see, so never fill
ANSWER_PREFIX = "answer_"
ANONYMOUS_WINDOW = timedelta(hours=1)
PUBLIC_EVENTS = (EventKind.CREATED, EventKind.STATUS, EventKind.ANSWER, EventKind.EXPECTED)
PUBLIC_SORTS = {"newest": N_("Newest first"), "updated": N_("Recently updated"), "supports": N_("Most supported")}
TOO_MANY_REPORTS = N_("You have sent many reports from this connection: please try again in an hour.")


def labels() -> dict[str, Any]:
    """The translatable labels templates need (msgids, translated where shown)."""
    return {
        "status_labels": {status.value: label for status, label in reports.STATUS_LABELS.items()},
        "close_reason_labels": {reason.value: label for reason, label in reports.CLOSE_REASON_LABELS.items()},
    }


def parse_date(text: str) -> date | None:
    """A date typed in a form (YYYY-MM-DD), or None when empty or malformed."""
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


async def report_or_404(session: AsyncSession, report_id: int) -> Report:
    return await or_404(reports.get_report(session, report_id), "Unknown report.")


# --- report a problem -------------------------------------------------------------------------


async def _questions(session: AsyncSession, category: Category | None, locale: str) -> list[QuestionOut]:
    if category is None:
        return []
    attributes = (await reports.attributes_of(session, [category.id]))[category.id]
    return [QuestionOut.of(attribute, locale) for attribute in attributes]


async def _render_new(
    request: Request,
    session: AsyncSession,
    person: Person | None,
    values: dict[str, Any],
    errors: list[dict[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    locale = locale_of(request)
    categories = await reports.list_categories(session)
    chosen = next((category for category in categories if category.code == values.get("category")), None)
    context = {
        "categories": categories,
        "questions": await _questions(session, chosen, locale),
        "answers": values.get("answers", {}),
        "values": values,
        "errors": errors or [],
        "visitor": person is None,
        "max_photos": MAX_PHOTOS,
        "honeypot": HONEYPOT,
        "answer_prefix": ANSWER_PREFIX,
    }
    return render(request, "reports/new.html", context, status_code)


@router.get("/reports/new")
async def new_report(request: Request, session: DbSession, person: CurrentPerson, category: str = "") -> Response:
    return await _render_new(request, session, person, {"category": category})


@router.get("/reports/new/questions")
async def new_report_questions(request: Request, session: DbSession, category: str = "") -> Response:
    """The questions of a category as form fields (an htmx fragment of the report form)."""
    categories = await reports.list_categories(session)
    chosen = next((item for item in categories if item.code == category), None)
    context = {
        "questions": await _questions(session, chosen, locale_of(request)),
        "answers": {},
        "answer_prefix": ANSWER_PREFIX,
    }
    return render(request, "reports/_questions.html", context)


def _coordinate(text: str) -> float | None:
    """A typed longitude or latitude (a decimal comma is fine); None when empty."""
    if not text:
        return None
    try:
        return float(text.replace(",", "."))
    except ValueError:
        raise reports.ReportError(N_("These coordinates are not valid."), field="location") from None


@router.get("/reports/new/duplicates")
async def new_report_duplicates(
    request: Request, session: DbSession, category: str = "", lon: str = "", lat: str = ""
) -> Response:
    """Reports of the same category within 50 m in the last 30 days (an htmx fragment): the citizen
    may support one instead of filing the same problem again."""
    found: list[tuple[Report, float]] = []
    try:
        x, y = _coordinate(lon.strip()), _coordinate(lat.strip())
        if category and x is not None and y is not None:
            found = await reports.nearby_duplicates(session, category, x, y)
    except reports.ReportError:
        found = []
    return render(request, "reports/_duplicates.html", {"duplicates": found, **labels()})


async def _uploads(form: FormData) -> list[bytes]:
    """The photos sent with the form (a file input left empty sends an empty, nameless part)."""
    files = [item for item in form.getlist("photos") if isinstance(item, UploadFile) and (item.filename or item.size)]
    if len(files) > MAX_PHOTOS:
        raise PhotoError(TOO_MANY_PHOTOS)
    # One byte more than allowed is enough to refuse a photo that is too big.
    return [await upload.read(MAX_PHOTO_BYTES + 1) for upload in files]


@router.post("/reports")
async def file_report(
    request: Request, session: DbSession, settings: AppSettings, person: CurrentPerson, form: TypedForm
) -> Response:
    if field(form, HONEYPOT):
        # A robot filled the field humans do not see: refuse without saying why.
        return render(request, "error.html", {"status": 400, "detail": ""}, 400)
    answers = {
        key.removeprefix(ANSWER_PREFIX): [value for value in form.getlist(key) if isinstance(value, str)]
        for key in dict.fromkeys(form.keys())
        if key.startswith(ANSWER_PREFIX)
    }
    values: dict[str, Any] = {
        name: field(form, name) for name in ("category", "lon", "lat", "address", "description", "email")
    }
    values["answers"] = answers
    if form_has_forbidden_characters(form):  # PostgreSQL refuses NUL: the form comes back, as typed but them
        error = reports.ReportError(FORBIDDEN_TEXT, field="description")
        return await _render_new(request, session, person, cleaned(values), [error.problem(locale_of(request))], 400)
    if person is None:
        client = request.client.host if request.client else "unknown"
        allowed = await throttle.hit(
            session, "report-web:" + client, settings.anonymous_reports_per_hour, ANONYMOUS_WINDOW
        )
        if not allowed:
            return await _render_new(
                request, session, person, values, [{"message": TOO_MANY_REPORTS, "values": {}}], 429
            )
    try:
        photos = await run_in_threadpool(prepare_photos, await _uploads(form))
        new = reports.NewReport(
            category_code=values["category"],
            lon=_coordinate(values["lon"]),
            lat=_coordinate(values["lat"]),
            address=values["address"],
            description=values["description"],
            answers=answers,
            person_id=person.id if person else None,
            email="" if person else values["email"],
            photos=photos,
            source="web",
            locale=locale_of(request),
        )
        catalog = await request.app.state.report_catalog.get(session)
        index, gazetteer = request.app.state.territory_index, request.app.state.gazetteer
        report = await reports.create_report(session, index, new, catalog=catalog, gazetteer=gazetteer)
    except (reports.ReportError, PhotoError) as error:
        status_code = 429 if error.kind == Kind.THROTTLED else 400  # an unknown category is a wrong answer here
        return await _render_new(request, session, person, values, [error.problem(locale_of(request))], status_code)
    flash(request, N_("Thank you! Your report has been filed."), "success")
    return see_other(f"/reports/{report.id}")


# --- a report's public page -------------------------------------------------------------------


def _answers(attributes: list[CategoryAttribute], given: dict[str, Any], locale: str) -> list[tuple[str, str]]:
    """(question, answer) pairs in the questions' order, with the labels of chosen values."""
    rows = []
    for attribute in attributes:
        if attribute.code not in given:
            continue
        names = {value["key"]: value_label(value, locale) for value in attribute.values}
        answer = given[attribute.code]
        chosen = answer if isinstance(answer, list) else [answer]
        rows.append((attribute.question(locale), ", ".join(names.get(str(item), str(item)) for item in chosen)))
    return rows


async def report_context(request: Request, session: AsyncSession, report: Report) -> dict[str, Any]:
    """What the public page shows of a report (the staff page shows it too)."""
    locale = locale_of(request)
    categories = await reports.categories_by_id(session)
    category = categories.get(report.category_id)
    attributes = (await reports.attributes_of(session, [report.category_id]))[report.category_id]
    neighbourhood = (
        await territory.get_neighbourhood(session, report.neighbourhood_id) if report.neighbourhood_id else None
    )
    photo_count = (await reports.photo_counts(session, [report.id])).get(report.id, 0)
    return {
        "report": report,
        "category_label": category.label(locale) if category else "",
        "neighbourhood_name": neighbourhood.name if neighbourhood else "",
        "answers": _answers(attributes, report.attributes, locale),
        "photo_count": photo_count,
        **labels(),
    }


@router.get("/reports/{report_id:int}")
async def show_report(request: Request, session: DbSession, person: CurrentPerson, report_id: PathId) -> Response:
    report = await report_or_404(session, report_id)
    context = await report_context(request, session, report)
    events = [event for event in await reports.history(session, report.id) if event.kind in PUBLIC_EVENTS]
    context |= {
        "events": events,
        "following": await reports.is_following(session, report, person.id) if person else False,
    }
    return render(request, "reports/show.html", context)


@router.get("/reports/{report_id:int}/photos/{number:int}")
async def report_photo(session: DbSession, report_id: PathId, number: PathId) -> Response:
    """A report's photo (1-based), re-encoded without metadata when it was filed; it never changes."""
    photos = await reports.photos_of(session, report_id)
    if not 1 <= number <= len(photos):
        raise HTTPException(404, "Unknown photo.")
    photo = photos[number - 1]
    headers = {"Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"}
    return Response(photo.content, media_type=photo.media_type, headers=headers)


def _visitor_key(request: Request) -> str:
    """A visitor's browser, for one support per browser: a hash of a random value kept in its session."""
    secret = request.session.get("supporter")
    if not secret:
        secret = secrets.token_urlsafe(24)
        request.session["supporter"] = secret
    return "session:" + hashlib.sha256(str(secret).encode()).hexdigest()[:48]


@router.post("/reports/{report_id:int}/support")
async def support_report(
    request: Request, session: DbSession, person: CurrentPerson, report_id: PathId, form: Form
) -> Response:
    report = await report_or_404(session, report_id)
    key = f"person:{person.id}" if person else _visitor_key(request)
    try:
        await reports.support(session, report, key, person.id if person else None)
    except reports.ReportError as error:
        flash(request, error.message, "error")
    else:
        flash(request, N_("Thank you: your support has been counted."), "success")
    return see_other(f"/reports/{report.id}")


@router.post("/reports/{report_id:int}/follow")
async def follow_report(
    request: Request, session: DbSession, person: CurrentPerson, report_id: PathId, form: Form
) -> Response:
    report = await report_or_404(session, report_id)
    try:
        if person is not None and field(form, "action") == "unfollow":
            await reports.unfollow(session, report, person.id)
            flash(request, N_("You no longer follow this report."), "success")
        elif person is not None:
            await reports.follow(session, report, person.id)
            flash(request, N_("You follow this report: its updates will appear in your notifications."), "success")
        else:
            await reports.follow(session, report, email=field(form, "email"))
            flash(request, N_("We will e-mail you when this report changes."), "success")
    except reports.ReportError as error:
        flash(request, error.message, "error")
    return see_other(safe_next(field(form, "next"), f"/reports/{report.id}#follow"))


# --- the public list and map ------------------------------------------------------------------


def public_filters(
    category: str, status: str, neighbourhood: str, start: str, end: str
) -> tuple[reports.ReportFilters, dict[str, str]]:
    """Filters from a page's query (malformed values are ignored), and the API query the map uses."""
    statuses = [ReportStatus(status)] if status in ReportStatus._value2member_map_ else None
    neighbourhood_id = parse_id(neighbourhood)
    first, last = parse_date(start), parse_date(end)
    since = datetime.combine(first, time.min, UTC) if first else None
    # The end date is included: everything before the next day.
    until = datetime.combine(last + timedelta(days=1), time.min, UTC) - timedelta(microseconds=1) if last else None
    filters = reports.ReportFilters(
        category_codes=[category] if category else None,
        statuses=statuses,
        neighbourhood_id=neighbourhood_id,
        start=since,
        end=until,
    )
    api_query = {
        "category": category,
        "status": statuses[0].value if statuses else "",
        "neighbourhood": str(neighbourhood_id) if neighbourhood_id is not None else "",
        "start": since.isoformat() if since else "",
        "end": until.isoformat() if until else "",
    }
    return filters, {name: value for name, value in api_query.items() if value}


@router.get("/reports")
async def list_reports(
    request: Request,
    session: DbSession,
    person: CurrentPerson,
    category: str = "",
    status: str = "",
    neighbourhood: str = "",
    start: str = "",
    end: str = "",
    sort: str = "newest",
    page: PageNumber = 1,
    at: str = "",
) -> Response:
    filters, api_query = public_filters(category, status, neighbourhood, start, end)
    sort = sort if sort in PUBLIC_SORTS else "newest"
    page = max(page, 1)
    found = await reports.search_reports(session, filters, PAGE_SIZE, (page - 1) * PAGE_SIZE, sort)
    total = await reports.count_reports(session, filters)
    locale = locale_of(request)
    categories = await reports.categories_by_id(session)
    neighbourhoods = await territory.list_neighbourhoods(session)
    chosen = {
        "category": category,
        "status": status,
        "neighbourhood": neighbourhood,
        "start": start,
        "end": end,
        "sort": sort,
    }
    context = {
        "reports": found,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "chosen": chosen,
        "query": urlencode({name: value for name, value in chosen.items() if value}),
        "api_query": urlencode(api_query),
        "map_centre": maplayer.centre_param(at),
        "categories": [category for category in categories.values() if category.active],
        "category_labels": {item.id: item.label(locale) for item in categories.values()},
        "neighbourhoods": neighbourhoods,
        "neighbourhood_names": {item.id: item.name for item in neighbourhoods},
        "sorts": PUBLIC_SORTS,
        "statuses": list(ReportStatus),
        **labels(),
    }
    return render(request, "reports/list.html", context)
