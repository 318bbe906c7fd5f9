"""Rendering pages: one Jinja2 environment per app, the request's language, flash messages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from starlette.responses import Response

from citoyen.i18n import get_translations, localized
from citoyen.people import service as people_service

PACKAGE_DIR = Path(__file__).resolve().parent.parent
TEMPLATE_DIRS = [
    PACKAGE_DIR / "web" / "templates",
    PACKAGE_DIR / "people" / "templates",
    PACKAGE_DIR / "territory" / "templates",
    PACKAGE_DIR / "reports" / "templates",
    PACKAGE_DIR / "notifications" / "templates",
    PACKAGE_DIR / "sensing" / "templates",
    PACKAGE_DIR / "indicators" / "templates",
    PACKAGE_DIR / "opendata" / "templates",
    PACKAGE_DIR / "participation" / "templates",
    PACKAGE_DIR / "participation" / "debate" / "templates",
    PACKAGE_DIR / "participation" / "moderation" / "templates",
    PACKAGE_DIR / "participation" / "follows" / "templates",
    PACKAGE_DIR / "verification" / "templates",
    PACKAGE_DIR / "participation" / "budgets" / "templates",
    PACKAGE_DIR / "participation" / "surveys" / "templates",
]


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=TEMPLATE_DIRS)
    templates.env.autoescape = True
    # Templates ship with the code: never look at their files again once loaded (with reloading on, every
    # include, once per comment of a debate page, checked its file's modification time).
    templates.env.auto_reload = False
    templates.env.globals["localized"] = localized_in_page
    templates.env.globals["role_labels"] = people_service.ROLE_LABELS
    templates.env.globals["access_action_labels"] = people_service.ACCESS_ACTION_LABELS
    # Domains add their own labels when the app is built (citoyen.app.create_app): the web layer below
    # them does not import them.
    return templates


@pass_context
def localized_in_page(context: Context, french: str | None, english: str | None) -> str:
    """`localized(x.name, x.name_en)` in a template: the bilingual column in the page's language."""
    return localized(str(context.get("locale", "fr")), french, english)


def locale_of(request: Request) -> str:
    return str(getattr(request.state, "locale", "fr"))


def gettext_for(request: Request) -> Callable[..., str]:
    """The request's gettext; keyword arguments fill %(name)s placeholders after translation."""
    translations = get_translations(locale_of(request))

    def gettext(message: str, **values: Any) -> str:
        translated = translations.gettext(message)
        return translated % values if values else translated

    return gettext


def ngettext_for(request: Request) -> Callable[..., str]:
    """The request's ngettext; `%(num)d` in the chosen form is filled with n (Jinja's convention)."""
    translations = get_translations(locale_of(request))

    def ngettext(singular: str, plural: str, n: int, **values: Any) -> str:
        return translations.ngettext(singular, plural, n) % {"num": n, **values}

    return ngettext


def flash(request: Request, message: str, category: str = "info") -> None:
    """A message shown once on the next page (the message is a msgid, translated when shown)."""
    request.session.setdefault("flash", []).append([category, message])


def render(request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    full_context = {
        "request": request,
        "_": gettext_for(request),
        "ngettext": ngettext_for(request),
        "locale": locale_of(request),
        "current_person": getattr(request.state, "viewer", None),
        "csrf_token": request.session.get("csrf", "") if "session" in request.scope else "",
        "settings": request.app.state.settings,
        "flashes": request.session.pop("flash", []) if "session" in request.scope else [],
    }
    full_context.update(context or {})
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, template, full_context, status_code=status_code)
