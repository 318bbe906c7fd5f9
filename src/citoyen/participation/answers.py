"""Official answers and accountability: staff answer a proposal or record a milestone of its carrying out
(announced as events: following tells the author and followers), and the queue of proposals that wait for an
answer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen import events
from citoyen.db import utcnow
from citoyen.events import MilestoneRecorded, ProposalAnswered
from citoyen.i18n import N_
from citoyen.participation.errors import ParticipationError
from citoyen.participation.models import Milestone, Proposal, ProposalAnswer, ProposalStatus, SupportCount
from citoyen.participation.repository import with_support_counts
from citoyen.people.service import Person

STATUS_LABELS = {
    ProposalStatus.PUBLISHED: N_("awaiting an answer"),
    ProposalStatus.EVALUATING: N_("under evaluation"),
    ProposalStatus.ACCEPTED: N_("accepted"),
    ProposalStatus.REJECTED: N_("rejected"),
    ProposalStatus.IN_PROGRESS: N_("in progress"),
    ProposalStatus.DONE: N_("done"),
}
ANSWER_STATUSES = tuple(status for status in ProposalStatus if status is not ProposalStatus.PUBLISHED)


async def answer_proposal(
    session: AsyncSession,
    staff: Person,
    proposal: Proposal,
    status: ProposalStatus,
    text: str = "",
    progress: int | None = None,
) -> ProposalAnswer:
    """Staff answer a proposal officially; the author and followers are told in the app."""
    if not staff.is_staff:
        raise ParticipationError(N_("Only staff may answer proposals."), kind="forbidden")
    if status not in ANSWER_STATUSES:
        raise ParticipationError(N_("Choose the status of the answer."), field="status")
    text = text.strip()
    if status is ProposalStatus.REJECTED and not text:
        raise ParticipationError(N_("Say why the proposal is rejected."), field="text")
    if progress is not None and not 0 <= progress <= 100:
        raise ParticipationError(N_("The progress is a percentage between 0 and 100."), field="progress")
    if status is ProposalStatus.DONE:
        progress = 100
    elif status is ProposalStatus.IN_PROGRESS and progress is None:
        progress = proposal.progress or 0
    elif status not in (ProposalStatus.IN_PROGRESS, ProposalStatus.DONE):
        progress = None
    now = utcnow()
    answer = ProposalAnswer(
        proposal_id=proposal.id, status=status, text=text, progress=progress, answered_by_id=staff.id, created_at=now
    )
    session.add(answer)
    proposal.status = status
    proposal.progress = progress
    proposal.answer_required = False
    proposal.answered_at = now
    proposal.updated_at = now
    await session.flush()
    await events.announce(session, ProposalAnswered(proposal_id=proposal.id, answer=text))
    return answer


async def add_milestone(
    session: AsyncSession,
    staff: Person,
    proposal: Proposal,
    title: str,
    progress: int,
    description: str = "",
    happened_on: datetime | None = None,
) -> Milestone:
    """A step in carrying out an accepted proposal; it moves the proposal's progress (and to in progress)."""
    if not staff.is_staff:
        raise ParticipationError(N_("Only staff may record milestones."), kind="forbidden")
    if proposal.status not in (ProposalStatus.ACCEPTED, ProposalStatus.IN_PROGRESS, ProposalStatus.DONE):
        raise ParticipationError(N_("Milestones are for accepted proposals."), kind="conflict")
    if not title.strip():
        raise ParticipationError(N_("A milestone needs a title."), field="milestone_title")
    if not 0 <= progress <= 100:
        raise ParticipationError(N_("The progress is a percentage between 0 and 100."), field="milestone_progress")
    milestone = Milestone(
        proposal_id=proposal.id,
        title=title.strip()[:200],
        description=description.strip(),
        progress=progress,
        happened_on=happened_on or utcnow(),
        created_by_id=staff.id,
    )
    session.add(milestone)
    proposal.progress = progress
    if progress >= 100:
        proposal.status = ProposalStatus.DONE
    elif proposal.status is ProposalStatus.ACCEPTED:
        proposal.status = ProposalStatus.IN_PROGRESS
    proposal.updated_at = utcnow()
    await session.flush()
    await events.announce(session, MilestoneRecorded(proposal_id=proposal.id, milestone_id=milestone.id))
    return milestone


async def answers_of(session: AsyncSession, proposal_id: int) -> list[ProposalAnswer]:
    query = select(ProposalAnswer).where(ProposalAnswer.proposal_id == proposal_id).order_by(ProposalAnswer.id)
    return list((await session.execute(query)).scalars())


async def milestones_of(session: AsyncSession, proposal_id: int) -> list[Milestone]:
    query = select(Milestone).where(Milestone.proposal_id == proposal_id).order_by(Milestone.happened_on, Milestone.id)
    return list((await session.execute(query)).scalars())


async def answer_queue(session: AsyncSession, limit: int = 200) -> list[Proposal]:
    """Proposals waiting for an official answer: those over their threshold first, then the most supported
    unanswered ones of processes whose proposals phase has started."""
    query = (
        with_support_counts(select(Proposal))
        .where(
            Proposal.status == ProposalStatus.PUBLISHED,
            Proposal.withdrawn_at.is_(None),
            Proposal.hidden_at.is_(None),
        )
        .order_by(Proposal.answer_required.desc(), SupportCount.support_count.desc(), Proposal.id)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def count_answer_required(session: AsyncSession) -> int:
    query = select(func.count()).where(
        Proposal.answer_required.is_(True), Proposal.withdrawn_at.is_(None), Proposal.hidden_at.is_(None)
    )
    return int(await session.scalar(query) or 0)
