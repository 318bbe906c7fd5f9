"""Moderation pages: flagging a proposal or a comment (anyone signed in), the moderators' queue, and
their decisions (hide with a public reason, or dismiss)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from citoyen.db import DbSession
from citoyen.errors import Kind
from citoyen.i18n import N_
from citoyen.participation.debate.service import DebateError
from citoyen.participation.moderation import service as moderation
from citoyen.people.service import Person
from citoyen.web.forms import field, safe_next, see_other
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
    values = {"reason": field(form, "reason", strip=False), "details": field(form, "details", strip=False)}
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
    return see_other(back)


@router.get("/staff/moderation")
async def moderation_queue(request: Request, session: DbSession, person: ModeratorPerson) -> Response:
    items = await moderation.queue(session)
    return render(request, "moderation/queue.html", {"items": items, "reason_labels": moderation.REASON_LABELS})


@router.post("/staff/moderation/{case_id:int}/hide")
async def hide(request: Request, session: DbSession, person: ModeratorPerson, case_id: PathId, form: Form) -> Response:
    try:
        await moderation.hide(session, person, case_id, field(form, "reason", strip=False))
    except DebateError as error:
        if error.kind == Kind.NOT_FOUND:
            raise  # the app's refusal handler answers the 404 page
        items = await moderation.queue(session)
        context = {
            "items": items,
            "reason_labels": moderation.REASON_LABELS,
            "errors": {case_id: {"message": error.message, "values": error.values}},
            "typed": {case_id: field(form, "reason", strip=False)},
        }
        return render(request, "moderation/queue.html", context, error.status_code)
    flash(request, N_("Hidden. Its author has been told why."), "success")
    return see_other("/staff/moderation")


@router.post("/staff/moderation/{case_id:int}/dismiss")
async def dismiss(
    request: Request, session: DbSession, person: ModeratorPerson, case_id: PathId, form: Form
) -> Response:
    try:
        await moderation.dismiss(session, person, case_id)
    except DebateError as error:
        if error.kind == Kind.NOT_FOUND:
            raise  # the app's refusal handler answers the 404 page
        flash(request, error.message, "error")
    else:
        flash(request, N_("Dismissed: the item stays visible."), "success")
    return see_other("/staff/moderation")
