"""Pages that belong to no domain: privacy notice, language switch."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from citoyen.config import SUPPORTED_LOCALES
from citoyen.db import DbSession
from citoyen.i18n import remember_locale
from citoyen.people import service as people
from citoyen.web.security import CurrentPerson, Form
from citoyen.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/favicon.ico")
async def favicon() -> RedirectResponse:
    return RedirectResponse("/static/favicon.svg", status_code=301)


@router.get("/privacy")
async def privacy(request: Request, person: CurrentPerson) -> Response:
    providers = request.app.state.personal_data.providers
    return render(request, "privacy.html", {"providers": providers, "purposes": people.CONSENT_PURPOSES})


@router.post("/language")
async def switch_language(request: Request, session: DbSession, person: CurrentPerson, form: Form) -> Response:
    """Remember the chosen language in a cookie (and on the account), then go back where we were."""
    locale = str(form.get("locale") or "")
    back = str(form.get("next") or "/")
    if not back.startswith("/") or back.startswith("//"):
        back = "/"
    response = RedirectResponse(back, status_code=303)
    if locale in SUPPORTED_LOCALES:
        remember_locale(response, locale)
        if person is not None:
            await people.change_locale(session, person, locale)
    return response
