"""Following: follow or stop following a process or a neighbourhood. (The list of what one follows gathers the
reports one follows too: citoyen.overviews serves it.)"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from citoyen.db import DbSession
from citoyen.i18n import N_
from citoyen.participation.follows import service as follows
from citoyen.web.forms import field, safe_next, see_other
from citoyen.web.params import parse_id
from citoyen.web.security import Form, SignedInPerson
from citoyen.web.templating import flash

router = APIRouter(include_in_schema=False)


@router.post("/follows")
async def change_follow(request: Request, session: DbSession, person: SignedInPerson, form: Form) -> Response:
    kind, target = field(form, "kind"), field(form, "target_id")
    back = safe_next(field(form, "next"), "/account/follows")
    try:
        target_id = parse_id(target)
        if target_id is None:
            raise follows.FollowError(N_("Choose what to follow."))
        if field(form, "action") == "unfollow":
            await follows.unfollow(session, person, kind, target_id)
            flash(request, N_("You no longer follow it."), "success")
        else:
            await follows.follow(session, person, kind, target_id)
            flash(request, N_("You follow it: news will appear in your notifications."), "success")
    except follows.FollowError as error:
        flash(request, error.message, "error")
    return see_other(back)
