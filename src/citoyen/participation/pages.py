"""Citizen pages of participation: the processes (with what one can do now), a process with its proposals
as a list and a map, submitting / editing / withdrawing a proposal, a proposal's page with its support
button, official answer and milestones."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from citoyen.db import DbSession, single_statement_writes
from citoyen.errors import Kind
from citoyen.i18n import N_
from citoyen.images import MAX_PHOTO_BYTES, PhotoError, PreparedPhoto, prepare_photo
from citoyen.participation import service as participation
from citoyen.participation import views
from citoyen.participation.models import Process, Proposal, ProposalStatus
from citoyen.people.service import Person
from citoyen.territory import maplayer
from citoyen.web.forms import field, or_404, see_other
from citoyen.web.params import (
    FORBIDDEN_TEXT,
    PageNumber,
    PathId,
    clean_text,
    cleaned,
    form_has_forbidden_characters,
    parse_count,
    parse_id,
)
from citoyen.web.security import CurrentPerson, Form, SignedClaim, SignedInPerson, TypedForm
from citoyen.web.templating import flash, gettext_for, locale_of, render

router = APIRouter(include_in_schema=False)

MAX_SEED = 2**31 - 1  # the random order's seed, as the API takes it
SORT_LABELS = {
    # Best match of the words searched for; without words, the most recent.
    "relevance": N_("Relevance"),
    "recent": N_("Most recent"),
    "supports": N_("Most supported"),
    "comments": N_("Most commented"),
    "random": N_("Random"),
}
# Marker colours on the map, one per status (the legend repeats them in words).
STATUS_COLOURS = {
    "published": "#4a4a55",
    "evaluating": "#8a4b00",
    "accepted": "#0b4f9c",
    "rejected": "#a4161a",
    "in_progress": "#6a1b9a",
    "done": "#1e6b34",
}


def labels() -> dict[str, Any]:
    return {
        "status_labels": {status.value: label for status, label in participation.STATUS_LABELS.items()},
        "phase_labels": {kind.value: label for kind, label in participation.PHASE_KIND_LABELS.items()},
        "status_colours": STATUS_COLOURS,
    }


def number(text: str) -> float | None:
    """A typed coordinate (a decimal comma is fine); None when empty."""
    if not text:
        return None
    try:
        return float(text.replace(",", "."))
    except ValueError:
        raise participation.ParticipationError(N_("These coordinates are not valid."), field="place") from None


async def upload(form: FormData, name: str = "image") -> PreparedPhoto | None:
    """The form's image, re-encoded without metadata; None when no file was chosen."""
    item = form.get(name)
    if not isinstance(item, UploadFile) or not (item.filename or item.size):
        return None
    data = await item.read(MAX_PHOTO_BYTES + 1)  # one byte more than allowed is enough to refuse
    return await run_in_threadpool(prepare_photo, data)


async def process_or_404(session: AsyncSession, slug: str, person: Person | None = None) -> Process:
    staff = bool(person and person.is_staff)
    return await or_404(participation.get_process_by_slug(session, slug, include_unpublished=staff), "Unknown process.")


def process_frames(request: Request) -> participation.ProcessFrames:
    frames: participation.ProcessFrames = request.app.state.process_frames
    return frames


async def proposal_or_404(session: AsyncSession, proposal_id: int, person: Person | None = None) -> Proposal:
    staff = bool(person and person.is_staff)
    return await or_404(participation.get_proposal(session, proposal_id, include_hidden=staff), "Unknown proposal.")


# --- processes --------------------------------------------------------------------------------


@router.get("/participation")
async def processes(request: Request, session: DbSession, person: CurrentPerson) -> Response:
    found = await participation.overview(session, await participation.list_processes(session))
    return render(request, "participation/processes.html", {"overviews": found, **labels()})


@router.get("/participation/images/{image_id:int}")
async def image(session: DbSession, image_id: PathId) -> Response:
    """An image of a process or proposal, re-encoded without metadata when uploaded; it never changes."""
    found = await or_404(participation.get_image(session, image_id), "Unknown image.")
    headers = {"Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"}
    return Response(found.content, media_type=found.media_type, headers=headers)


def _chosen(neighbourhood: str, category: str, status: str, q: str, sort: str, seed: str) -> dict[str, str]:
    sort = sort if sort in SORT_LABELS else "relevance"
    if sort == "random" and parse_count(seed, MAX_SEED) is None:
        seed = str(secrets.randbelow(MAX_SEED))  # carried in the URL so that pages keep one order
    return {
        "neighbourhood": neighbourhood if parse_id(neighbourhood) else "",
        "category": category if parse_id(category) else "",
        "status": status if status in ProposalStatus._value2member_map_ else "",
        "q": clean_text(q).strip()[:200],
        "sort": sort,
        "seed": seed if sort == "random" else "",
    }


@router.get("/participation/processes/{slug}")
async def process_page(
    request: Request,
    session: DbSession,
    person: CurrentPerson,
    slug: str,
    neighbourhood: str = "",
    category: str = "",
    status: str = "",
    q: str = "",
    sort: str = "relevance",
    seed: str = "",
    page: PageNumber = 1,
    at: str = "",
) -> Response:
    """A process, its phases and its proposals (list and map); `at=lon,lat` opens the map close to a place and
    lists the proposals nearest to it first."""
    chosen = _chosen(neighbourhood, category, status, q, sort, seed)
    centre = maplayer.centre_param(at)
    lon_lat = [float(part) for part in centre.split(",")] if centre else []
    near = (lon_lat[0], lon_lat[1]) if lon_lat else None
    if sort == "random" and chosen["seed"] != seed:
        return see_other(f"/participation/processes/{slug}?" + urlencode({k: v for k, v in chosen.items() if v}))
    filters = participation.ProposalFilters(
        neighbourhood_id=int(chosen["neighbourhood"]) if chosen["neighbourhood"] else None,
        category_id=int(chosen["category"]) if chosen["category"] else None,
        statuses=[ProposalStatus(chosen["status"])] if chosen["status"] else None,
        text=chosen["q"],
    )
    try:
        found = await views.process_page(
            session,
            process_frames(request),
            request.app.state.territory_index,
            slug,
            person,
            filters,
            chosen["sort"],
            int(chosen["seed"] or 0),
            page,
            near,
        )
    except participation.ParticipationError as error:
        raise HTTPException(404, "Unknown process.") from error
    gettext = gettext_for(request)
    kept = {name: value for name, value in chosen.items() if value}
    api_query = {"process": str(found.process.id)} | {
        name: chosen[name] for name in ("neighbourhood", "category", "status", "q") if chosen[name]
    }
    context = {
        "view": found.overview,
        "process": found.process,
        "proposals": found.proposals,
        "total": found.total,
        "more": found.more,
        "page": found.page,
        "pages": found.pages,
        "chosen": chosen,
        "query": urlencode(kept | ({"at": centre} if centre else {})),
        "query_without_place": urlencode(kept),
        "api_query": urlencode(api_query),
        "neighbourhoods": found.neighbourhoods,
        "neighbourhood_names": found.neighbourhood_names,
        "map_centre": centre,
        "category_labels": {c.id: c.label(locale_of(request)) for c in found.overview.categories},
        "supported": found.supported,
        "sorts": SORT_LABELS,
        "statuses": list(ProposalStatus),
        "status_label_texts": {s.value: gettext(label) for s, label in participation.STATUS_LABELS.items()},
        "following": found.following,
        "surveys": found.surveys,
        "debate": found.debate,
        **labels(),
    }
    return render(request, "participation/process.html", context)


# --- submitting and editing -------------------------------------------------------------------


def _typed(form: FormData) -> dict[str, str]:
    return {name: field(form, name) for name in ("title", "body", "category", "lon", "lat", "address")}


def _proposal_input(values: dict[str, str], locale: str) -> participation.ProposalInput:
    return participation.ProposalInput(
        title=values["title"],
        body=values["body"],
        category_id=parse_id(values["category"]),
        lon=number(values["lon"]),
        lat=number(values["lat"]),
        address=values["address"],
        locale=locale,
    )


async def _render_form(
    request: Request,
    session: AsyncSession,
    process: Process,
    values: dict[str, str],
    proposal: Proposal | None = None,
    errors: list[dict[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "process": process,
        "proposal": proposal,
        "categories": await participation.categories_of(session, process.id),
        "values": values,
        "errors": errors or [],
        "abilities": await participation.abilities(session, process),
    }
    return render(request, "participation/proposal_form.html", context, status_code)


@router.get("/participation/processes/{slug}/proposals/new")
async def new_proposal(request: Request, session: DbSession, person: SignedInPerson, slug: str) -> Response:
    process = await process_or_404(session, slug, person)
    return await _render_form(request, session, process, {})


@router.post("/participation/processes/{slug}/proposals")
async def submit_proposal(
    request: Request, session: DbSession, person: SignedInPerson, slug: str, form: TypedForm
) -> Response:
    process = await process_or_404(session, slug, person)
    values = cleaned(_typed(form))
    try:
        if form_has_forbidden_characters(form):
            raise participation.ParticipationError(FORBIDDEN_TEXT)
        image = await upload(form)
        proposal = await participation.submit_proposal(
            session,
            request.app.state.territory_index,
            process,
            person,
            _proposal_input(values, locale_of(request)),
            image,
        )
    except (participation.ParticipationError, PhotoError) as error:
        code = error.status_code
        return await _render_form(request, session, process, values, None, [error.problem()], code)
    flash(request, N_("Thank you! Your proposal is published."), "success")
    return see_other(f"/participation/proposals/{proposal.id}")


@router.get("/participation/proposals/{proposal_id:int}/edit")
async def edit_form(request: Request, session: DbSession, person: SignedInPerson, proposal_id: PathId) -> Response:
    proposal = await proposal_or_404(session, proposal_id, person)
    process = await participation.get_process(session, proposal.process_id, include_unpublished=True)
    if not participation.can_edit(process, proposal, person):
        flash(request, N_("This proposal can no longer be changed."), "error")
        return see_other(f"/participation/proposals/{proposal.id}")
    values = {
        "title": proposal.title,
        "body": proposal.body,
        "category": str(proposal.category_id or ""),
        "lon": "" if proposal.lon is None else f"{proposal.lon:.6f}",
        "lat": "" if proposal.lat is None else f"{proposal.lat:.6f}",
        "address": proposal.address,
    }
    return await _render_form(request, session, process, values, proposal)


@router.post("/participation/proposals/{proposal_id:int}/edit")
async def edit_proposal(
    request: Request, session: DbSession, person: SignedInPerson, proposal_id: PathId, form: TypedForm
) -> Response:
    proposal = await proposal_or_404(session, proposal_id, person)
    process = await participation.get_process(session, proposal.process_id, include_unpublished=True)
    values = cleaned(_typed(form))
    try:
        if form_has_forbidden_characters(form):
            raise participation.ParticipationError(FORBIDDEN_TEXT)
        image = await upload(form)
        await participation.edit_proposal(
            session,
            request.app.state.territory_index,
            process,
            proposal,
            person,
            _proposal_input(values, proposal.locale),
            image,
        )
    except (participation.ParticipationError, PhotoError) as error:
        code = error.status_code
        return await _render_form(request, session, process, values, proposal, [error.problem()], code)
    flash(request, N_("Your changes are saved."), "success")
    return see_other(f"/participation/proposals/{proposal.id}")


@router.post("/participation/proposals/{proposal_id:int}/withdraw")
async def withdraw_proposal(
    request: Request, session: DbSession, person: SignedInPerson, proposal_id: PathId, form: Form
) -> Response:
    proposal = await proposal_or_404(session, proposal_id, person)
    try:
        await participation.withdraw_proposal(session, proposal, person)
    except participation.ParticipationError as error:
        flash(request, error.message, "error")
    else:
        flash(request, N_("Your proposal is withdrawn."), "success")
    return see_other(f"/participation/proposals/{proposal.id}")


# --- a proposal's page and supports -----------------------------------------------------------


async def proposal_context(
    request: Request, session: AsyncSession, proposal: Proposal, person: Person | None
) -> dict[str, Any]:
    """What the public page shows of a proposal already read (the staff page shows it too)."""
    try:
        view = await views.proposal_view(
            session, process_frames(request), request.app.state.territory_index, proposal, person
        )
    except participation.ParticipationError as error:
        raise HTTPException(404, "Unknown proposal.") from error
    return _proposal_context(request, view)


def _proposal_context(request: Request, view: views.ProposalPage) -> dict[str, Any]:
    return {
        "proposal": view.proposal,
        "process": view.process,
        "abilities": view.abilities,
        "category_label": view.category_label(locale_of(request)),
        "neighbourhood_name": view.neighbourhood_name,
        "author_name": view.author_name,
        "answers": view.answers,
        "milestones": view.milestones,
        "supported": view.supported,
        "can_edit": view.can_edit,
        "edit_deadline": view.edit_deadline,
        "is_author": view.is_author,
        "following": view.following,
        "hidden_reason": view.hidden_reason,
        "debate": view.debate,
        **labels(),
    }


@router.get("/participation/proposals/{proposal_id:int}")
async def proposal_page(request: Request, session: DbSession, person: CurrentPerson, proposal_id: PathId) -> Response:
    try:
        found = await views.proposal_page(
            session, process_frames(request), request.app.state.territory_index, proposal_id, person
        )
    except participation.ParticipationError as error:
        raise HTTPException(404, "Unknown proposal.") from error
    if isinstance(found, views.HiddenProposal):
        # Only the moderators' public reason remains of a hidden proposal.
        return render(request, "moderation/hidden.html", {"reason": found.reason}, 410)
    return render(request, "participation/proposal.html", _proposal_context(request, found))


@router.post("/participation/proposals/{proposal_id:int}/support")
@single_statement_writes
async def support_proposal(
    request: Request, session: DbSession, claim: SignedClaim, proposal_id: PathId, form: Form
) -> Response:
    """Support (or, with action=withdraw, stop supporting). With htmx, answers the button's fragment.
    The busiest form: one statement checks who is asking and the rules, and writes."""
    frames = process_frames(request)
    withdraw = field(form, "action") == "withdraw"
    error_message: dict[str, Any] | None = None
    try:
        if withdraw:
            proposal = await participation.withdraw_support(session, proposal_id, claim, frames=frames)
            message = N_("Your support is withdrawn.")
        else:
            proposal = await participation.support(session, proposal_id, claim, frames=frames)
            message = N_("Thank you: your support has been counted.")
    except participation.ParticipationError as error:
        if error.kind in (Kind.SIGNED_OUT, Kind.NOT_FOUND):
            raise  # the app's refusal handler: to the login page, or the 404 page
        error_message = error.problem()
        message = error.message
        proposal = await participation.get_support_target(session, proposal_id)
    frame = await frames.get(session, proposal.process_id) if request.headers.get("HX-Request") else None
    if frame is not None:
        # The support box alone: what it shows is known here, without the rest of the page's queries.
        supported = (
            (not withdraw)
            if error_message is None
            else bool(await participation.supported_ids(session, claim.person_id, [proposal.id]))
        )
        context = {
            "proposal": proposal,
            "process": frame.process,
            "abilities": frame.abilities(),
            "supported": supported,
            "signed_in": True,
            "support_message": message,
            "support_error": error_message is not None,
        }
        return render(request, "participation/_support.html", context)
    flash(request, message, "error" if error_message else "success")
    return see_other(f"/participation/proposals/{proposal.id}")
