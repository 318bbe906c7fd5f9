"""Citizen pages of the city's projects: the map and list (`/projects`, filters, works near a place this month),
a project's page (timeline, documents, updates, questions and answers, feedback, follow), and what citizens do
there (follow, ask, give or flag feedback). No page shows who asked, gave feedback or follows."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from citoyen.addresses import base_url
from citoyen.db import DbSession, utcnow
from citoyen.errors import Refusal
from citoyen.i18n import N_
from citoyen.projects import service as projects
from citoyen.projects.views import project_atom as project_atom_document
from citoyen.projects.views import project_view, projects_page
from citoyen.web import atom
from citoyen.web.forms import AppSettings, field, or_404, see_other
from citoyen.web.params import PageNumber, PathId, parse_id
from citoyen.web.security import CurrentPerson, Form, SignedInPerson
from citoyen.web.templating import flash, gettext_for, locale_of, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
BAD_PLACE = N_("This place was not found: type an address or a neighbourhood of the city.")


def labels() -> dict[str, Any]:
    """The msgids templates translate where they show them."""
    return {
        "phase_labels": projects.PHASE_LABELS,
        "theme_labels": projects.THEME_LABELS,
        "feedback_labels": projects.FEEDBACK_LABELS,
    }


def parse_day(text: str) -> date | None:
    """YYYY-MM-DD or YYYY-MM (the month's first day); None when empty or malformed."""
    text = text.strip()
    try:
        if len(text) == 7:
            return date.fromisoformat(text + "-01")
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def parse_point(text: str) -> tuple[float, float] | None:
    """`lon,lat` in WGS84 degrees, or None."""
    parts = text.split(",")
    if len(parts) != 2:
        return None
    try:
        lon, lat = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    return (lon, lat) if -180 <= lon <= 180 and -90 <= lat <= 90 else None


def filters_of(phase: str, theme: str, neighbourhood: str, start: str, end: str) -> projects.ProjectFilters:
    until = parse_day(end)
    if until is not None and len(end.strip()) == 7:
        until = projects.month_of(until)[1]
    return projects.ProjectFilters(
        phase=phase if phase in projects.PHASE_LABELS else "",
        theme=theme if theme in projects.THEME_LABELS else "",
        neighbourhood_id=parse_id(neighbourhood),
        period_from=parse_day(start),
        period_to=until,
    )


@router.get("/projects")
async def list_projects(
    request: Request,
    session: DbSession,
    phase: str = "",
    theme: str = "",
    neighbourhood: str = "",
    start: str = "",
    end: str = "",
    at: str = "",
    near: str = "",
    page: PageNumber = 1,
) -> Response:
    """The map and the list; `at=lon,lat` (or `near=` an address) adds the works near it this month."""
    filters = filters_of(phase, theme, neighbourhood, start, end)
    errors: list[str] = []
    place: tuple[float, float, str] | None = None
    point = parse_point(at)
    if point is not None:
        place = (point[0], point[1], "")
    elif near.strip():
        found = await request.app.state.gazetteer.place(session, near.strip()[:300])
        if found is None:
            errors.append(gettext_for(request)(BAD_PLACE))
        else:
            place = (found.lon, found.lat, found.label)
    view = await projects_page(
        session,
        request.app.state.territory_index,
        filters,
        PAGE_SIZE,
        (page - 1) * PAGE_SIZE,
        place,
        utcnow().date(),
    )
    chosen = {
        "phase": filters.phase,
        "theme": filters.theme,
        "neighbourhood": neighbourhood,
        "start": start,
        "end": end,
    }
    api_query = {name: value for name, value in chosen.items() if value}
    context = {
        "view": view,
        "chosen": chosen,
        "near": near,
        "errors": errors,
        "page": page,
        "pages": max(1, -(-view.total // PAGE_SIZE)),
        "query": urlencode({**api_query, **({"at": at} if point else {}), **({"near": near} if near else {})}),
        "api_query": urlencode(api_query),
        **labels(),
    }
    return render(request, "projects/list.html", context, 400 if errors else 200)


async def _show(
    request: Request, session: DbSession, person: CurrentPerson, project_id: int, errors: list[str], status: int = 200
) -> Response:
    view = await or_404(project_view(session, project_id, person, locale_of(request)), "Unknown project.")
    context = {"view": view, "project": view.project, "errors": errors, **labels()}
    return render(request, "projects/show.html", context, status)


# Before `/projects/{project_id}`, which would take "12.atom" for an id and refuse it.
@router.get("/projects/{project_id:int}.atom")
async def project_atom(request: Request, session: DbSession, settings: AppSettings, project_id: PathId) -> Response:
    """The project's news and answers as Atom 1.0, for feed readers (no account)."""
    body = await or_404(
        project_atom_document(
            session, project_id, base_url(settings, request), locale_of(request), gettext_for(request), utcnow()
        ),
        "Unknown project.",
    )
    return Response(body, media_type=atom.MEDIA_TYPE)


@router.get("/projects/{project_id}")
async def show_project(request: Request, session: DbSession, person: CurrentPerson, project_id: PathId) -> Response:
    return await _show(request, session, person, project_id, [])


@router.get("/projects/{project_id}/documents/{document_id}")
async def download_document(session: DbSession, project_id: PathId, document_id: PathId) -> Response:
    """A PDF is downloaded (never shown in the page's origin); an image is shown."""
    document = await or_404(projects.get_document(session, project_id, document_id), "Unknown document.")
    pdf = document.media_type == "application/pdf"
    headers = {
        "Cache-Control": "public, max-age=3600",
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f'{"attachment" if pdf else "inline"}; filename="document-{document.id}.'
        f'{"pdf" if pdf else "jpg"}"',
    }
    return Response(document.content, media_type=document.media_type, headers=headers)


async def _acted(
    request: Request, session: DbSession, person: SignedInPerson, project_id: int, anchor: str, action: Any
) -> Response:
    """Runs a citizen's action; a refusal shows the project's page again with its message."""
    try:
        await action
    except Refusal as error:
        if error.kind.value == "not_found":
            raise
        message = error.text(gettext_for(request), locale_of(request))
        return await _show(request, session, person, project_id, [message], error.status_code)
    return see_other(f"/projects/{project_id}#{anchor}")


@router.post("/projects/{project_id}/follow")
async def follow_project(
    request: Request, session: DbSession, person: SignedInPerson, form: Form, project_id: PathId
) -> Response:
    if field(form, "action") == "unfollow":
        await projects.unfollow(session, person, project_id)
        flash(request, N_("You no longer follow this project."))
    else:
        await projects.follow(session, person, project_id)
        flash(request, N_("You follow this project: its news will reach your notifications."), "success")
    return see_other(f"/projects/{project_id}#follow")


@router.post("/projects/{project_id}/questions")
async def ask(request: Request, session: DbSession, person: SignedInPerson, form: Form, project_id: PathId) -> Response:
    action = projects.ask_question(session, person, project_id, field(form, "question"))
    response = await _acted(request, session, person, project_id, "questions", action)
    if response.status_code == 303:
        flash(request, N_("Your question was sent; the department's answer will be public."), "success")
    return response


@router.post("/projects/{project_id}/feedback")
async def give_feedback(
    request: Request, session: DbSession, person: SignedInPerson, form: Form, project_id: PathId
) -> Response:
    action = projects.give_feedback(session, person, project_id, field(form, "kind"), field(form, "body"))
    response = await _acted(request, session, person, project_id, "feedback", action)
    if response.status_code == 303:
        flash(request, N_("Thank you for your feedback."), "success")
    return response


@router.post("/projects/{project_id}/feedback/{feedback_id}/flag")
async def flag_feedback(
    request: Request, session: DbSession, person: SignedInPerson, form: Form, project_id: PathId, feedback_id: PathId
) -> Response:
    await projects.flag_feedback(session, person, feedback_id)
    flash(request, N_("Thank you: the moderators will look at it."))
    return see_other(f"/projects/{project_id}#feedback")
