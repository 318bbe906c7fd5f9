"""Participation's pages as typed views: a page route parses its request, makes one call here, renders. Each view
is read with as few statements as the page needs, the process's frame (phases, categories, scope, surveys, debate
setting) coming from the app's cache."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.i18n import N_
from citoyen.participation import service as participation
from citoyen.participation.debate.service import Target
from citoyen.participation.debate.views import DebateView, debate_view
from citoyen.participation.follows import service as follows
from citoyen.participation.models import Milestone, Process, Proposal, ProposalAnswer
from citoyen.participation.moderation import service as moderation
from citoyen.participation.service import Abilities, ProcessFrame, ProcessFrames, ProcessOverview, ProposalFilters
from citoyen.participation.surveys import service as surveys
from citoyen.participation.surveys.models import Survey
from citoyen.people.service import Person
from citoyen.territory import service as territory
from citoyen.territory.service import TerritoryIndexCache

PAGE_SIZE = 20
# A search by words counts its matches up to this, then says "more than".
COUNTED_AT_MOST = 1000


def _not_found(message: str) -> participation.ParticipationError:
    return participation.ParticipationError(message, kind="not_found")


@dataclass(frozen=True)
class ProcessPage:
    """A process with one page of its proposals as filtered and sorted, and what the viewer did there."""

    frame: ProcessFrame
    overview: ProcessOverview
    proposals: list[Proposal]
    total: int  # matches, at most COUNTED_AT_MOST when searching by words
    more: bool  # whether there are more than `total` (words only)
    page: int
    neighbourhood_names: dict[int, str]  # every neighbourhood of the city, in their order
    supported: set[int]  # the proposals of this page the viewer supports
    following: bool
    debate: DebateView

    @property
    def process(self) -> Process:
        return self.frame.process

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))

    @property
    def neighbourhoods(self) -> list[tuple[str, str]]:
        """The neighbourhoods a citizen may choose (the process's scope, if any), ids as text as the choice is."""
        scope = self.overview.scope
        return [(str(nid), name) for nid, name in self.neighbourhood_names.items() if not scope or nid in scope]

    @property
    def surveys(self) -> list[tuple[Survey, bool]]:
        """The process's surveys, each with whether it is open now."""
        return [(survey, surveys.is_open(survey)) for survey in self.frame.surveys]


async def process_page(
    session: AsyncSession,
    frames: ProcessFrames,
    territory_index: TerritoryIndexCache | None,
    slug: str,
    viewer: Person | None,
    filters: ProposalFilters,
    sort: str = "recent",
    seed: int = 0,
    page: int = 1,
    near: tuple[float, float] | None = None,
) -> ProcessPage:
    """The page of a process citizens may see (staff see unpublished ones too); `filters` apply within it, and
    with `near` (lon, lat) the proposals placed nearest to it come first, whatever `sort`.
    Refuses with kind not_found an unknown process or one not published."""
    frame = await frames.by_slug(session, slug)
    if frame is None or not (frame.process.published or (viewer and viewer.is_staff)):
        raise _not_found(N_("Unknown process."))
    process = frame.process
    filters = replace(filters, process_id=process.id)
    page = max(page, 1)
    if near is not None:
        found = await participation.nearest_proposals(session, filters, *near, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    else:
        found = await participation.search_proposals(session, filters, sort, seed, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    at_most = COUNTED_AT_MOST if filters.text else None
    total = await participation.count_proposals(session, filters, at_most=at_most)
    more = at_most is not None and total > at_most
    viewer_id = viewer.id if viewer else None
    return ProcessPage(
        frame=frame,
        overview=frame.overview(),
        proposals=found,
        total=min(total, COUNTED_AT_MOST) if more else total,
        more=more,
        page=page,
        neighbourhood_names=await territory.neighbourhood_names(session, territory_index),
        supported=await participation.supported_ids(session, viewer_id, [proposal.id for proposal in found]),
        following=await follows.is_following(session, viewer_id, "process", process.id) if viewer_id else False,
        debate=await debate_view(session, viewer_id, Target(process), frame),
    )


@dataclass(frozen=True)
class ProposalPage:
    """A proposal as its public page (and the staff's, which adds to it) shows it."""

    proposal: Proposal
    frame: ProcessFrame
    neighbourhood_name: str
    author_name: str | None  # None: no author any more (erased account)
    answers: list[ProposalAnswer]  # official answers, then milestones: none before the first answer
    milestones: list[Milestone]
    supported: bool
    can_edit: bool
    edit_deadline: datetime
    is_author: bool
    following: bool
    hidden_reason: str  # the moderators' public reason, for staff reading a hidden proposal
    debate: DebateView

    @property
    def process(self) -> Process:
        return self.frame.process

    @property
    def abilities(self) -> Abilities:
        return self.frame.abilities()

    def category_label(self, locale: str) -> str:
        category = next((c for c in self.frame.categories if c.id == self.proposal.category_id), None)
        return category.label(locale) if category else ""


@dataclass(frozen=True)
class HiddenProposal:
    """What remains public of a proposal hidden by moderation: the moderators' reason."""

    reason: str


async def proposal_view(
    session: AsyncSession,
    frames: ProcessFrames,
    territory_index: TerritoryIndexCache | None,
    proposal: Proposal,
    viewer: Person | None,
) -> ProposalPage:
    """Everything a proposal's page shows of a proposal already read (the staff page reads it its own way)."""
    frame = await frames.get(session, proposal.process_id)
    if frame is None:  # the proposal's process went away since the proposal was read
        raise _not_found(N_("Unknown proposal."))
    process = frame.process
    viewer_id = viewer.id if viewer else None
    names = await territory.neighbourhood_names(session, territory_index)
    authors = await participation.author_names(session, [proposal.author_id])
    answered = proposal.answered_at is not None
    hidden = await moderation.hidden_reasons(session, "proposal", [proposal.id]) if proposal.hidden_at else {}
    return ProposalPage(
        proposal=proposal,
        frame=frame,
        neighbourhood_name=names.get(proposal.neighbourhood_id or 0, ""),
        author_name=authors.get(proposal.author_id) if proposal.author_id else None,
        answers=await participation.answers_of(session, proposal.id) if answered else [],
        milestones=await participation.milestones_of(session, proposal.id) if answered else [],
        supported=bool(await participation.supported_ids(session, viewer_id, [proposal.id])),
        can_edit=participation.can_edit(process, proposal, viewer),
        edit_deadline=participation.edit_deadline(process, proposal),
        is_author=viewer_id is not None and proposal.author_id == viewer_id,
        following=await follows.is_following(session, viewer_id, "proposal", proposal.id) if viewer_id else False,
        hidden_reason=hidden.get(proposal.id, ""),
        debate=await debate_view(session, viewer_id, Target(process, proposal), frame),
    )


async def proposal_page(
    session: AsyncSession,
    frames: ProcessFrames,
    territory_index: TerritoryIndexCache | None,
    proposal_id: int,
    viewer: Person | None,
) -> ProposalPage | HiddenProposal:
    """A proposal's public page; of a hidden proposal citizens get only the moderators' public reason (staff
    see it all). Refuses with kind not_found an unknown proposal, or a hidden one without a public reason."""
    proposal = await participation.get_proposal(session, proposal_id, include_hidden=True)
    if proposal.hidden_at is not None and not (viewer and viewer.is_staff):
        hidden = await moderation.hidden_reasons(session, "proposal", [proposal_id])
        if proposal_id not in hidden:
            raise _not_found(N_("Unknown proposal."))
        return HiddenProposal(hidden[proposal_id])
    return await proposal_view(session, frames, territory_index, proposal, viewer)
