"""The refusal every participation rule raises, in one module so that each subject's module can raise it
without importing another's."""

from __future__ import annotations

from typing import Any


class ParticipationError(ValueError):
    """A refused request. `message` is an English msgid (translated on pages); `kind` maps to HTTP:
    invalid -> 400, not_found -> 404, forbidden -> 403, conflict -> 409."""

    def __init__(self, message: str, kind: str = "invalid", field: str = "", **values: Any) -> None:
        super().__init__(message % values if values else message)
        self.message = message
        self.kind = kind
        self.field = field
        self.values = values
