"""The refusal every reports rule raises, with the field it concerns: pages, the JSON API and Open311
each turn it into their own error format."""

from __future__ import annotations

from citoyen.errors import Refusal


class ReportError(Refusal):
    """A refused reports request (`citoyen.errors.Refusal`): kinds invalid, not_found, forbidden, throttled."""
