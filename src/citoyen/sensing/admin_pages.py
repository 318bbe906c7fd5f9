"""Administration of the city's sensors: who sees each Thing (public, restricted, personal) and whose it is,
and device tokens (scope `sensing:write`) for sensors that post their readings."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from citoyen.db import DbSession
from citoyen.i18n import N_
from citoyen.people import service as people
from citoyen.sensing import portal
from citoyen.sensing.models import ThingAccess
from citoyen.web.forms import see_other
from citoyen.web.params import PathBigId
from citoyen.web.security import AdminPerson, Form
from citoyen.web.templating import flash, render

router = APIRouter(include_in_schema=False)
DEVICE_SCOPE = "sensing:write"


async def _page(request: Request, session: DbSession, status: int = 200, **extra: Any) -> Response:
    context: dict[str, Any] = {
        "things": await portal.list_things(session),
        "accesses": [access.value for access in ThingAccess],
        "access_labels": portal.ACCESS_LABELS,
        "kind_labels": portal.KIND_LABELS,
        "errors": [],
        "new_secret": None,
        "token_name": "",
    }
    return render(request, "sensing/admin.html", context | extra, status)


@router.get("/admin/sensing")
async def admin_sensing(request: Request, session: DbSession, admin: AdminPerson) -> Response:
    return await _page(request, session)


@router.post("/admin/sensing/things/{thing_id}")
async def admin_set_access(
    request: Request, session: DbSession, admin: AdminPerson, thing_id: PathBigId, form: Form
) -> Response:
    try:
        await portal.set_access(
            session, admin, thing_id, str(form.get("access") or ""), str(form.get("owner_email") or "")
        )
    except portal.PortalError as error:
        if error.status == 404:
            raise HTTPException(404, error.message) from error
        return await _page(request, session, 400, errors=[error.message])
    flash(request, N_("The sensor's access has been changed."), "success")
    return see_other("/admin/sensing")


@router.post("/admin/sensing/tokens")
async def admin_device_token(request: Request, session: DbSession, admin: AdminPerson, form: Form) -> Response:
    name = str(form.get("name") or "").strip()
    try:
        _token, secret = await people.create_api_token(session, name, [DEVICE_SCOPE], admin)
    except people.PeopleError as error:
        return await _page(request, session, 400, errors=error.problems, token_name=name)
    # The secret is shown once, on this response only.
    return await _page(request, session, 201, new_secret=secret)
