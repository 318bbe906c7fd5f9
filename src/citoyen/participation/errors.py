"""The refusal every participation rule raises, in one module so that each subject's module can raise it
without importing another's."""

from __future__ import annotations

from citoyen.errors import Refusal


class ParticipationError(Refusal):
    """A refused participation request (`citoyen.errors.Refusal`): kinds invalid, signed_out, forbidden,
    not_found, conflict."""
