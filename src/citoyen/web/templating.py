"""Rendering pages: one Jinja2 environment per app, the request's language, flash messages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from starlette.responses import Response

from citoyen.i18n import (
    format_day,
    format_moment,
    format_money,
    format_number,
    format_ratio,
    get_translations,
    localized,
)
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
    PACKAGE_DIR / "opinions" / "templates",
    PACKAGE_DIR / "alerts" / "templates",
    PACKAGE_DIR / "buildings" / "templates",
    PACKAGE_DIR / "mobility" / "templates",
    PACKAGE_DIR / "projects" / "templates",
    PACKAGE_DIR / "feed" / "templates",
]


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=TEMPLATE_DIRS)
    templates.env.autoescape = True
    # Templates ship with the code: never look at their files again once loaded (with reloading on, every
    # include, once per comment of a debate page, checked its file's modification time).
    templates.env.auto_reload = False
    templates.env.globals["localized"] = localized_in_page
    templates.env.globals["in_french"] = in_french_on_page
    # Numbers, money and dates as the page's language writes them (citoyen.i18n's format_* functions):
    # `{{ 3.8|number(1) }}`, `{{ budget.total_cents|money }}`, `{{ share|percent }}`, `{{ at|date }}`,
    # `{{ at|datetime }}`. Every moment a person reads is in the city's time (`Settings.time_zone`, shown by
    # `|datetime` and `|date`), never in UTC. Never `"%.1f"|format`, `|round` or `strftime` for what a person
    # reads.
    templates.env.filters["number"] = _number
    templates.env.filters["money"] = _money
    templates.env.filters["percent"] = _percent
    templates.env.filters["date"] = _date
    templates.env.filters["datetime"] = _datetime
    templates.env.globals["role_labels"] = people_service.ROLE_LABELS
    templates.env.globals["access_action_labels"] = people_service.ACCESS_ACTION_LABELS
    templates.env.globals["access_detail_labels"] = people_service.ACCESS_DETAIL_LABELS
    # Domains add their own labels when the app is built (citoyen.app.create_app): the web layer below
    # them does not import them.
    return templates


@pass_context
def localized_in_page(context: Context, french: str | None, english: str | None) -> str:
    """`localized(x.name, x.name_en)` in a template: the bilingual column in the page's language."""
    return localized(str(context.get("locale", "fr")), french, english)


@pass_context
def in_french_on_page(context: Context, french: str | None, english: str | None) -> bool:
    """Whether `localized(french, english)` shows the French text on an English page (no English given): the
    page then marks it `lang="fr"` and says "(in French)"."""
    return str(context.get("locale", "fr")) == "en" and bool(french) and not english


def _locale(context: Context) -> str:
    return str(context.get("locale", "fr"))


@pass_context
def _number(context: Context, value: float, digits: int | None = None) -> str:
    return format_number(value, _locale(context), digits)


@pass_context
def _money(context: Context, cents: int) -> str:
    return format_money(int(cents), _locale(context))


@pass_context
def _percent(context: Context, ratio: float, digits: int = 0) -> str:
    return format_ratio(ratio, _locale(context), digits)


def city_zone(context: Context) -> tzinfo:
    """The city's time zone (`Settings.time_zone`), in which pages show every moment."""
    settings = context.get("settings")
    return settings.zone if settings is not None else ZoneInfo("Europe/Paris")


@pass_context
def _date(context: Context, value: date | str, form: str = "medium") -> str:
    """A date, or an ISO date kept as text (a report's history keeps its expected date so): "7 déc. 2026". A
    moment's date is its date in the city's time."""
    if isinstance(value, str):
        try:
            day = date.fromisoformat(value[:10])
        except ValueError:
            return value
        return format_day(day, _locale(context), form)
    return format_day(value, _locale(context), form, city_zone(context))


@pass_context
def _datetime(context: Context, value: datetime) -> str:
    """A moment in the city's time, as the page's language writes it: "7 déc. 2026, 15:05"."""
    return format_moment(value, _locale(context), city_zone(context))


def _with_numbers(text: str, values: dict[str, Any], locale: str) -> str:
    """Fill `%(name)s`/`%(name)d` placeholders, whole numbers written as the language writes them (a French
    page reads "1 234 signalements", never "1234")."""
    filled = dict(values)
    for name, value in values.items():
        if isinstance(value, int) and not isinstance(value, bool) and f"%({name})d" in text:
            text = text.replace(f"%({name})d", f"%({name})s")
            filled[name] = format_number(value, locale)
    return text % filled


def locale_of(request: Request) -> str:
    return str(getattr(request.state, "locale", "fr"))


def gettext_for(request: Request) -> Callable[..., str]:
    """The request's gettext; keyword arguments fill %(name)s placeholders after translation."""
    locale = locale_of(request)
    translations = get_translations(locale)

    def gettext(message: str, **values: Any) -> str:
        translated = translations.gettext(message)
        return _with_numbers(translated, values, locale) if values else translated

    return gettext


def ngettext_for(request: Request) -> Callable[..., str]:
    """The request's ngettext; `%(num)d` in the chosen form is filled with n (Jinja's convention)."""
    locale = locale_of(request)
    translations = get_translations(locale)

    def ngettext(singular: str, plural: str, n: int, **values: Any) -> str:
        return _with_numbers(translations.ngettext(singular, plural, n), {"num": n, **values}, locale)

    return ngettext


def flash(request: Request, message: str, category: str = "info") -> None:
    """A message shown once on the next page (the message is a msgid, translated when shown)."""
    # Assigned, not appended in place: the session is saved only when one of its keys is set, so a second message
    # before the first was shown would be lost.
    request.session["flash"] = [*request.session.get("flash", []), [category, message]]


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
