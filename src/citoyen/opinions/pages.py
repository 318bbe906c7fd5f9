"""Opinion pages: vote on one statement at a time (plain forms, htmx for the smooth path), write a statement,
the public opinion map and its table view; moderators' queue; administrators add a conversation to a process."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import DbSession, single_statement_writes
from citoyen.errors import Kind
from citoyen.i18n import N_
from citoyen.opinions import service as opinions
from citoyen.opinions.conversations import ConversationFrame, ConversationFrames
from citoyen.opinions.models import Conversation
from citoyen.opinions.views import map_view, vote_view
from citoyen.participation import service as participation
from citoyen.participation.moderation import service as moderation
from citoyen.people.service import Person
from citoyen.web.forms import field, or_404, see_other
from citoyen.web.params import FORBIDDEN_TEXT, PathId, form_has_forbidden_characters, parse_id
from citoyen.web.security import (
    AdminPerson,
    CurrentPerson,
    Form,
    SignedInPerson,
    TypedForm,
    current_person,
    session_claim,
    signed_out,
)
from citoyen.web.templating import flash, render

router = APIRouter(include_in_schema=False)
ANONYMOUS_TOKEN = "opinions_token"  # noqa: S105 - the session key, not a secret


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _voter(request: Request, person: Person | None, create: bool = False) -> opinions.Voter:
    """The signed-in person, or the anonymous participation token kept in the session cookie (made on a first
    vote where the conversation allows it)."""
    if person is not None:
        return opinions.Voter(person)
    token = request.session.get(ANONYMOUS_TOKEN)
    if token is None and create:
        token = secrets.token_urlsafe(24)
        request.session[ANONYMOUS_TOKEN] = token
    return opinions.Voter(anonymous_token=token)


async def _conversation(session: AsyncSession, conversation_id: int) -> Conversation:
    return await or_404(opinions.get_conversation(session, conversation_id), "Unknown conversation.")


def conversation_frames(request: Request) -> ConversationFrames:
    """This app process's conversation frames (made on first use), trusted for the settings'
    `reference_cache_seconds` as participation's process frames are."""
    frames: ConversationFrames | None = getattr(request.app.state, "opinion_frames", None)
    if frames is None:
        frames = ConversationFrames(request.app.state.settings.reference_cache_seconds)
        request.app.state.opinion_frames = frames
    return frames


async def _frame(request: Request, session: AsyncSession, conversation_id: int) -> ConversationFrame:
    return await or_404(conversation_frames(request).get(session, conversation_id), "Unknown conversation.")


async def _vote_page(
    request: Request,
    session: AsyncSession,
    conversation: Conversation,
    voter: opinions.Voter,
    errors: list[dict[str, Any]] | None = None,
    status_code: int = 200,
    body: str = "",
    frame: ConversationFrame | None = None,
) -> Response:
    context = {"view": await vote_view(session, conversation, voter, frame), "errors": errors or [], "body": body}
    template = "opinions/_vote.html" if is_htmx(request) else "opinions/conversation.html"
    return render(request, template, context, status_code)


@router.get("/participation/conversations/{conversation_id:int}")
async def show_conversation(
    request: Request, session: DbSession, person: CurrentPerson, conversation_id: PathId
) -> Response:
    frame = await _frame(request, session, conversation_id)
    return await _vote_page(request, session, frame.conversation, _voter(request, person), frame=frame)


@router.post("/participation/conversations/{conversation_id:int}/votes")
@single_statement_writes
async def post_vote(request: Request, session: DbSession, conversation_id: PathId, form: TypedForm) -> Response:
    """Agree, disagree or pass on one statement; the next one comes (the section alone for htmx). The
    conversation comes from this process's frames and a signed-in voter is known by their signed session's claim
    (no account read): a returning participant's vote is then one statement (in autocommit on PostgreSQL), which
    checks again what a vote may not miss, the claim included; the htmx answer adds one read."""
    frame = await _frame(request, session, conversation_id)
    conversation = frame.conversation
    claim = session_claim(request)
    voter = (
        opinions.Voter(claim=claim)
        if claim is not None
        else _voter(request, None, create=conversation.anonymous_allowed)
    )
    try:
        statement_id = parse_id(field(form, "statement_id"))
        if statement_id is None:
            raise opinions.OpinionError(N_("This statement does not exist or was moderated out."), "not_found")
        if not frame.is_open():  # the frame may be behind: the conversation as it is now says why
            conversation = await _conversation(session, conversation_id)
        await opinions.vote(session, conversation, voter, statement_id, field(form, "vote"), known_open=frame.is_open())
    except opinions.OpinionError as error:
        # Checked before anything is written: nothing was stored. A claim that no longer holds is forgotten.
        if error.kind == Kind.SIGNED_OUT and claim is not None:
            signed_out(request)
        person = await current_person(request, session)  # the page's header, as other pages have it
        return await _vote_page(
            request,
            session,
            conversation,
            _voter(request, person),
            [error.problem(str(request.state.locale))],
            error.status_code,
        )
    if is_htmx(request):
        return await _vote_page(request, session, conversation, voter, frame=frame)
    return see_other(f"/participation/conversations/{conversation.id}")


@router.post("/participation/conversations/{conversation_id:int}/statements")
async def post_statement(
    request: Request, session: DbSession, person: CurrentPerson, conversation_id: PathId, form: TypedForm
) -> Response:
    conversation = await _conversation(session, conversation_id)
    voter = _voter(request, person, create=conversation.anonymous_allowed)
    body = field(form, "body", strip=False)
    try:
        if form_has_forbidden_characters(form):
            raise opinions.OpinionError(FORBIDDEN_TEXT, field="body")
        statement = await opinions.write_statement(session, conversation, voter, body)
    except opinions.OpinionError as error:
        return await _vote_page(
            request,
            session,
            conversation,
            voter,
            [error.problem(str(request.state.locale))],
            error.status_code,
            body=body,
        )
    if statement.status == opinions.StatementStatus.PENDING:
        flash(request, N_("Thank you: your statement will be published once a moderator has read it."), "success")
    else:
        flash(request, N_("Your statement is published: others can now vote on it."), "success")
    return see_other(f"/participation/conversations/{conversation.id}")


@router.get("/participation/conversations/{conversation_id:int}/map")
async def show_map(
    request: Request, session: DbSession, person: CurrentPerson, conversation_id: PathId, view: str = "map"
) -> Response:
    """The opinion map; `view=table` gives the same information as tables only."""
    conversation = await _conversation(session, conversation_id)
    context = {
        "view": await map_view(session, conversation, _voter(request, person)),
        "picture": view != "table",
    }
    return render(request, "opinions/map.html", context)


@router.get("/participation/processes/{slug:str}/conversations")
async def list_conversations(request: Request, session: DbSession, slug: str) -> Response:
    process = await or_404(participation.get_process_by_slug(session, slug), "Unknown process.")
    found = await opinions.conversations_of(session, process.id)
    rows = [(conversation, await opinions.is_open(session, conversation)) for conversation in found]
    return render(request, "opinions/list.html", {"process": process, "conversations": rows})


@router.get("/participation/processes/{slug:str}/conversations/section")
async def process_conversations_section(request: Request, session: DbSession, slug: str) -> Response:
    """The conversations part of a process's page, which that page loads by its address (participation does not
    know this domain); empty when the process has none."""
    process = await or_404(participation.get_process_by_slug(session, slug), "Unknown process.")
    found = await opinions.conversations_of(session, process.id)
    rows = [(conversation, await opinions.is_open(session, conversation)) for conversation in found]
    return render(request, "opinions/_process_section.html", {"process": process, "conversations": rows})


# --- moderators -----------------------------------------------------------------------------------


async def require_moderator(person: SignedInPerson) -> Person:
    """Participation's moderators decide on statements too."""
    if not moderation.is_moderator(person):
        raise HTTPException(403, "Moderators only.")
    return person


ModeratorPerson = Annotated[Person, Depends(require_moderator)]


@router.get("/participation/conversations/{conversation_id:int}/moderation")
async def moderation_queue(
    request: Request, session: DbSession, person: ModeratorPerson, conversation_id: PathId
) -> Response:
    conversation = await or_404(
        opinions.get_conversation(session, conversation_id, include_unpublished=True), "Unknown conversation."
    )
    context = {
        "conversation": conversation,
        "pending": await opinions.moderation_queue(session, conversation),
        "published": await opinions.statements_of(session, conversation.id),
    }
    return render(request, "opinions/moderation.html", context)


@router.post("/participation/conversations/{conversation_id:int}/moderation/{statement_id:int}")
async def moderate_statement(
    request: Request,
    session: DbSession,
    person: ModeratorPerson,
    conversation_id: PathId,
    statement_id: PathId,
    form: Form,
) -> Response:
    accept = field(form, "decision") == "publish"
    await opinions.moderate(session, person, statement_id, accept, field(form, "reason"))
    flash(request, N_("Statement published.") if accept else N_("Statement moderated out."), "success")
    return see_other(f"/participation/conversations/{conversation_id}/moderation")


# --- administrators -------------------------------------------------------------------------------


@router.get("/admin/participation/processes/{process_id:int}/conversations/new")
async def new_conversation(request: Request, session: DbSession, person: AdminPerson, process_id: PathId) -> Response:
    process = await or_404(participation.get_process(session, process_id, include_unpublished=True), "Unknown process.")
    phases = (await participation.phases_of(session, [process.id]))[process.id]
    return render(request, "opinions/admin_new.html", {"process": process, "phases": phases, "errors": [], "given": {}})


@router.post("/admin/participation/processes/{process_id:int}/conversations/new")
async def create_conversation(
    request: Request, session: DbSession, person: AdminPerson, process_id: PathId, form: TypedForm
) -> Response:
    process = await or_404(participation.get_process(session, process_id, include_unpublished=True), "Unknown process.")
    data = opinions.ConversationInput(
        process_id=process.id,
        question=field(form, "question"),
        question_en=field(form, "question_en"),
        phase_id=parse_id(field(form, "phase_id")),
        participants_write=bool(field(form, "participants_write")),
        moderate_before=field(form, "moderation") == "before",
        verified_only=bool(field(form, "verified_only")),
        anonymous_allowed=bool(field(form, "anonymous_allowed")),
        seeds=field(form, "seeds").splitlines(),
    )
    try:
        if form_has_forbidden_characters(form):
            raise opinions.OpinionError(FORBIDDEN_TEXT)
        conversation = await opinions.create_conversation(session, data)
    except opinions.OpinionError as error:
        phases = (await participation.phases_of(session, [process.id]))[process.id]
        context = {
            "process": process,
            "phases": phases,
            "errors": [error.problem(str(request.state.locale))],
            "given": {name: field(form, name) for name in form},
        }
        return render(request, "opinions/admin_new.html", context, error.status_code)
    flash(request, N_("The conversation is open."), "success")
    return see_other(f"/participation/conversations/{conversation.id}")
