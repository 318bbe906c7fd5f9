"""The projects' back office: the staff's list (projects, questions waiting for an answer, flagged feedback),
the form that creates or edits a project (its place drawn on the map or pasted as GeoJSON, its phases' dates),
documents, updates, answers; moderators hide feedback with a public reason."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from citoyen.db import DbSession
from citoyen.i18n import N_
from citoyen.people import service as people
from citoyen.people.service import Person
from citoyen.projects import service as projects
from citoyen.projects.models import Project
from citoyen.projects.pages import labels
from citoyen.web.forms import field, or_404, see_other
from citoyen.web.params import PathId, parse_id
from citoyen.web.security import Form, SignedInPerson, StaffPerson, TypedForm
from citoyen.web.templating import flash, gettext_for, locale_of, render

router = APIRouter(include_in_schema=False)

PHASE_KINDS = list(projects.PHASE_LABELS)


def _day(text: str, name: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        raise projects.ProjectError(N_("A date is written YYYY-MM-DD."), field=name) from None


def project_input(form: FormData) -> projects.ProjectInput:
    """The form's fields as a project's input (the service checks the rules)."""
    phases = []
    for kind in PHASE_KINDS:
        start, end = _day(field(form, f"{kind}_start"), "phases"), _day(field(form, f"{kind}_end"), "phases")
        if start is None and end is not None:
            raise projects.ProjectError(N_("A phase with an end needs a start."), field="phases")
        if start is not None:
            phases.append(projects.PhaseInput(kind, start, end))
    budget = field(form, "budget").replace(" ", "").replace("\u202f", "").replace(",", ".")
    try:
        budget_cents = int((Decimal(budget) * 100).to_integral_value()) if budget else None
    except InvalidOperation:
        raise projects.ProjectError(N_("The budget is a positive amount in euros."), field="budget") from None
    proposal_ids = [parse_id(item) for item in field(form, "proposal_ids").replace(",", " ").split()]
    if None in proposal_ids:
        raise projects.ProjectError(N_("Proposal ids are whole numbers."), field="proposal_ids")
    return projects.ProjectInput(
        title=field(form, "title"),
        title_en=field(form, "title_en"),
        description=field(form, "description", strip=False),
        description_en=field(form, "description_en", strip=False),
        theme=field(form, "theme"),
        phase=field(form, "phase"),
        geometry=field(form, "geometry"),
        phases=phases,
        budget_cents=budget_cents,
        department_id=parse_id(field(form, "department")),
        process_id=parse_id(field(form, "process_id")),
        proposal_ids=[item for item in proposal_ids if item is not None],
    )


def _values_of(project: Project, phases: list[Any]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "title": project.title,
        "title_en": project.title_en,
        "description": project.description,
        "description_en": project.description_en,
        "theme": project.theme,
        "phase": project.phase,
        "geometry": json.dumps(project.geometry),
        "budget": "" if project.budget_cents is None else f"{project.budget_cents / 100:.2f}",
        "department": str(project.department_id or ""),
        "process_id": str(project.process_id or ""),
        "proposal_ids": " ".join(str(item) for item in project.proposal_ids),
    }
    for phase in phases:
        values[f"{phase.kind}_start"] = phase.starts_on.isoformat()
        values[f"{phase.kind}_end"] = phase.ends_on.isoformat() if phase.ends_on else ""
    return values


async def _form(
    request: Request,
    session: DbSession,
    project: Project | None,
    values: dict[str, Any],
    errors: list[str],
    status: int = 200,
) -> Response:
    context = {
        "project": project,
        "values": values,
        "errors": errors,
        "phase_kinds": PHASE_KINDS,
        "departments": await people.department_names(session, locale_of(request)),
        **labels(),
    }
    return render(request, "projects/staff_form.html", context, status)


@router.get("/staff/projects")
async def staff_list(request: Request, session: DbSession, staff: StaffPerson) -> Response:
    found, total = await projects.list_projects(session, projects.ProjectFilters(), limit=500)
    context = {
        "projects": found,
        "total": total,
        "questions": await projects.unanswered_questions(session),
        "flagged": await projects.flagged_feedback(session),
        **labels(),
    }
    return render(request, "projects/staff_list.html", context)


@router.get("/staff/projects/new")
async def new_project(request: Request, session: DbSession, staff: StaffPerson) -> Response:
    return await _form(request, session, None, {"phase": "study"}, [])


@router.post("/staff/projects/new")
async def create_project(request: Request, session: DbSession, staff: StaffPerson, form: TypedForm) -> Response:
    values = {name: field(form, name, strip=False) for name in form if isinstance(form.get(name), str)}
    try:
        project = await projects.create_project(session, request.app.state.territory_index, staff, project_input(form))
    except projects.ProjectError as error:
        message = error.text(gettext_for(request), locale_of(request))
        return await _form(request, session, None, values, [message], error.status_code)
    flash(request, N_("The project was created."), "success")
    return see_other(f"/projects/{project.id}")


@router.get("/staff/projects/{project_id}/edit")
async def edit_form(request: Request, session: DbSession, staff: StaffPerson, project_id: PathId) -> Response:
    project = await or_404(projects.get_project(session, project_id), "Unknown project.")
    return await _form(
        request, session, project, _values_of(project, await projects.phases_of(session, project.id)), []
    )


@router.post("/staff/projects/{project_id}/edit")
async def edit_project(
    request: Request, session: DbSession, staff: StaffPerson, form: TypedForm, project_id: PathId
) -> Response:
    project = await or_404(projects.get_project(session, project_id), "Unknown project.")
    values = {name: field(form, name, strip=False) for name in form if isinstance(form.get(name), str)}
    try:
        cache = request.app.state.territory_index
        await projects.edit_project(session, cache, staff, project_id, project_input(form))
    except projects.ProjectError as error:
        message = error.text(gettext_for(request), locale_of(request))
        return await _form(request, session, project, values, [message], error.status_code)
    flash(request, N_("The project was saved."), "success")
    return see_other(f"/projects/{project_id}")


def _flashed(request: Request, error: projects.ProjectError) -> str:
    """A refusal for the next page: its msgid (translated when shown), or its text when it has values."""
    return error.text(gettext_for(request), locale_of(request)) if error.values else error.message


async def _back_with(request: Request, project_id: int, work: Callable[[], Awaitable[None]], anchor: str) -> Response:
    """Runs a staff action and goes back to the project's page, where a refusal shows as a message."""
    try:
        await work()
    except projects.ProjectError as error:
        if error.kind.value == "not_found":
            raise
        flash(request, _flashed(request, error), "error")
    return see_other(f"/projects/{project_id}#{anchor}")


@router.post("/staff/projects/{project_id}/updates")
async def post_update(
    request: Request, session: DbSession, staff: StaffPerson, form: Form, project_id: PathId
) -> Response:
    async def work() -> None:
        await projects.post_update(session, staff, project_id, field(form, "body"), field(form, "body_en"))
        flash(request, N_("The update was posted; the project's followers are told."), "success")

    return await _back_with(request, project_id, work, "updates")


@router.post("/staff/projects/{project_id}/documents")
async def add_document(
    request: Request, session: DbSession, staff: StaffPerson, form: Form, project_id: PathId
) -> Response:
    upload = form.get("document")

    async def work() -> None:
        if not isinstance(upload, UploadFile):
            raise projects.ProjectError(N_("A document is a PDF or an image (JPEG, PNG, WebP or HEIC)."))
        data = await upload.read(projects.MAX_DOCUMENT_BYTES + 1)
        filename, content_type = upload.filename or "", upload.content_type or ""
        prepared = await run_in_threadpool(projects.prepare_document, data, filename, content_type)
        await projects.store_document(session, staff, project_id, field(form, "title") or filename, prepared)
        flash(request, N_("The document was added."), "success")

    return await _back_with(request, project_id, work, "documents")


@router.post("/staff/projects/questions/{question_id}/answer")
async def answer_question(
    request: Request, session: DbSession, staff: StaffPerson, form: Form, question_id: PathId
) -> Response:
    try:
        question = await projects.answer_question(session, staff, question_id, field(form, "answer"))
    except projects.ProjectError as error:
        if error.kind.value == "not_found":
            raise
        flash(request, _flashed(request, error), "error")
        return see_other(f"/projects/{parse_id(field(form, 'project_id')) or ''}#question-{question_id}")
    flash(request, N_("The answer is published; the asker and the followers are told."), "success")
    return see_other(f"/projects/{question.project_id}#question-{question.id}")


async def require_moderator(person: SignedInPerson) -> Person:
    """Moderators, staff and admins; others are refused (403)."""
    if not projects.is_moderator(person):
        raise HTTPException(403, "Only moderators may do this.")
    return person


ModeratorPerson = Annotated[Person, Depends(require_moderator)]


@router.post("/staff/projects/feedback/{feedback_id}/hide")
async def hide_feedback(
    request: Request, session: DbSession, person: ModeratorPerson, form: Form, feedback_id: PathId
) -> Response:
    """Moderators (and staff) hide feedback with a public reason."""
    project_id = parse_id(field(form, "project_id")) or 0

    async def work() -> None:
        await projects.hide_feedback(session, person, feedback_id, field(form, "reason"))
        flash(request, N_("The feedback is hidden; its reason is shown instead."), "success")

    return await _back_with(request, project_id, work, "feedback")
