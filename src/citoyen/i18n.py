"""Translations: Babel catalogs (fr, en) read from the .po files, and locale negotiation."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, tzinfo
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_time, get_datetime_format
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent
from babel.support import Translations
from starlette.responses import Response

from citoyen.config import SUPPORTED_LOCALES

TRANSLATIONS_DIR = Path(__file__).parent / "web" / "translations"
LOCALE_COOKIE = "citoyen_lang"


def remember_locale(response: Response, locale: str) -> None:
    """Keep the chosen language for a year in the browser (a choice, not tracking)."""
    if locale in SUPPORTED_LOCALES:
        response.set_cookie(LOCALE_COOKIE, locale, max_age=365 * 24 * 3600, samesite="lax", httponly=True)


# Whitespace but the no-break spaces French typography writes (U+00A0 before ":", U+202F before ";" "?" "!" and
# inside numbers).
_BREAKING_SPACE = re.compile(r"[^\S\u00a0\u202f]+")


def squeeze_spaces(text: str) -> str:
    """A text on one line: runs of spaces, tabs and line breaks as one space, ends trimmed, the no-break spaces
    kept (`" ".join(text.split())` would turn "Nouvelle proposition\u00a0: ..." into a plain space)."""
    return _BREAKING_SPACE.sub(" ", text).strip()


def localized(locale: str, french: str | None, english: str | None) -> str:
    """A bilingual column in the reader's language: the English text when the reader reads English and it was
    given, else the French one (the source, always given). In templates: `localized(x.name, x.name_en)`."""
    return english if locale == "en" and english else (french or "")


def format_number(value: float, locale: str, digits: int | None = None) -> str:
    """A number as the reader's language writes it ("3 255 000", "3,8" in French; "3,255,000", "3.8" in
    English), with exactly `digits` decimals when given, else as many as it has (up to three)."""
    if digits is None:
        return format_decimal(value, locale=locale)
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(value, pattern, locale=locale)


def format_money(cents: int, locale: str) -> str:
    """An amount of integer cents in euros: whole euros without decimals ("3 255 000 €", "€3,255,000"), the
    cents otherwise ("12,50 €")."""
    if cents % 100 == 0:
        pattern = "¤#,##0" if locale == "en" else "#,##0\u00a0¤"
        return format_currency(cents // 100, "EUR", pattern, locale=locale, currency_digits=False)
    return format_currency(cents / 100, "EUR", locale=locale)


def format_ratio(ratio: float, locale: str, digits: int = 0) -> str:
    """A ratio (0.12) as a percentage in the reader's language ("12 %" in French, "12%" in English)."""
    pattern = Locale.parse(locale).percent_formats[None].pattern
    if digits > 0:
        pattern = pattern.replace("#,##0", "#,##0." + "0" * digits)
    return format_percent(ratio, pattern, locale=locale)


def format_day(value: date, locale: str, form: str = "medium", zone: tzinfo = UTC) -> str:
    """A date in the reader's language ("7 déc. 2026", "Dec 7, 2026"; form "long": "7 décembre 2026");
    a moment's date is its date in `zone` (pages give the city's time zone)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(zone)
    return format_date(value, form, locale=locale)


def format_moment(value: datetime, locale: str, zone: tzinfo = UTC) -> str:
    """A moment in `zone` (pages give the city's time zone, `Settings.zone`; UTC by default), in the reader's
    language ("7 déc. 2026, 14:05", "Dec 7, 2026, 2:05 PM")."""
    moment = value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
    pattern = str(get_datetime_format("medium", locale=locale))
    day = format_date(moment.astimezone(zone), "medium", locale=locale)
    return pattern.replace("{1}", day).replace("{0}", format_time(moment, "short", tzinfo=zone, locale=locale))


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


@cache
def get_translations(locale: str) -> Translations:
    """The catalog of a locale, compiled in memory from its .po file (no build step needed)."""
    po_path = TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po_path.exists():
        return Translations()
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def negotiate_locale(cookie_value: str | None, accept_language: str | None, default: str) -> str:
    """The cookie wins, then the browser's Accept-Language preferences, then the city's default."""
    if cookie_value in SUPPORTED_LOCALES:
        return cookie_value
    if accept_language:
        ranked: list[tuple[float, str]] = []
        for part in accept_language.split(","):
            pieces = part.strip().split(";")
            tag = pieces[0].strip().lower()
            quality = 1.0
            for param in pieces[1:]:
                if param.strip().startswith("q="):
                    try:
                        quality = float(param.strip()[2:])
                    except ValueError:
                        quality = 0.0
            ranked.append((quality, tag))
        for _quality, tag in sorted(ranked, key=lambda item: -item[0]):
            language = tag.split("-")[0]
            if language in SUPPORTED_LOCALES:
                return language
    return default
