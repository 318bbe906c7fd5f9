"""Verification pages: a citizen verifies their residence; an administrator imports residents' lists."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from citoyen.db import DbSession
from citoyen.i18n import N_
from citoyen.people.service import Person
from citoyen.verification import service as verification
from citoyen.web.forms import AppSettings, field, safe_next, see_other
from citoyen.web.params import PathId
from citoyen.web.security import AdminPerson, Form, SignedInPerson
from citoyen.web.templating import flash, render

router = APIRouter(include_in_schema=False)
MAX_UPLOAD_BYTES = 64 * 1024 * 1024


async def _render_verify(
    request: Request,
    session: DbSession,
    person: Person,
    errors: list[dict[str, Any]] | None = None,
    next_url: str = "",
    status_code: int = 200,
) -> Response:
    entry = await verification.verification_of(session, person.id)
    context = {"entry": entry, "errors": errors or [], "next_url": next_url}
    return render(request, "verification/verify.html", context, status_code)


@router.get("/account/verification")
async def verify_form(request: Request, session: DbSession, person: SignedInPerson, next: str = "") -> Response:
    return await _render_verify(request, session, person, next_url=safe_next(next))


@router.post("/account/verification")
async def verify(
    request: Request, session: DbSession, settings: AppSettings, person: SignedInPerson, form: Form
) -> Response:
    next_url = safe_next(field(form, "next"))
    try:
        await verification.verify_person(
            session,
            settings,
            person,
            field(form, "document_number"),
            field(form, "birth_date"),
            request.client.host if request.client else "",
        )
    except verification.VerificationError as error:
        # Rendered, not raised: the attempt is counted (the transaction commits) even when refused.
        return await _render_verify(request, session, person, [error.problem()], next_url, error.status_code)
    flash(request, N_("Your residence is verified: you can now vote."), "success")
    return see_other(next_url or "/account/verification")


# --- administration ---------------------------------------------------------------------------


async def _render_admin(
    request: Request, session: DbSession, errors: list[str] | None = None, name: str = "", status_code: int = 200
) -> Response:
    context = {"lists": await verification.list_resident_lists(session), "errors": errors or [], "name": name}
    return render(request, "verification/admin_lists.html", context, status_code)


@router.get("/admin/verification")
async def admin_lists(request: Request, session: DbSession, admin: AdminPerson) -> Response:
    return await _render_admin(request, session)


@router.post("/admin/verification")
async def admin_import(
    request: Request, session: DbSession, settings: AppSettings, admin: AdminPerson, form: Form
) -> Response:
    name = field(form, "name")
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _render_admin(request, session, [N_("Choose a CSV file to import.")], name, 400)
    data = await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        return await _render_admin(request, session, [N_("The file is too large (64 MB at most).")], name, 400)
    try:
        parsed = verification.parse_resident_csv(data)
        imported = await verification.import_resident_list(session, settings, name or upload.filename, parsed, admin)
    except verification.ResidentListError as error:
        return await _render_admin(request, session, error.problems, name, 400)
    finally:
        del data
    flash(request, N_("The residents' list has been imported (only keyed hashes are stored)."), "success")
    return see_other(f"/admin/verification#list-{imported.id}")


@router.post("/admin/verification/{list_id:int}/active")
async def admin_set_active(
    request: Request, session: DbSession, admin: AdminPerson, list_id: PathId, form: Form
) -> Response:
    try:
        await verification.set_list_active(session, list_id, field(form, "active") == "1")
    except verification.VerificationError as error:
        raise HTTPException(404, "Unknown residents' list.") from error
    return see_other("/admin/verification")
