"""The refusal every reports rule raises, with the field it concerns: pages, the JSON API and Open311
each turn it into their own error format."""

from __future__ import annotations

from typing import Any


class ReportError(ValueError):
    """A refused request. `message` is an English msgid (translated on pages); `kind` maps to HTTP:
    invalid -> 400, not_found -> 404, forbidden -> 403, throttled -> 429."""

    def __init__(
        self,
        message: str,
        kind: str = "invalid",
        field: str = "",
        localized: dict[str, dict[str, Any]] | None = None,
        **values: Any,
    ) -> None:
        super().__init__(message % values if values else message)
        self.message = message
        self.kind = kind
        self.field = field
        self.values = values
        # Values that exist in other languages (a question's English wording): {locale: {name: value}}.
        self.localized = localized or {}

    def values_in(self, locale: str) -> dict[str, Any]:
        """The placeholders' values for a page in `locale`."""
        return {**self.values, **self.localized.get(locale, {})}
