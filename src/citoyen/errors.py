"""The one refusal every rule raises: a message (an English msgid, translated where it is shown), a kind from a
closed set that fixes its HTTP status, the field it concerns and the values of the message's placeholders.

Domains subclass `Refusal` (ReportError, ParticipationError…) so that their callers can catch their own; the app
answers an uncaught refusal with one handler (JSON for the APIs, the error page for pages), and the standard APIs
(Open311, SensorThings) turn it into their own error formats."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    """Why a request was refused; each kind has one HTTP status (`STATUS`)."""

    INVALID = "invalid"  # the request breaks a rule: fix it and send it again
    SIGNED_OUT = "signed_out"  # the session no longer names an account: log in again
    FORBIDDEN = "forbidden"  # this person may not do this
    NOT_VERIFIED = "not_verified"  # only verified residents may do this
    NOT_FOUND = "not_found"  # what the request names does not exist (or may not be seen)
    CONFLICT = "conflict"  # the thing's state forbids it now (already there, already used)
    CLOSED = "closed"  # its time is over (a phase, a vote, a debate)
    ANSWERED = "answered"  # done once already (a survey answered)
    TAKEN = "taken"  # someone else holds it (a resident's document)
    THROTTLED = "throttled"  # too many attempts: try again later


STATUS: dict[Kind, int] = {
    Kind.INVALID: 400,
    Kind.SIGNED_OUT: 401,
    Kind.FORBIDDEN: 403,
    Kind.NOT_VERIFIED: 403,
    Kind.NOT_FOUND: 404,
    Kind.CONFLICT: 409,
    Kind.CLOSED: 409,
    Kind.ANSWERED: 409,
    Kind.TAKEN: 409,
    Kind.THROTTLED: 429,
}


class Refusal(ValueError):
    """A refused request. `message` is an English msgid whose `%(name)s` placeholders `values` fill; `str()` of
    the refusal is the English text (what the JSON APIs answer). `localized` holds values that exist in other
    languages (a question's English wording): {locale: {name: value}}."""

    def __init__(
        self,
        message: str,
        kind: Kind | str = Kind.INVALID,
        field: str = "",
        *,
        localized: dict[str, dict[str, Any]] | None = None,
        **values: Any,
    ) -> None:
        super().__init__(message % values if values else message)
        self.message = message
        self.kind = Kind(kind)
        self.field = field
        self.values = values
        self.localized = localized or {}

    @property
    def status_code(self) -> int:
        return STATUS[self.kind]

    def values_in(self, locale: str) -> dict[str, Any]:
        """The placeholders' values for a page in `locale`."""
        return {**self.values, **self.localized.get(locale, {})}

    def problem(self, locale: str = "en") -> dict[str, Any]:
        """For the `_errors.html` partials: the msgid, its values in `locale` and the field."""
        return {"message": self.message, "values": self.values_in(locale), "field": self.field}

    def text(self, gettext: Callable[..., str], locale: str = "en") -> str:
        """The message translated by `gettext` (a request's, `citoyen.web.templating.gettext_for`)."""
        return gettext(self.message, **self.values_in(locale))
