"""Which phase of a process runs at a moment, and which takes comments: rules on phases already read, shared by
processes (what citizens may do now) and the debate (whether a comment may be posted) without either importing
the other."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from citoyen.db import utcnow
from citoyen.participation.models import Phase


def active_phase(phases: Sequence[Phase], now: datetime | None = None) -> Phase | None:
    """The phase running at `now` (the earliest-placed one if several overlap)."""
    now = now or utcnow()
    return next((phase for phase in phases if phase.starts_at <= now < phase.ends_at), None)


def commenting_phase(phases: Sequence[Phase], now: datetime | None = None) -> Phase | None:
    """A running phase that takes comments (not necessarily the first running one), if any."""
    now = now or utcnow()
    return next((phase for phase in phases if phase.starts_at <= now < phase.ends_at and phase.allows_comments), None)
