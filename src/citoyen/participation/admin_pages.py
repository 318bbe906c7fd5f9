"""Participation back office: administrators create and change processes (scope, image, dates, categories,
phases with their permissions); staff answer proposals and record milestones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from citoyen.db import DbSession
from citoyen.i18n import N_
from citoyen.images import PhotoError
from citoyen.participation import service as participation
from citoyen.participation.models import PhaseKind, Process, ProposalStatus
from citoyen.participation.pages import labels, proposal_context, proposal_or_404, upload
from citoyen.territory import service as territory
from citoyen.web.forms import field, or_404, see_other
from citoyen.web.params import PathId, parse_count, parse_id
from citoyen.web.security import AdminPerson, Form, StaffPerson
from citoyen.web.templating import flash, render

router = APIRouter(include_in_schema=False)

PROCESSES_URL = "/admin/participation/processes"
EMPTY_PHASE_ROWS = 2
MAX_PHASE_ROWS = 50  # read from a hidden field: a forged count must not make the loop run for ever
FLAGS = ("allows_proposals", "allows_comments", "allows_supports", "allows_votes")
# What a new phase of each kind allows unless the administrator says otherwise.
KIND_DEFAULTS = {
    PhaseKind.INFORMATION: (),
    PhaseKind.PROPOSALS: ("allows_proposals", "allows_comments", "allows_supports"),
    PhaseKind.DEBATE: ("allows_comments", "allows_supports"),
    PhaseKind.VOTING: ("allows_votes",),
    PhaseKind.IMPLEMENTATION: ("allows_comments",),
}


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, UTC)


def _end(day: date) -> datetime:
    """The end date is included: the phase runs until the next day begins."""
    return datetime.combine(day + timedelta(days=1), time.min, UTC)


@dataclass
class PhaseRow:
    """A phase as the form shows it and sends it back (as typed, so errors keep it)."""

    kind: str = ""
    title: str = ""
    title_en: str = ""
    description: str = ""
    description_en: str = ""
    starts_on: str = ""
    ends_on: str = ""
    allows_proposals: bool = False
    allows_comments: bool = False
    allows_supports: bool = False
    allows_votes: bool = False

    def is_blank(self) -> bool:
        return not (self.kind or self.starts_on or self.ends_on or self.title)


def _phase_rows(form: FormData) -> list[PhaseRow]:
    rows = []
    for index in range(parse_count(field(form, "phase_rows"), MAX_PHASE_ROWS) or 0):
        prefix = f"phase{index}_"
        row = PhaseRow(
            kind=field(form, prefix + "kind"),
            title=field(form, prefix + "title"),
            title_en=field(form, prefix + "title_en"),
            description=field(form, prefix + "description"),
            description_en=field(form, prefix + "description_en"),
            starts_on=field(form, prefix + "starts_on"),
            ends_on=field(form, prefix + "ends_on"),
            **{flag: bool(field(form, prefix + flag)) for flag in FLAGS},
        )
        if not row.is_blank():
            rows.append(row)
    return rows


def _typed(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {
        name: field(form, name)
        for name in (
            "slug",
            "title",
            "title_en",
            "description",
            "description_en",
            "starts_on",
            "ends_on",
            "edit_window",
            "support_threshold",
            "categories",
        )
    }
    values["whole_city"] = field(form, "scope") != "neighbourhoods"
    values["neighbourhood_ids"] = [
        number for v in form.getlist("neighbourhoods") if isinstance(v, str) and (number := parse_id(v)) is not None
    ]
    values["published"] = bool(field(form, "published"))
    values["phases"] = _phase_rows(form)
    return values


def _categories(text: str) -> list[participation.CategoryInput]:
    """One category a line: `Nom français | English name` (the English name is optional)."""
    result = []
    for line in text.splitlines():
        if line.strip():
            french, _, english = line.partition("|")
            result.append(participation.CategoryInput(french.strip(), english.strip()))
    return result


WHOLE_NUMBER_MESSAGES = {
    "edit_window": N_("The editing window must be a whole number of minutes."),
    "support_threshold": N_("The support threshold must be a positive number."),
    "progress": N_("The progress is a percentage between 0 and 100."),
    "milestone_progress": N_("The progress is a percentage between 0 and 100."),
}


def _whole_number(text: str, name: str, default: int | None) -> int | None:
    if not text:
        return default
    number = parse_count(text)
    if number is None:
        raise participation.ParticipationError(WHOLE_NUMBER_MESSAGES[name], field=name)
    return number


def _process_input(values: dict[str, Any]) -> participation.ProcessInput:
    starts, ends = _date(values["starts_on"]), _date(values["ends_on"])
    if starts is None or ends is None:
        raise participation.ParticipationError(N_("Give the first and last day of the process."), field="dates")
    phases = []
    for position, row in enumerate(values["phases"], start=1):
        first, last = _date(row.starts_on), _date(row.ends_on)
        if row.kind not in PhaseKind._value2member_map_ or first is None or last is None:
            raise participation.ParticipationError(
                N_("Phase %(position)d needs a kind, a first day and a last day."), field="phases", position=position
            )
        phases.append(
            participation.PhaseInput(
                kind=PhaseKind(row.kind),
                starts_at=_start(first),
                ends_at=_end(last),
                title=row.title,
                title_en=row.title_en,
                description=row.description,
                description_en=row.description_en,
                **{flag: getattr(row, flag) for flag in FLAGS},
            )
        )
    edit_window = _whole_number(values["edit_window"], "edit_window", 30)
    return participation.ProcessInput(
        slug=values["slug"],
        title=values["title"],
        title_en=values["title_en"],
        description=values["description"],
        description_en=values["description_en"],
        starts_at=_start(starts),
        ends_at=_end(ends),
        whole_city=values["whole_city"],
        neighbourhood_ids=values["neighbourhood_ids"],
        edit_window_minutes=edit_window if edit_window is not None else 30,
        support_threshold=_whole_number(values["support_threshold"], "support_threshold", None),
        published=values["published"],
        categories=_categories(values["categories"]),
        phases=phases,
    )


async def _values_of(session: AsyncSession, process: Process) -> dict[str, Any]:
    (view,) = await participation.overview(session, [process])
    last_day = (process.ends_at - timedelta(days=1)).date()
    return {
        "slug": process.slug,
        "title": process.title,
        "title_en": process.title_en,
        "description": process.description,
        "description_en": process.description_en,
        "starts_on": process.starts_at.date().isoformat(),
        "ends_on": last_day.isoformat(),
        "edit_window": str(process.edit_window_minutes),
        "support_threshold": "" if process.support_threshold is None else str(process.support_threshold),
        "categories": "\n".join(f"{c.name} | {c.name_en}" if c.name_en else c.name for c in view.categories),
        "whole_city": process.whole_city,
        "neighbourhood_ids": view.scope,
        "published": process.published,
        "phases": [
            PhaseRow(
                kind=phase.kind.value,
                title=phase.title,
                title_en=phase.title_en,
                description=phase.description,
                description_en=phase.description_en,
                starts_on=phase.starts_at.date().isoformat(),
                ends_on=(phase.ends_at - timedelta(days=1)).date().isoformat(),
                **{flag: getattr(phase, flag) for flag in FLAGS},
            )
            for phase in view.phases
        ],
    }


async def _render_process_form(
    request: Request,
    session: AsyncSession,
    values: dict[str, Any],
    process: Process | None = None,
    errors: list[dict[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    rows = list(values.get("phases", [])) + [PhaseRow() for _ in range(EMPTY_PHASE_ROWS)]
    context = {
        "process": process,
        "values": values,
        "phase_rows": rows,
        "phase_kinds": list(PhaseKind),
        "kind_defaults": {kind.value: list(flags) for kind, flags in KIND_DEFAULTS.items()},
        "flags": FLAGS,
        "neighbourhoods": list((await territory.neighbourhood_names(session)).items()),
        "errors": errors or [],
        **labels(),
    }
    return render(request, "participation/admin_process.html", context, status_code)


@router.get(PROCESSES_URL)
async def admin_processes(request: Request, session: DbSession, admin: AdminPerson) -> Response:
    found = await participation.overview(session, await participation.list_processes(session, include_unpublished=True))
    return render(request, "participation/admin_processes.html", {"overviews": found, **labels()})


@router.get(PROCESSES_URL + "/new")
async def new_process(request: Request, session: DbSession, admin: AdminPerson) -> Response:
    values: dict[str, Any] = {"whole_city": True, "published": True, "edit_window": "30", "phases": []}
    return await _render_process_form(request, session, values)


async def _save(request: Request, session: AsyncSession, form: FormData, process: Process | None) -> Response:
    values = _typed(form)
    try:
        image = await upload(form)
        data = _process_input(values)
        saved = await participation.save_process(session, data, image, process.id if process else None)
    except (participation.ParticipationError, PhotoError) as error:
        code = error.status_code
        return await _render_process_form(request, session, values, process, [error.problem()], code)
    request.app.state.process_frames.forget()  # other app processes follow within reference_cache_seconds
    flash(request, N_("The process is saved."), "success")
    return see_other(f"{PROCESSES_URL}/{saved.id}")


@router.post(PROCESSES_URL)
async def create_process(request: Request, session: DbSession, admin: AdminPerson, form: Form) -> Response:
    return await _save(request, session, form, None)


@router.get(PROCESSES_URL + "/{process_id:int}")
async def edit_process(request: Request, session: DbSession, admin: AdminPerson, process_id: PathId) -> Response:
    process = await _process_or_404(session, process_id)
    return await _render_process_form(request, session, await _values_of(session, process), process)


@router.post(PROCESSES_URL + "/{process_id:int}")
async def update_process(
    request: Request, session: DbSession, admin: AdminPerson, process_id: PathId, form: Form
) -> Response:
    process = await _process_or_404(session, process_id)
    return await _save(request, session, form, process)


async def _process_or_404(session: AsyncSession, process_id: int) -> Process:
    return await or_404(participation.get_process(session, process_id, include_unpublished=True), "Unknown process.")


# --- staff: answers and milestones ------------------------------------------------------------


@router.get("/staff/participation")
async def staff_queue(request: Request, session: DbSession, staff: StaffPerson) -> Response:
    """Proposals waiting for an official answer, those over their process's threshold first."""
    waiting = await participation.answer_queue(session)
    processes = {p.id: p for p in await participation.list_processes(session, include_unpublished=True)}
    context = {
        "proposals": waiting,
        "processes": processes,
        "required": await participation.count_answer_required(session),
        **labels(),
    }
    return render(request, "participation/staff_queue.html", context)


async def _render_staff(
    request: Request,
    session: AsyncSession,
    staff: StaffPerson,
    proposal_id: int,
    values: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    proposal = await proposal_or_404(session, proposal_id, staff)
    context = await proposal_context(request, session, proposal, staff)
    context |= {
        "values": values or {},
        "errors": errors or [],
        "answer_statuses": list(participation.ANSWER_STATUSES),
    }
    return render(request, "participation/staff_proposal.html", context, status_code)


@router.get("/staff/participation/proposals/{proposal_id:int}")
async def staff_proposal(request: Request, session: DbSession, staff: StaffPerson, proposal_id: PathId) -> Response:
    return await _render_staff(request, session, staff, proposal_id)


@router.post("/staff/participation/proposals/{proposal_id:int}/answer")
async def answer(request: Request, session: DbSession, staff: StaffPerson, proposal_id: PathId, form: Form) -> Response:
    proposal = await proposal_or_404(session, proposal_id, staff)
    values = {name: field(form, name) for name in ("status", "text", "progress")}
    try:
        if values["status"] not in ProposalStatus._value2member_map_:
            raise participation.ParticipationError(N_("Choose the status of the answer."), field="status")
        progress = _whole_number(values["progress"], "progress", None)
        await participation.answer_proposal(
            session, staff, proposal, ProposalStatus(values["status"]), values["text"], progress
        )
    except participation.ParticipationError as error:
        return await _render_staff(request, session, staff, proposal_id, values, [error.problem()], 400)
    flash(request, N_("The answer is published."), "success")
    return see_other(f"/staff/participation/proposals/{proposal_id}")


@router.post("/staff/participation/proposals/{proposal_id:int}/milestones")
async def milestone(
    request: Request, session: DbSession, staff: StaffPerson, proposal_id: PathId, form: Form
) -> Response:
    proposal = await proposal_or_404(session, proposal_id, staff)
    values = {
        name: field(form, name)
        for name in ("milestone_title", "milestone_description", "milestone_progress", "milestone_on")
    }
    try:
        progress = _whole_number(values["milestone_progress"], "milestone_progress", None)
        if progress is None:
            raise participation.ParticipationError(
                N_("The progress is a percentage between 0 and 100."), field="milestone_progress"
            )
        day = _date(values["milestone_on"])
        await participation.add_milestone(
            session,
            staff,
            proposal,
            values["milestone_title"],
            progress,
            values["milestone_description"],
            _start(day) if day else None,
        )
    except participation.ParticipationError as error:
        return await _render_staff(request, session, staff, proposal_id, values, [error.problem()], 400)
    flash(request, N_("The milestone is recorded."), "success")
    return see_other(f"/staff/participation/proposals/{proposal_id}")
