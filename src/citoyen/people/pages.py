"""People pages: sign-up, login, password reset, the account page (sessions, data rights), administration."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from citoyen.db import DbSession
from citoyen.i18n import N_
from citoyen.people import mail
from citoyen.people import service as people
from citoyen.people.models import Person, Role
from citoyen.people.security import verify_password
from citoyen.web.forms import AppSettings, field, found, safe_next, see_other
from citoyen.web.params import PathId
from citoyen.web.security import AdminPerson, CurrentPerson, Form, SignedInPerson, sign_in, sign_out
from citoyen.web.templating import flash, gettext_for, render

router = APIRouter(include_in_schema=False)


# --- sign-up, login, logout -------------------------------------------------------------------


@router.get("/signup")
async def signup_form(request: Request, person: CurrentPerson) -> Response:
    return render(request, "people/signup.html", {"values": {}, "errors": []})


@router.post("/signup")
async def signup(request: Request, session: DbSession, settings: AppSettings, form: Form) -> Response:
    """The same answer whether or not the address has an account: "check your mailbox"."""
    values = {"email": field(form, "email"), "display_name": field(form, "display_name")}
    password = str(form.get("password") or "")
    _ = gettext_for(request)
    confirm = people.MailText(
        _("Confirm your Citoyen account"),
        _(
            "Welcome to Citoyen!\n\nOpen this link within %(hours)d hours to confirm your address and "
            "create your account:\n{link}\n\nIf you did not sign up, ignore this message: no account is created.",
            hours=settings.login_link_hours,
        ),
    )
    taken = people.MailText(
        _("Someone tried to sign up with your address"),
        _(
            "Someone (perhaps you) tried to create a Citoyen account with this address, which already has "
            "one. Nothing has changed.\n\nIf you forgot your password, open this link within %(hours)d hours "
            "to choose a new one:\n{link}\n\nOtherwise, ignore this message.",
            hours=settings.password_reset_hours,
        ),
    )
    try:
        await people.request_sign_up(
            session,
            settings,
            values["email"],
            password,
            values["display_name"],
            request.state.locale,
            confirm,
            taken,
        )
    except people.PeopleError as error:
        return render(request, "people/signup.html", {"values": values, "errors": error.problems}, 400)
    return render(request, "people/signup.html", {"values": values, "errors": [], "sent": True})


@router.get("/login/link/{token}")
async def email_link_form(request: Request, session: DbSession, token: str) -> Response:
    """A button, not a login on GET: mail scanners that open links must not spend them."""
    valid = await people.email_link_is_valid(session, token)
    return render(request, "people/link.html", {"token": token, "valid": valid, "errors": []})


@router.post("/login/link/{token}")
async def follow_email_link(request: Request, session: DbSession, token: str, form: Form) -> Response:
    try:
        person = await people.follow_email_link(session, token)
    except people.PeopleError as error:
        return render(request, "people/link.html", {"token": token, "valid": False, "errors": error.problems}, 400)
    await sign_in(request, session, person)
    flash(request, N_("Welcome! You are logged in."), "success")
    return see_other("/account")


@router.get("/login")
async def login_form(request: Request, person: CurrentPerson, next: str = "/account") -> Response:
    return render(request, "people/login.html", {"values": {}, "errors": [], "next": safe_next(next, "/account")})


@router.post("/login")
async def login(request: Request, session: DbSession, settings: AppSettings, form: Form) -> Response:
    email = field(form, "email")
    target = safe_next(field(form, "next"), "/account")
    client = request.client.host if request.client else "unknown"
    _ = gettext_for(request)
    login_link = people.MailText(
        _("Log in to Citoyen"),
        _(
            "Many failed attempts to log in to your Citoyen account have been made, so its password cannot be "
            "used for a while. This is not your fault, and your password is still secret.\n\nOpen this link "
            "within %(hours)d hours to log in without it:\n{link}\n\nIf the attempts were yours and you forgot "
            "your password, you can also reset it from the login page.",
            hours=settings.login_link_hours,
        ),
    )
    try:
        person = await people.authenticate(
            session, settings, email, str(form.get("password") or ""), client, login_link
        )
    except people.LoginThrottled as error:
        context = {"values": {"email": email}, "errors": error.problems, "next": target}
        return render(request, "people/login.html", context, 429)
    except people.PeopleError as error:
        context = {"values": {"email": email}, "errors": error.problems, "next": target}
        return render(request, "people/login.html", context, 400)
    await sign_in(request, session, person)
    return see_other(target)


@router.post("/logout")
async def logout(request: Request, session: DbSession, form: Form) -> Response:
    await sign_out(request, session)
    return see_other("/")


# --- password reset ---------------------------------------------------------------------------


@router.get("/password/forgot")
async def forgot_form(request: Request, person: CurrentPerson) -> Response:
    return render(request, "people/forgot.html", {"values": {}, "sent": False})


@router.post("/password/forgot")
async def forgot(request: Request, session: DbSession, settings: AppSettings, form: Form) -> Response:
    email = field(form, "email")
    _ = gettext_for(request)
    await people.start_password_reset(
        session,
        settings,
        email,
        subject=_("Reset your Citoyen password"),
        body_template=_(
            "Someone (hopefully you) asked to reset the password of your Citoyen account.\n\n"
            "Open this link within %(hours)d hours to choose a new password:\n{link}\n\n"
            "If you did not ask for it, ignore this message: your password stays as it is.",
            hours=settings.password_reset_hours,
        ),
    )
    return render(request, "people/forgot.html", {"values": {"email": email}, "sent": True})


@router.get("/password/reset/{token}")
async def reset_form(request: Request, session: DbSession, token: str) -> Response:
    valid = await people.reset_token_is_valid(session, token)
    return render(request, "people/reset.html", {"token": token, "valid": valid, "errors": []})


@router.post("/password/reset/{token}")
async def reset(request: Request, session: DbSession, token: str, form: Form) -> Response:
    try:
        person = await people.complete_password_reset(session, token, str(form.get("password") or ""))
    except people.PeopleError as error:
        valid = await people.reset_token_is_valid(session, token)
        return render(request, "people/reset.html", {"token": token, "valid": valid, "errors": error.problems}, 400)
    await sign_in(request, session, person)
    flash(request, N_("Your password has been changed."), "success")
    return see_other("/account")


# --- the account page: data rights ------------------------------------------------------------


async def _render_account(
    request: Request, session: DbSession, person: Person, errors: list[str] | None = None, status_code: int = 200
) -> Response:
    context = {
        "sessions": await people.live_sessions(session, person.id),
        "this_session": request.state.session_hash,
        "consents": await people.current_consents(session, person),
        "purposes": people.CONSENT_PURPOSES,
        "access_log": await people.access_log(session, person),
        "providers": request.app.state.personal_data.providers,
        "errors": errors or [],
    }
    return render(request, "people/account.html", context, status_code)


@router.get("/account")
async def account(request: Request, session: DbSession, person: SignedInPerson) -> Response:
    return await _render_account(request, session, person)


@router.post("/account/sessions/end")
async def end_session(request: Request, session: DbSession, person: SignedInPerson, form: Form) -> Response:
    """End one of the person's sessions (this one logs them out)."""
    which = field(form, "session")
    if which == request.state.session_hash:
        await sign_out(request, session)
        return see_other("/")
    if not await people.end_session(session, which, person.id):
        return await _render_account(request, session, person, [N_("This session has already ended.")], 400)
    flash(request, N_("The session has been ended."), "success")
    return see_other("/account#sessions")


@router.post("/account/sessions/end-all")
async def end_all_sessions(request: Request, session: DbSession, person: SignedInPerson, form: Form) -> Response:
    await people.end_all_sessions(session, person.id)
    await sign_out(request, session)
    flash(request, N_("You have been logged out everywhere."), "success")
    return see_other("/login")


@router.post("/account/consents")
async def update_consents(request: Request, session: DbSession, person: SignedInPerson, form: Form) -> Response:
    current = await people.current_consents(session, person)
    for purpose in people.CONSENT_PURPOSES:
        wanted = form.get(f"consent_{purpose}") == "on"
        record = current[purpose]
        if (record.granted if record else False) != wanted:
            await people.record_consent(session, person, purpose, wanted)
    flash(request, N_("Your choices have been saved."), "success")
    return see_other("/account#consent")


@router.get("/account/export.json")
async def export_json(request: Request, session: DbSession, person: SignedInPerson) -> Response:
    data = await people.export_personal_data(session, request.app.state.personal_data, person)
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="citoyen-my-data.json"'},
    )


@router.get("/account/export.zip")
async def export_zip(request: Request, session: DbSession, person: SignedInPerson) -> Response:
    data = await people.export_personal_data(session, request.app.state.personal_data, person)
    return Response(
        people.export_as_csv_zip(data),
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="citoyen-my-data.zip"'},
    )


@router.post("/account/erase")
async def erase(request: Request, session: DbSession, person: SignedInPerson, form: Form) -> Response:
    if not verify_password(person.password_hash, str(form.get("password") or "")):
        return await _render_account(request, session, person, [N_("Enter your current password to confirm.")], 400)
    await people.erase_person(session, request.app.state.personal_data, person)
    await sign_out(request, session)
    flash(request, N_("Your account and your personal data have been erased."), "success")
    return see_other("/")


# --- administration ---------------------------------------------------------------------------


@router.get("/admin")
async def admin_people(
    request: Request, session: DbSession, admin: AdminPerson, q: str = "", role: str = "", page: int = 1
) -> Response:
    role_filter = Role(role) if role in Role._value2member_map_ else None
    found, total = await people.search_people(session, q, role_filter, max(page, 1))
    context = {
        "people": found,
        "total": total,
        "q": q,
        "role": role,
        "page": max(page, 1),
        "roles": list(Role),
    }
    return render(request, "people/admin_people.html", context)


async def _render_admin_person(
    request: Request, session: DbSession, person: Person, errors: list[str] | None = None, status_code: int = 200
) -> Response:
    context = {
        "person": person,
        "roles": list(Role),
        "departments": await people.list_departments(session),
        "errors": errors or [],
    }
    return render(request, "people/admin_person.html", context, status_code)


async def _person_or_404(session: DbSession, person_id: int) -> Person:
    return found(await people.get_person(session, person_id), "Unknown account.")


@router.get("/admin/people/{person_id}")
async def admin_person(request: Request, session: DbSession, admin: AdminPerson, person_id: PathId) -> Response:
    person = await _person_or_404(session, person_id)
    await people.log_access(session, admin, person.id, "account_viewed", "admin account page")
    return await _render_admin_person(request, session, person)


@router.post("/admin/people/{person_id}/role")
async def admin_set_role(
    request: Request, session: DbSession, admin: AdminPerson, person_id: PathId, form: Form
) -> Response:
    person = await _person_or_404(session, person_id)
    role_value = field(form, "role")
    department = field(form, "department_id")
    try:
        if role_value not in Role._value2member_map_:
            raise people.PeopleError(N_("Unknown role."))
        await people.set_role(session, admin, person, Role(role_value), int(department) if department else None)
    except (people.PeopleError, ValueError) as error:
        problems = error.problems if isinstance(error, people.PeopleError) else [N_("Unknown department.")]
        return await _render_admin_person(request, session, person, problems, 400)
    flash(request, N_("The role has been changed."), "success")
    return see_other(f"/admin/people/{person_id}")


@router.post("/admin/people/{person_id}/active")
async def admin_set_active(
    request: Request, session: DbSession, admin: AdminPerson, person_id: PathId, form: Form
) -> Response:
    person = await _person_or_404(session, person_id)
    try:
        await people.set_active(session, admin, person, form.get("active") == "1")
    except people.PeopleError as error:
        return await _render_admin_person(request, session, person, error.problems, 400)
    flash(request, N_("The account has been restored.") if person.is_active else N_("The account has been suspended."))
    return see_other(f"/admin/people/{person_id}")


@router.get("/admin/departments")
async def admin_departments(request: Request, session: DbSession, admin: AdminPerson) -> Response:
    context = {"departments": await people.list_departments(session), "values": {}, "errors": []}
    return render(request, "people/admin_departments.html", context)


@router.post("/admin/departments")
async def admin_create_department(request: Request, session: DbSession, admin: AdminPerson, form: Form) -> Response:
    values = {
        "code": field(form, "code"),
        "name": field(form, "name"),
        "name_en": field(form, "name_en"),
        "email": field(form, "email"),
    }
    try:
        await people.create_department(
            session, values["code"], values["name"], values["email"] or None, name_en=values["name_en"]
        )
    except people.PeopleError as error:
        context = {
            "departments": await people.list_departments(session),
            "values": values,
            "errors": error.problems,
        }
        return render(request, "people/admin_departments.html", context, 400)
    flash(request, N_("The department has been created."), "success")
    return see_other("/admin/departments")


@router.post("/admin/departments/{department_id}/delete")
async def admin_delete_department(
    request: Request, session: DbSession, admin: AdminPerson, department_id: PathId, form: Form
) -> Response:
    try:
        await people.delete_department(session, department_id)
    except people.PeopleError as error:
        raise HTTPException(404, error.problems[0]) from error
    flash(request, N_("The department has been deleted."), "success")
    return see_other("/admin/departments")


@router.get("/admin/tokens")
async def admin_tokens(request: Request, session: DbSession, admin: AdminPerson) -> Response:
    context = {"tokens": await people.list_api_tokens(session), "scopes": people.API_SCOPES, "values": {}}
    return render(request, "people/admin_tokens.html", context | {"errors": [], "new_secret": None})


@router.post("/admin/tokens")
async def admin_create_token(request: Request, session: DbSession, admin: AdminPerson, form: Form) -> Response:
    name = field(form, "name")
    scopes = [str(scope) for scope in form.getlist("scopes")]
    context: dict[str, Any] = {"scopes": people.API_SCOPES, "values": {"name": name, "scopes": scopes}}
    try:
        _token, secret = await people.create_api_token(session, name, scopes, admin)
    except people.PeopleError as error:
        context |= {
            "tokens": await people.list_api_tokens(session),
            "errors": error.problems,
            "new_secret": None,
        }
        return render(request, "people/admin_tokens.html", context, 400)
    # The secret is shown once, on this response only.
    context |= {
        "tokens": await people.list_api_tokens(session),
        "errors": [],
        "new_secret": secret,
        "values": {},
    }
    return render(request, "people/admin_tokens.html", context, 201)


@router.post("/admin/tokens/{token_id}/revoke")
async def admin_revoke_token(
    request: Request, session: DbSession, admin: AdminPerson, token_id: PathId, form: Form
) -> Response:
    try:
        await people.revoke_api_token(session, token_id)
    except people.PeopleError as error:
        raise HTTPException(404, error.problems[0]) from error
    request.app.state.api_tokens.forget()  # other processes follow within reference_cache_seconds
    flash(request, N_("The token has been revoked."), "success")
    return see_other("/admin/tokens")


@router.get("/admin/outbox")
async def admin_outbox(request: Request, session: DbSession, settings: AppSettings, admin: AdminPerson) -> Response:
    messages = await mail.list_outbox(session) if settings.mail_to_outbox else []
    for person_id in {message.person_id for message in messages if message.person_id is not None}:
        await people.log_access(session, admin, person_id, "mail_viewed", "admin mail outbox")
    return render(request, "people/admin_outbox.html", {"messages": messages})
