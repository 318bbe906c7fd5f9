"""Moderation rules: one flag per person and item, the queue of flagged items by number of flags,
hiding with a public reason (the author is told) or dismissing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen import events
from citoyen.db import utcnow
from citoyen.events import ProposalHidden
from citoyen.i18n import N_, squeeze_spaces
from citoyen.notifications import service as notifications
from citoyen.participation.debate import service as debate
from citoyen.participation.debate.models import Comment
from citoyen.participation.debate.service import DebateError
from citoyen.participation.models import Proposal
from citoyen.participation.moderation.models import CaseStatus, Flag, FlagReason, ModerationCase, TargetKind
from citoyen.people import service as people
from citoyen.people.registry import PersonalDataProvider, PersonalDataRegistry
from citoyen.people.service import Person, Role

MODERATOR_ROLES = (Role.MODERATOR, Role.STAFF, Role.ADMIN)
MAX_DETAILS_LENGTH = 500
MAX_REASON_LENGTH = 300
REASON_LABELS = {
    FlagReason.SPAM.value: N_("Spam or advertising"),
    FlagReason.OFFENSIVE.value: N_("Offensive, hateful or personal attack"),
    FlagReason.OFF_TOPIC.value: N_("Off topic"),
    FlagReason.OTHER.value: N_("Other reason"),
}
HIDDEN_NOTICE = N_("Hidden by moderation: %(reason)s")


def is_moderator(person: Person | None) -> bool:
    return person is not None and person.role in MODERATOR_ROLES


@dataclass
class FlaggedItem:
    """A pending case as the queue shows it: what was flagged, where, and why."""

    case: ModerationCase
    kind: str
    title: str
    text: str
    link: str
    reasons: dict[str, int]
    details: list[str]


async def _target(session: AsyncSession, kind: str, target_id: int) -> Comment | Proposal:
    if kind == TargetKind.COMMENT.value:
        comment = await session.get(Comment, target_id)
        if comment is None:
            raise DebateError(N_("This comment does not exist."), "not_found")
        return comment
    if kind == TargetKind.PROPOSAL.value:
        proposal = await session.get(Proposal, target_id)
        if proposal is None:
            raise DebateError(N_("This proposal does not exist."), "not_found")
        return proposal
    raise DebateError(N_("Only proposals and comments can be flagged."), "not_found")


async def flag(
    session: AsyncSession, person: Person, kind: str, target_id: int, reason: str, details: str = ""
) -> Flag:
    """Flag an item for the moderators; a person flags an item once."""
    item = await _target(session, kind, target_id)
    if reason not in REASON_LABELS:
        raise DebateError(N_("Choose why you flag this."))
    details = details.strip()
    if reason == FlagReason.OTHER.value and not details:
        raise DebateError(N_("Say in a few words what the problem is."))
    if len(details) > MAX_DETAILS_LENGTH:
        raise DebateError(
            N_("Your explanation is too long: %(length)d characters, at most %(max)d."),
            length=len(details),
            max=MAX_DETAILS_LENGTH,
        )
    if item.hidden_at is not None:
        raise DebateError(N_("This was already hidden by moderation."), "closed")
    if getattr(item, "author_id", None) == person.id:
        raise DebateError(N_("You cannot flag what you wrote."), "forbidden")
    already = await session.execute(
        select(Flag.id).where(Flag.target_kind == kind, Flag.target_id == target_id, Flag.person_id == person.id)
    )
    if already.first() is not None:
        raise DebateError(N_("You have already flagged this: the moderators will look at it."), "closed")
    new_flag = Flag(target_kind=kind, target_id=target_id, person_id=person.id, reason=reason, details=details)
    try:
        async with session.begin_nested():
            session.add(new_flag)
            await session.flush()
    except IntegrityError:  # the same person, twice at once
        raise DebateError(N_("You have already flagged this: the moderators will look at it."), "closed") from None
    case = (
        await session.execute(
            select(ModerationCase).where(ModerationCase.target_kind == kind, ModerationCase.target_id == target_id)
        )
    ).scalar_one_or_none()
    if case is None:
        session.add(ModerationCase(target_kind=kind, target_id=target_id, flag_count=1, last_flagged_at=utcnow()))
    else:
        # A new flag after a dismissal brings the item back: someone else sees a problem.
        await session.execute(
            update(ModerationCase)
            .where(ModerationCase.id == case.id)
            .values(
                flag_count=ModerationCase.flag_count + 1,
                last_flagged_at=utcnow(),
                status=CaseStatus.PENDING.value,
            )
            .execution_options(synchronize_session=False)
        )
        await session.refresh(case)
    await session.flush()
    return new_flag


async def queue(session: AsyncSession, limit: int = 100) -> list[FlaggedItem]:
    """Pending cases, most flagged first, with the flagged text and the reasons given."""
    cases = list(
        (
            await session.execute(
                select(ModerationCase)
                .where(ModerationCase.status == CaseStatus.PENDING.value)
                .order_by(ModerationCase.flag_count.desc(), ModerationCase.last_flagged_at.desc())
                .limit(limit)
            )
        ).scalars()
    )
    comment_ids = [c.target_id for c in cases if c.target_kind == TargetKind.COMMENT.value]
    proposal_ids = [c.target_id for c in cases if c.target_kind == TargetKind.PROPOSAL.value]
    comments = await debate.comments_by_ids(session, comment_ids)
    titled_ids = proposal_ids + [c.proposal_id for c in comments.values() if c.proposal_id is not None]
    proposals: dict[int, Proposal] = {}
    if titled_ids:
        found = (await session.execute(select(Proposal).where(Proposal.id.in_(titled_ids)))).scalars()
        proposals = {proposal.id: proposal for proposal in found}
    reasons: dict[int, dict[str, int]] = {case.id: {} for case in cases}
    details: dict[int, list[str]] = {case.id: [] for case in cases}
    by_target = {(case.target_kind, case.target_id): case.id for case in cases}
    if cases:
        flags = (
            await session.execute(
                select(Flag.target_kind, Flag.target_id, Flag.reason, Flag.details).where(
                    Flag.target_id.in_([case.target_id for case in cases])
                )
            )
        ).all()
        for row in flags:
            case_id = by_target.get((row.target_kind, row.target_id))
            if case_id is None:
                continue
            reasons[case_id][row.reason] = reasons[case_id].get(row.reason, 0) + 1
            if row.details:
                details[case_id].append(row.details)
    items = []
    for case in cases:
        if case.target_kind == TargetKind.COMMENT.value:
            comment = comments.get(case.target_id)
            if comment is None:
                continue
            proposal = proposals.get(comment.proposal_id) if comment.proposal_id else None
            link = (
                f"/participation/proposals/{comment.proposal_id}#comment-{comment.id}"
                if comment.proposal_id
                else f"/participation/comments/{comment.id}"
            )
            items.append(
                FlaggedItem(
                    case,
                    case.target_kind,
                    proposal.title if proposal else "",
                    comment.body,
                    link,
                    reasons[case.id],
                    details[case.id],
                )
            )
        else:
            found_proposal = proposals.get(case.target_id)
            if found_proposal is None:
                continue
            items.append(
                FlaggedItem(
                    case,
                    case.target_kind,
                    found_proposal.title,
                    found_proposal.body,
                    f"/participation/proposals/{found_proposal.id}",
                    reasons[case.id],
                    details[case.id],
                )
            )
    return items


async def _pending_case(session: AsyncSession, case_id: int) -> ModerationCase:
    case = await session.get(ModerationCase, case_id)
    if case is None:
        raise DebateError(N_("This moderation case does not exist."), "not_found")
    if case.status != CaseStatus.PENDING.value:
        raise DebateError(N_("Another moderator has already decided on this."), "closed")
    return case


async def hide(session: AsyncSession, moderator: Person, case_id: int, reason: str) -> ModerationCase:
    """Hide the item everywhere, behind the public reason, and tell its author."""
    reason = squeeze_spaces(reason)
    if not reason:
        raise DebateError(N_("Give the public reason shown in place of the hidden content."))
    if len(reason) > MAX_REASON_LENGTH:
        raise DebateError(
            N_("The reason is too long: %(length)d characters, at most %(max)d."),
            length=len(reason),
            max=MAX_REASON_LENGTH,
        )
    case = await _pending_case(session, case_id)
    item = await _target(session, case.target_kind, case.target_id)
    now = utcnow()
    if isinstance(item, Comment):
        await debate.hide_comment(session, item, reason)
        link = f"/participation/comments/{item.id}"
        what = N_("Your comment was hidden by moderation: %(reason)s")
    else:
        item.hidden_at = now
        link = f"/participation/proposals/{item.id}"
        what = N_("Your proposal was hidden by moderation: %(reason)s")
        await events.announce(session, ProposalHidden(proposal_id=item.id))
    case.status = CaseStatus.HIDDEN.value
    case.public_reason = reason
    case.decided_by_id = moderator.id
    case.decided_at = now
    await session.flush()
    if item.author_id is not None:
        author = await people.get_person(session, item.author_id)
        if author is not None:
            french, english = notifications.in_both_languages(lambda gettext, _: gettext(what) % {"reason": reason})
            await notifications.notify(session, author.id, french, link=link, title_en=english)
    return case


async def dismiss(session: AsyncSession, moderator: Person, case_id: int) -> ModerationCase:
    """Nothing to hide: the case leaves the queue (new flags bring it back)."""
    case = await _pending_case(session, case_id)
    case.status = CaseStatus.DISMISSED.value
    case.decided_by_id = moderator.id
    case.decided_at = utcnow()
    await session.flush()
    return case


async def hidden_reasons(session: AsyncSession, kind: str, ids: list[int]) -> dict[int, str]:
    """The public reasons of hidden items (proposal pages, the API and the map show these instead)."""
    if not ids:
        return {}
    rows = await session.execute(
        select(ModerationCase.target_id, ModerationCase.public_reason).where(
            ModerationCase.target_kind == kind,
            ModerationCase.target_id.in_(ids),
            ModerationCase.status == CaseStatus.HIDDEN.value,
        )
    )
    return {int(row.target_id): str(row.public_reason) for row in rows}


async def flagged_by(session: AsyncSession, person_id: int, kind: str, ids: list[int]) -> set[int]:
    """Which of these items the person has already flagged (the page then says so)."""
    if not ids:
        return set()
    rows = await session.execute(
        select(Flag.target_id).where(Flag.person_id == person_id, Flag.target_kind == kind, Flag.target_id.in_(ids))
    )
    return {int(row.target_id) for row in rows}


# --- personal data ---------------------------------------------------------------------------


async def _export(session: AsyncSession, person: Person) -> dict[str, list[dict[str, Any]]]:
    flags = (await session.execute(select(Flag).where(Flag.person_id == person.id).order_by(Flag.id))).scalars()
    return {
        "flags": [
            {
                "target": f.target_kind,
                "target_id": f.target_id,
                "reason": f.reason,
                "details": f.details,
                "created_at": f.created_at.isoformat(),
            }
            for f in flags
        ]
    }


async def _erase(session: AsyncSession, person: Person) -> None:
    await session.execute(delete(Flag).where(Flag.person_id == person.id))


def register_personal_data(registry: PersonalDataRegistry) -> None:
    registry.register(
        PersonalDataProvider(
            domain="moderation",
            description=N_("what you flagged for the moderators"),
            export=_export,
            erase=_erase,
        )
    )
