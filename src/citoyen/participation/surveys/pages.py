"""Survey pages: answering a survey, its results (bars), and the administrators' survey builder."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from citoyen.db import DbSession
from citoyen.i18n import N_
from citoyen.participation import service as participation
from citoyen.participation.surveys import service as surveys
from citoyen.participation.surveys.models import QuestionKind, Survey
from citoyen.people.service import Person
from citoyen.verification import service as verification
from citoyen.web.forms import field, or_404, see_other
from citoyen.web.params import PathId, parse_count, parse_id
from citoyen.web.security import AdminPerson, CurrentPerson, Form, SignedInPerson
from citoyen.web.templating import flash, render

router = APIRouter(include_in_schema=False)
EMPTY_QUESTION_BLOCKS = 3
MAX_QUESTION_BLOCKS = 200  # read from a hidden field: a forged count must not make the loop run for ever


async def _survey_or_404(session: AsyncSession, survey_id: int) -> Survey:
    return await or_404(surveys.get_survey(session, survey_id), "Unknown survey.")


# --- answering --------------------------------------------------------------------------------


async def _render_survey(
    request: Request,
    session: AsyncSession,
    survey: Survey,
    person: Person | None,
    given: dict[int, list[str]] | None = None,
    errors: list[dict[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "survey": survey,
        "process": await participation.get_process(session, survey.process_id, include_unpublished=True),
        "questions": await surveys.questions_of(session, survey.id),
        "open": surveys.is_open(survey),
        "answered": await surveys.has_answered(session, survey, person) if person else False,
        "can_see_results": surveys.can_see_results(survey, person),
        "verified": await verification.is_verified(session, person.id) if person and survey.binding else False,
        "given": given or {},
        "errors": errors or [],
        "option_label": surveys.option_label,
    }
    return render(request, "surveys/survey.html", context, status_code)


@router.get("/participation/surveys/{survey_id:int}")
async def show_survey(request: Request, session: DbSession, person: CurrentPerson, survey_id: PathId) -> Response:
    return await _render_survey(request, session, await _survey_or_404(session, survey_id), person)


def _given(form: FormData, questions: list[Any]) -> dict[int, list[str]]:
    given: dict[int, list[str]] = {}
    for question in questions:
        name = f"q{question.id}"
        if question.kind == QuestionKind.RANKING:
            keys = [option["key"] for option in question.options]
            ranks = {key: field(form, f"{name}_{key}") for key in keys}
            given[question.id] = surveys.ranking_from_form(keys, ranks)
        else:
            given[question.id] = [value for value in form.getlist(name) if isinstance(value, str)]
    return given


@router.post("/participation/surveys/{survey_id:int}")
async def answer_survey(
    request: Request, session: DbSession, person: SignedInPerson, survey_id: PathId, form: Form
) -> Response:
    survey = await _survey_or_404(session, survey_id)
    given = _given(form, await surveys.questions_of(session, survey.id))
    try:
        await surveys.submit_response(session, survey, person, given)
    except surveys.SurveyError as error:
        status_code = error.status_code
        return await _render_survey(request, session, survey, person, given, [error.problem()], status_code)
    flash(request, N_("Thank you! Your answers have been recorded."), "success")
    return see_other(f"/participation/surveys/{survey.id}")


@router.get("/participation/surveys/{survey_id:int}/results")
async def survey_results(request: Request, session: DbSession, person: CurrentPerson, survey_id: PathId) -> Response:
    survey = await _survey_or_404(session, survey_id)
    if not surveys.can_see_results(survey, person):
        raise HTTPException(403, "The results of this survey are not public.")
    staff = person is not None and person.is_staff
    responses, per_question = await surveys.results(session, survey, include_texts=staff)
    context = {
        "survey": survey,
        "responses": responses,
        "results": per_question,
        "staff": staff,
        "option_label": surveys.option_label,
    }
    return render(request, "surveys/results.html", context)


# --- administration ---------------------------------------------------------------------------


def _moment(text: str, zone: tzinfo) -> datetime | None:
    """A date and time typed in a form, in the city's time (`zone`), as a moment in UTC."""
    try:
        return datetime.fromisoformat(text).replace(tzinfo=zone).astimezone(UTC) if text else None
    except ValueError:
        return None


def _survey_input(form: FormData, zone: tzinfo) -> surveys.SurveyInput:
    questions = []
    for index in range(parse_count(field(form, "question_blocks"), MAX_QUESTION_BLOCKS) or 0):
        prefix = f"question_{index}_"
        prompt = field(form, prefix + "prompt")
        if not prompt:
            continue
        try:
            kind = QuestionKind(field(form, prefix + "kind"))
        except ValueError:
            kind = QuestionKind.SHORT_TEXT
        options = []
        for line in field(form, prefix + "options").splitlines():
            label, _, label_en = line.partition("|")
            options.append((label.strip(), label_en.strip()))
        questions.append(
            surveys.QuestionInput(
                kind=kind,
                prompt=prompt,
                prompt_en=field(form, prefix + "prompt_en"),
                required=form.get(prefix + "required") == "on",
                options=options,
            )
        )
    opens_at = _moment(field(form, "opens_at"), zone)
    closes_at = _moment(field(form, "closes_at"), zone)
    if opens_at is None or closes_at is None:
        raise surveys.SurveyError(N_("Give the opening and closing dates."))
    process_id = parse_id(field(form, "process_id")) or 0
    return surveys.SurveyInput(
        process_id=process_id,
        title=field(form, "title"),
        title_en=field(form, "title_en"),
        description=field(form, "description"),
        description_en=field(form, "description_en"),
        opens_at=opens_at,
        closes_at=closes_at,
        public_results=form.get("public_results") == "on",
        binding=form.get("binding") == "on",
        questions=questions,
    )


async def _render_admin(
    request: Request,
    session: AsyncSession,
    survey: Survey | None,
    errors: list[dict[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    questions = await surveys.questions_of(session, survey.id) if survey else []
    context = {
        "survey": survey,
        "surveys": await surveys.list_surveys(session),
        "processes": await participation.list_processes(session, include_unpublished=True),
        "questions": questions,
        "blocks": len(questions) + EMPTY_QUESTION_BLOCKS,
        "responses": await surveys.response_count(session, survey.id) if survey else 0,
        "kind_labels": {kind.value: label for kind, label in surveys.KIND_LABELS.items()},
        "errors": errors or [],
    }
    return render(request, "surveys/admin.html", context, status_code)


@router.get("/admin/participation/surveys")
async def admin_surveys(request: Request, session: DbSession, admin: AdminPerson) -> Response:
    return await _render_admin(request, session, None)


@router.post("/admin/participation/surveys")
async def admin_create_survey(request: Request, session: DbSession, admin: AdminPerson, form: Form) -> Response:
    try:
        survey = await surveys.save_survey(session, _survey_input(form, request.app.state.settings.zone))
    except surveys.SurveyError as error:
        return await _render_admin(request, session, None, [error.problem()], 400)
    request.app.state.process_frames.forget()  # a process's page lists its surveys
    flash(request, N_("The survey has been saved."), "success")
    return see_other(f"/admin/participation/surveys/{survey.id}")


@router.get("/admin/participation/surveys/{survey_id:int}")
async def admin_survey(request: Request, session: DbSession, admin: AdminPerson, survey_id: PathId) -> Response:
    return await _render_admin(request, session, await _survey_or_404(session, survey_id))


@router.post("/admin/participation/surveys/{survey_id:int}")
async def admin_update_survey(
    request: Request, session: DbSession, admin: AdminPerson, survey_id: PathId, form: Form
) -> Response:
    survey = await _survey_or_404(session, survey_id)
    try:
        await surveys.save_survey(session, _survey_input(form, request.app.state.settings.zone), survey)
    except surveys.SurveyError as error:
        await session.refresh(survey)
        return await _render_admin(request, session, survey, [error.problem()], error.status_code)
    request.app.state.process_frames.forget()  # a process's page lists its surveys
    flash(request, N_("The survey has been saved."), "success")
    return see_other(f"/admin/participation/surveys/{survey.id}")
