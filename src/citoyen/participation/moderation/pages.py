"""Moderation pages: flagging a proposal or a comment (anyone signed in), the moderators' queue, and
their decisions (hide with a public reason, or dismiss)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from citoyen.db import DbSession
from citoyen.i18n import N_
from citoyen.participation.debate.pages import field, safe_next
from citoyen.participation.debate.service import DebateError
from citoyen.participation.moderation import service as moderation
from citoyen.people.models import Person
from citoyen.web.params import PathId, parse_id
from citoyen.web.security import Form, SignedInPerson, require_person
from citoyen.web.templating import flash, render

router = APIRouter(include_in_schema=False)


async def require_moderator(person: Annotated[Person, Depends(require_person)]) -> Person:
    if not moderation.is_moderator(person):
        raise HTTPException(403, "Moderators only.")
    return person


ModeratorPerson = Annotated[Person, Depends(require_moderator)]


@router.post("/participation/flags")
async def flag(request: Request, session: DbSession, person: SignedInPerson, form: Form) -> Response:
    kind, target = field(form, "kind"), field(form, "target_id")
    back = safe_next(field(form, "next"), "/")
    values = {"reason": field(form, "reason"), "details": field(form, "details")}
    try:
        target_id = parse_id(target)
        if target_id is None:
            raise DebateError(N_("Only proposals and comments can be flagged."), "not_found")
        await moderation.flag(session, person, kind, target_id, values["reason"], values["details"])
    except DebateError as error:
        context = {
            "kind": kind,
            "target_id": target,
            "back": back,
            "form_id": "flag",
            "flag_errors": {"message": error.message, "values": error.values},
            "flag_values": values,
        }
        return render(request, "moderation/flag.html", context, error.status_code)
    flash(request, N_("Thank you: the moderators will look at it."), "success")
    return RedirectResponse(back, status_code=303)


@router.get("/staff/moderation")
async def moderation_queue(request: Request, session: DbSession, person: ModeratorPerson) -> Response:
    items = await moderation.queue(session)
    return render(request, "moderation/queue.html", {"items": items, "reason_labels": moderation.REASON_LABELS})


@router.post("/staff/moderation/{case_id:int}/hide")
async def hide(request: Request, session: DbSession, person: ModeratorPerson, case_id: PathId, form: Form) -> Response:
    try:
        await moderation.hide(session, person, case_id, field(form, "reason"))
    except DebateError as error:
        if error.kind == "not_found":
            raise HTTPException(404, error.message) from error
        items = await moderation.queue(session)
        context = {
            "items": items,
            "reason_labels": moderation.REASON_LABELS,
            "errors": {case_id: {"message": error.message, "values": error.values}},
            "typed": {case_id: field(form, "reason")},
        }
        return render(request, "moderation/queue.html", context, error.status_code)
    flash(request, N_("Hidden. Its author has been told why."), "success")
    return RedirectResponse("/staff/moderation", status_code=303)


@router.post("/staff/moderation/{case_id:int}/dismiss")
async def dismiss(
    request: Request, session: DbSession, person: ModeratorPerson, case_id: PathId, form: Form
) -> Response:
    try:
        await moderation.dismiss(session, person, case_id)
    except DebateError as error:
        if error.kind == "not_found":
            raise HTTPException(404, error.message) from error
        flash(request, error.message, "error")
    else:
        flash(request, N_("Dismissed: the item stays visible."), "success")
    return RedirectResponse("/staff/moderation", status_code=303)
