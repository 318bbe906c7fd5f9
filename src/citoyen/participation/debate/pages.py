"""Debate pages: the comments section under proposals and processes (post, reply, vote with htmx, or
plain forms without JavaScript), a debate's own page for other sorts and pages, links to a comment."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import DbSession
from citoyen.i18n import N_
from citoyen.participation.debate import service as debate
from citoyen.participation.debate.service import DebateError, Target
from citoyen.participation.debate.views import debate_view
from citoyen.participation.service import ProcessFrame, ProcessFrames, load_frame
from citoyen.web.forms import field, safe_next
from citoyen.web.params import FORBIDDEN_TEXT, PageNumber, PathId, clean_text, form_has_forbidden_characters, parse_id
from citoyen.web.security import CurrentPerson, Form, SignedInPerson, TypedForm
from citoyen.web.templating import flash, locale_of, render

router = APIRouter(include_in_schema=False)


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


async def _target(session: AsyncSession, kind: str, target_id: int) -> Target:
    try:
        if kind == "proposals":
            return await debate.proposal_target(session, target_id)
        return await debate.process_target(session, target_id)
    except DebateError as error:
        raise HTTPException(404, error.message) from error


async def _frame(request: Request, session: AsyncSession, target: Target) -> ProcessFrame:
    frames: ProcessFrames = request.app.state.process_frames
    frame = await frames.get(session, target.process.id)
    if frame is None:  # the process went away since the target was read
        raise HTTPException(404, "Unknown process.")
    return frame


def _title(target: Target, locale: str) -> str:
    return target.proposal.title if target.proposal else target.process.label(locale)


@router.get("/participation/{kind:str}/{target_id:int}/comments")
async def show_debate(
    request: Request,
    session: DbSession,
    person: CurrentPerson,
    kind: str,
    target_id: PathId,
    sort: str = "oldest",
    page: PageNumber = 1,
) -> Response:
    """A debate sorted and paged: the section alone for htmx, a page of its own otherwise."""
    if kind not in ("proposals", "processes"):
        raise HTTPException(404, "Unknown page.")
    target = await _target(session, kind, target_id)
    if target.proposal is not None and target.proposal.hidden_at is not None:
        raise HTTPException(404, "This proposal was hidden by moderation.")
    viewer_id = person.id if person else None
    frame = await _frame(request, session, target)
    context: dict[str, Any] = {"debate": await debate_view(session, viewer_id, target, frame, sort, page)}
    if is_htmx(request):
        return render(request, "debate/_section.html", context)
    context["title"] = _title(target, str(getattr(request.state, "locale", "fr")))
    return render(request, "debate/page.html", context)


@router.post("/participation/{kind:str}/{target_id:int}/comments")
async def post_comment(
    request: Request, session: DbSession, person: SignedInPerson, kind: str, target_id: PathId, form: TypedForm
) -> Response:
    if kind not in ("proposals", "processes"):
        raise HTTPException(404, "Unknown page.")
    target = await _target(session, kind, target_id)
    parent = field(form, "parent_id")
    parent_id = parse_id(parent)
    sort = field(form, "sort") or "oldest"
    try:
        if form_has_forbidden_characters(form):
            raise DebateError(FORBIDDEN_TEXT)
        comment = await debate.add_comment(
            session,
            request.app.state.settings,
            person,
            target,
            field(form, "body", strip=False),
            parent_id,
            field(form, "alignment"),
            locale_of(request),
        )
    except DebateError as error:
        # The rules are checked before anything is written: nothing was stored. The form comes back
        # with the text as typed.
        key = str(parent_id) if parent_id else "new"
        errors = {key: {"message": error.message, "values": error.values}}
        values = {key: clean_text(field(form, "body", strip=False)), "alignment": clean_text(field(form, "alignment"))}
        # Read afresh, not from the cache: the refusal may be the debate closing a moment ago.
        frame = await load_frame(session, target.process)
        context: dict[str, Any] = {
            "debate": await debate_view(session, person.id, target, frame, sort, 1, errors, values)
        }
        template = "debate/_section.html" if is_htmx(request) else "debate/page.html"
        context["title"] = _title(target, str(getattr(request.state, "locale", "fr")))
        return render(request, template, context, error.status_code)
    if is_htmx(request):
        page = await debate.page_of(session, comment, sort)
        frame = await _frame(request, session, target)
        view = await debate_view(session, person.id, target, frame, sort, page, focus=comment.id)
        return render(request, "debate/_section.html", {"debate": view})
    flash(request, N_("Your comment is published."), "success")
    return RedirectResponse(f"/participation/comments/{comment.id}", status_code=303)


@router.get("/participation/comments/{comment_id:int}")
async def comment_link(session: DbSession, comment_id: PathId) -> Response:
    """A stable link to a comment (notifications use it): the page of the debate where it is."""
    try:
        comment = await debate.get_comment(session, comment_id)
        target = await debate.target_of(session, comment)
    except DebateError as error:
        raise HTTPException(404, error.message) from error
    page = await debate.page_of(session, comment, "oldest")
    if page == 1:
        return RedirectResponse(f"{target.link}#comment-{comment.id}", status_code=303)
    return RedirectResponse(f"{target.comments_url}?page={page}#comment-{comment.id}", status_code=303)


@router.post("/participation/comments/{comment_id:int}/vote")
async def vote_comment(
    request: Request, session: DbSession, person: SignedInPerson, comment_id: PathId, form: Form
) -> Response:
    try:
        comment = await debate.get_comment(session, comment_id)
    except DebateError as error:
        raise HTTPException(404, error.message) from error
    error_message: dict[str, Any] | None = None
    try:
        mine = await debate.vote(session, person, comment, field(form, "value"))
    except DebateError as error:
        mine = 0
        error_message = {"message": error.message, "values": error.values}
        if not is_htmx(request):
            flash(request, error.message, "error")
    if is_htmx(request):
        context = {"comment": comment, "mine": mine, "vote_error": error_message, "signed_in": True}
        return render(request, "debate/_votes.html", context, 200)
    back = safe_next(field(form, "next"), f"/participation/comments/{comment.id}")
    return RedirectResponse(f"{back}#comment-{comment.id}", status_code=303)
