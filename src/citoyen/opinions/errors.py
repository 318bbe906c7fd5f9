"""The opinion map's refusal."""

from __future__ import annotations

from citoyen.errors import Refusal


class OpinionError(Refusal):
    """A refused request (`citoyen.errors.Refusal`); kinds: invalid, not_found, forbidden, not_verified, closed."""
