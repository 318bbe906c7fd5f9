"""Translations: Babel catalogs (fr, en) read from the .po files, and locale negotiation."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from starlette.responses import Response

from citoyen.config import SUPPORTED_LOCALES

TRANSLATIONS_DIR = Path(__file__).parent / "web" / "translations"
LOCALE_COOKIE = "citoyen_lang"


def remember_locale(response: Response, locale: str) -> None:
    """Keep the chosen language for a year in the browser (a choice, not tracking)."""
    if locale in SUPPORTED_LOCALES:
        response.set_cookie(LOCALE_COOKIE, locale, max_age=365 * 24 * 3600, samesite="lax", httponly=True)


def localized(locale: str, french: str | None, english: str | None) -> str:
    """A bilingual column in the reader's language: the English text when the reader reads English and it was
    given, else the French one (the source, always given). In templates: `localized(x.name, x.name_en)`."""
    return english if locale == "en" and english else (french or "")


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
