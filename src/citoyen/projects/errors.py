"""The refusal every projects rule raises (`citoyen.errors.Refusal`), with the field it concerns."""

from __future__ import annotations

from citoyen.errors import Refusal


class ProjectError(Refusal):
    """A refused projects request: kinds invalid, not_found, forbidden, conflict."""
