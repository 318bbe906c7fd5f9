"""Following pages: follow or stop following a process or a neighbourhood, and the list of what one
follows (with where e-mail digests stand)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from citoyen.db import DbSession
from citoyen.i18n import N_
from citoyen.participation.follows import service as follows
from citoyen.participation.follows.models import FollowKind
from citoyen.people import service as people
from citoyen.territory import service as territory
from citoyen.web.forms import field, safe_next, see_other
from citoyen.web.params import parse_id
from citoyen.web.security import Form, SignedInPerson
from citoyen.web.templating import flash, locale_of, render

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


@router.get("/account/follows")
async def my_follows(request: Request, session: DbSession, person: SignedInPerson) -> Response:
    followed = await follows.everything_followed(session, person.id, locale_of(request))
    following = {item.target_id for item in followed if item.kind == FollowKind.NEIGHBOURHOOD.value}
    context = {
        "followed": followed,
        "neighbourhoods": [n for n in await territory.list_neighbourhoods(session) if n.id not in following],
        "email_digest": await people.has_consent(session, person, follows.EMAIL_PURPOSE),
    }
    return render(request, "follows/list.html", context)
