"""The refusal every carpool rule raises (`citoyen.errors.Refusal`): pages show it back in their form, the JSON
API answers it with its status."""

from __future__ import annotations

from citoyen.errors import Refusal


class CarpoolError(Refusal):
    """A refused carpool request: kinds invalid (400), forbidden (403), not_found (404), conflict (409)."""
