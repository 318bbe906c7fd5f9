"""Numbers and text checked at the edge, in the range the database can hold, so that no value a client
sends reaches a query the database refuses (a 500): one behaviour on SQLite and PostgreSQL.

Ids outside SensorThings are `Integer` columns, 32-bit on PostgreSQL (64-bit on SQLite): a path id
beyond them names nothing (the app answers 404 for a path parameter that fails its type), a filter or a
form field beyond them is a bad request."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator
from starlette.datastructures import FormData

from citoyen.i18n import N_

MAX_ID = 2**31 - 1  # the largest value of an Integer column on PostgreSQL
# Paging goes no further than any listing here holds; OFFSET past it only costs the database a scan.
MAX_OFFSET = 1_000_000
MAX_PAGE = 100_000
# NUL (PostgreSQL refuses it in text) and the other C0 controls but tab, line feed and carriage return,
# and lone UTF-16 surrogates (which no UTF-8 answer can carry back).
FORBIDDEN_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def clean_text(value: str) -> str:
    """The text without the characters nothing may store: what a form shows back, as typed otherwise."""
    return FORBIDDEN_CHARACTERS.sub("", value)


def has_forbidden_characters(value: str) -> bool:
    return FORBIDDEN_CHARACTERS.search(value) is not None


FORBIDDEN_TEXT = N_("The text contains control characters, which cannot be kept: remove them and send it again.")


def form_has_forbidden_characters(form: FormData) -> bool:
    """Whether a field of the form holds a character nothing may store (files are not text)."""
    return any(isinstance(value, str) and has_forbidden_characters(value) for _key, value in form.multi_items())


def cleaned(values: Any) -> Any:
    """Typed values (text, lists and dicts of them) without the forbidden characters, to show them back."""
    if isinstance(values, str):
        return clean_text(values)
    if isinstance(values, list):
        return [cleaned(value) for value in values]
    if isinstance(values, dict):
        return {key: cleaned(value) for key, value in values.items()}
    return values


def _plain_text(value: str) -> str:
    if has_forbidden_characters(value):
        raise ValueError("must not contain control characters")
    return value


def _plain_texts(values: list[str] | None) -> list[str] | None:
    for value in values or []:
        _plain_text(value)
    return values


def parse_id(text: str) -> int | None:
    """An id typed in a form or a query (digits, within an id's range), or None when it cannot be one."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 10 or not 1 <= int(text) <= MAX_ID:
        return None
    return int(text)


def parse_count(text: str, maximum: int = MAX_ID) -> int | None:
    """A whole number from 0 to `maximum` typed in a form, or None when it is not one."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(maximum)) or int(text) > maximum:
        return None
    return int(text)


# A path id: out of range, the app answers 404 as for an id that names no row.
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
# The same for the sensing tables, whose ids are 64-bit (a city's sensors make billions of observations).
MAX_BIG_ID = 2**63 - 1
PathBigId = Annotated[int, Path(ge=1, le=MAX_BIG_ID)]
# An optional filter by id: out of range is a bad request.
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE)]
# Free text in a query string (searches): no control characters.
QueryText = Annotated[str, AfterValidator(_plain_text)]
QueryTexts = Annotated[list[str] | None, AfterValidator(_plain_texts)]
