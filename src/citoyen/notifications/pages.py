"""Notification pages: a person's in-app notifications, newest first, marked read once shown."""

from __future__ import annotations

import dataclasses

from fastapi import APIRouter, Request
from fastapi.responses import Response

from citoyen.db import DbSession, writes_on_get
from citoyen.i18n import N_
from citoyen.notifications import service as notifications
from citoyen.web.forms import see_other
from citoyen.web.security import Form, SignedInPerson
from citoyen.web.templating import flash, render

router = APIRouter(include_in_schema=False)


@router.get("/notifications")
@writes_on_get  # it marks them read
async def notifications_page(request: Request, session: DbSession, person: SignedInPerson) -> Response:
    items = await notifications.list_notifications(session, person)
    # Which were new is decided before marking them read, so the page can point them out.
    new_ids = {item.id for item in items if item.read_at is None}
    await notifications.mark_all_read(session, person)
    viewer = getattr(request.state, "viewer", None)
    if viewer is not None:
        request.state.viewer = dataclasses.replace(viewer, unread_notifications=0)
    return render(request, "notifications/list.html", {"notifications": items, "new_ids": new_ids})


@router.post("/notifications/read")
async def mark_read(request: Request, session: DbSession, person: SignedInPerson, form: Form) -> Response:
    await notifications.mark_all_read(session, person)
    flash(request, N_("All your notifications are marked as read."), "success")
    return see_other("/notifications")
