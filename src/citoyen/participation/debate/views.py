"""The debate as pages show it (under a proposal or a process, or on its own page): one call builds the typed
view that `debate/_section.html` renders as `debate`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.participation.debate import service as debate
from citoyen.participation.debate.service import DebatePage, Target
from citoyen.participation.moderation import service as moderation
from citoyen.participation.service import ProcessFrame


@dataclass(frozen=True)
class DebateView:
    """A page of a debate, what the viewer flagged in it, whether it takes comments, and what a refused comment
    gives back (`errors` by form field, the `typed` text)."""

    target: Target
    listing: DebatePage
    closed: str | None  # why comments are closed (a msgid), None when open
    alignment: bool  # whether comments say for or against
    flagged: set[int]  # ids of the comments the viewer flagged
    errors: Mapping[str, Any] = field(default_factory=dict)
    typed: Mapping[str, str] = field(default_factory=dict)
    focus: int | None = None  # the comment to scroll to
    # The same for every debate: the sorts, stances and flag reasons offered, the limits of a comment.
    sorts: ClassVar[Mapping[str, str]] = debate.SORTS
    alignment_labels: ClassVar[Mapping[int, str]] = debate.ALIGNMENT_LABELS
    flag_reasons: ClassVar[Mapping[str, str]] = moderation.REASON_LABELS
    max_length: ClassVar[int] = debate.MAX_BODY_LENGTH
    max_depth: ClassVar[int] = debate.MAX_DEPTH

    @property
    def base(self) -> str:
        return self.target.comments_url


async def debate_view(
    session: AsyncSession,
    viewer_id: int | None,
    target: Target,
    frame: ProcessFrame,
    sort: str = "oldest",
    page: int = 1,
    errors: Mapping[str, Any] | None = None,
    typed: Mapping[str, str] | None = None,
    focus: int | None = None,
) -> DebateView:
    """The debate of `target` for this viewer; the process's phases and debate setting come from its cached frame."""
    listing = await debate.debate_page(session, target, sort, page, viewer_id)
    everyone = listing.threads + [reply for replies in listing.replies.values() for reply in replies]
    flagged = (
        await moderation.flagged_by(session, viewer_id, "comment", [comment.id for comment in everyone])
        if viewer_id is not None
        else set()
    )
    return DebateView(
        target=target,
        listing=listing,
        closed=debate.why_closed(target, frame.commenting_phase()),
        alignment=frame.alignment_enabled,
        flagged=flagged,
        errors=errors or {},
        typed=typed or {},
        focus=focus,
    )
