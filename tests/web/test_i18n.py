"""Translations: every message in the sources is translated into French, placeholders survive, negotiation works.

The extraction below is the one `scripts/i18n-update` runs (`pybabel extract -F babel.cfg -k N_ -k _`),
done in-process so that a string added without its French translation fails the build.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import IO, Any

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from citoyen.i18n import TRANSLATIONS_DIR, get_translations, negotiate_locale

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIR = REPO_ROOT / "src" / "citoyen"
BABEL_CFG = REPO_ROOT / "babel.cfg"
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, "_": None}

# `%(name)s`-style placeholders (filled by the templates' `_()` keyword arguments) and `{name}` ones (str.format).
NAMED_PERCENT = re.compile(r"%\([^)]*\)[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
BRACES = re.compile(r"\{[^{}]*\}")
# A call that marks a literal string for translation, in Python or in a template.
MARKED_CALL = re.compile(r"(?<![\w.])N?_\(\s*[\"']")


# babel's parser of babel.cfg is not annotated: give it its type once.
parse_babel_cfg: Callable[[IO[str], str], tuple[list[tuple[str, str]], dict[str, dict[str, Any]]]] = parse_mapping_cfg


def _msgid(message: str | Sequence[str]) -> str:
    return message if isinstance(message, str) else message[0]


@cache
def extracted() -> dict[tuple[str, str | None], list[str]]:
    """Every (msgid, context) found in the sources, with the files (relative to src/citoyen) that use it."""
    with BABEL_CFG.open(encoding="utf-8") as cfg:
        method_map, options_map = parse_babel_cfg(cfg, str(BABEL_CFG))
    found: dict[tuple[str, str | None], list[str]] = {}
    for filename, _lineno, message, _comments, context in extract_from_dir(
        SOURCE_DIR, method_map, options_map, keywords=KEYWORDS
    ):
        found.setdefault((_msgid(message), context), []).append(Path(filename).as_posix())
    return found


def load_catalog(locale: str) -> Catalog:
    with (TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as po_file:
        return read_po(po_file, locale=locale)


def translated_messages(catalog: Catalog) -> list[Message]:
    return [message for message in catalog if message.id and message.string]


def _forms(message: Message) -> list[str]:
    """The translation, or its plural forms."""
    string: str | Iterable[str] | None = message.string
    if string is None:
        return [""]
    return [string] if isinstance(string, str) else list(string)


def _describe(messages: list[str]) -> str:
    return "\n".join(f"  {message!r}" for message in sorted(messages))


def test_extraction_finds_template_and_python_strings() -> None:
    found = {msgid for msgid, _context in extracted()}
    # A template string, one with keyword arguments, a Python N_() string and a request gettext `_()` one.
    assert "Log in" in found
    assert "Delete %(name)s" in found
    assert "Wrong e-mail address or password." in found
    assert "Reset your Citoyen password" in found
    # Every file that marks a string for translation is covered by babel.cfg.
    marking = {
        path.relative_to(SOURCE_DIR).as_posix()
        for path in SOURCE_DIR.rglob("*")
        if path.is_file()
        and path.suffix in {".py", ".html", ".txt", ".xml", ".jinja", ".j2"}
        and "static" not in path.relative_to(SOURCE_DIR).parts
        and MARKED_CALL.search(path.read_text(encoding="utf-8", errors="replace"))
    }
    extracted_files = {filename for filenames in extracted().values() for filename in filenames}
    not_extracted = sorted(marking - extracted_files)
    assert not not_extracted, f"babel.cfg does not extract messages from: {not_extracted}"


def test_every_message_in_the_sources_is_translated_into_french() -> None:
    catalog = load_catalog("fr")
    missing: list[str] = []
    untranslated: list[str] = []
    for (msgid, context), files in extracted().items():
        message = catalog.get(msgid, context)
        where = f"{msgid!r} ({', '.join(sorted(set(files)))})"
        if message is None:
            missing.append(where)
        elif message.fuzzy or not all(_forms(message)):
            untranslated.append(where)
    problems = []
    if missing:
        problems.append("not in the fr catalog (run scripts/i18n-update):\n" + "\n".join(missing))
    if untranslated:
        problems.append(
            "empty or fuzzy in src/citoyen/web/translations/fr/LC_MESSAGES/messages.po:\n" + "\n".join(untranslated)
        )
    assert not problems, "\n".join(problems)


def test_french_catalog_has_no_fuzzy_entries() -> None:
    fuzzy = [str(message.id) for message in load_catalog("fr") if message.id and message.fuzzy]
    assert not fuzzy, f"fuzzy entries in the fr catalog (check them, then drop the flag):\n{_describe(fuzzy)}"


def test_english_catalog_exists() -> None:
    catalog = load_catalog("en")
    assert str(catalog.locale) == "en"


def test_french_translations_keep_placeholders_and_line_breaks() -> None:
    catalog = load_catalog("fr")
    wrong: list[str] = []
    for message in translated_messages(catalog):
        msgid = _msgid(message.id)
        for form in _forms(message):
            for pattern in (NAMED_PERCENT, BRACES):
                if Counter(pattern.findall(msgid)) != Counter(pattern.findall(form)):
                    wrong.append(f"{msgid!r} -> {form!r}: placeholders {pattern.findall(msgid)}")
            if msgid.count("\n") != form.count("\n"):
                wrong.append(f"{msgid!r} -> {form!r}: line breaks differ")
            if (msgid[:1].isspace(), msgid[-1:].isspace()) != (form[:1].isspace(), form[-1:].isspace()):
                wrong.append(f"{msgid!r} -> {form!r}: leading or trailing space differs")
    # Babel's own checks (python-format conversions, number of plural forms).
    for message, errors in catalog.check():
        wrong.extend(f"{message.id!r}: {error}" for error in errors)
    assert not wrong, "\n".join(wrong)


def test_french_translations_are_used() -> None:
    french = get_translations("fr")
    assert french.gettext("Log in") == "Se connecter"
    assert french.ngettext("%(num)d account", "%(num)d accounts", 3) % {"num": 3} == "3 comptes"
    assert french.ngettext("%(num)d account", "%(num)d accounts", 1) % {"num": 1} == "1 compte"
    assert get_translations("en").gettext("Log in") == "Log in"


@pytest.mark.parametrize(
    ("cookie", "accept_language", "default", "expected"),
    [
        ("en", "fr-FR,fr;q=0.9", "fr", "en"),
        ("fr", "en-GB,en;q=0.9", "en", "fr"),
        ("de", "en-GB,en;q=0.9,fr;q=0.8", "fr", "en"),
        (None, "en-GB,en;q=0.9,fr;q=0.8", "fr", "en"),
        (None, "de-DE,fr;q=0.5", "en", "fr"),
        (None, "fr;q=0.4,en;q=0.8", "fr", "en"),
        (None, "de-DE,es;q=0.8", "fr", "fr"),
        (None, "de-DE,es;q=0.8", "en", "en"),
        (None, None, "en", "en"),
        ("", "", "fr", "fr"),
    ],
)
def test_negotiate_locale(cookie: str | None, accept_language: str | None, default: str, expected: str) -> None:
    assert negotiate_locale(cookie, accept_language, default) == expected
