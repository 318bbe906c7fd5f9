"""Debate rules: who may comment where and when, threads of limited depth, votes on comments, the
comment count kept on proposals, and the pages' reading of a debate (oldest, newest, best first)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen import events
from citoyen.config import Settings
from citoyen.db import one_of, utcnow
from citoyen.errors import Refusal
from citoyen.events import CommentPosted
from citoyen.i18n import N_
from citoyen.participation import phases
from citoyen.participation.debate.models import Alignment, Comment, CommentVote, DebateSettings
from citoyen.participation.models import Phase, Process, Proposal
from citoyen.participation.repository import phases_of
from citoyen.people import service as people
from citoyen.people.registry import PersonalDataProvider, PersonalDataRegistry
from citoyen.people.service import Person

# Three levels: comments, replies, replies to replies; a reply deeper than that joins the deepest level.
MAX_DEPTH = 2
MAX_BODY_LENGTH = 4000
THREADS_PER_PAGE = 50
# Replies shown under the threads of one page; a thread with more links to its own page.
MAX_REPLIES_PER_PAGE = 500
SORTS = {"oldest": N_("Oldest first"), "newest": N_("Newest first"), "best": N_("Best rated first")}
ALIGNMENT_LABELS = {
    Alignment.FOR.value: N_("For"),
    Alignment.AGAINST.value: N_("Against"),
    Alignment.NEUTRAL.value: N_("Neutral"),
}
DELETED_PARTICIPANT = N_("deleted participant")


class DebateError(Refusal):
    """A refused request (`citoyen.errors.Refusal`); kinds: invalid, not_found, forbidden, closed."""


@dataclass(frozen=True)
class Target:
    """What a debate is about: a proposal (with its process) or a process itself."""

    process: Process
    proposal: Proposal | None = None

    @property
    def link(self) -> str:
        if self.proposal is not None:
            return f"/participation/proposals/{self.proposal.id}"
        return f"/participation/processes/{self.process.slug}"

    @property
    def comments_url(self) -> str:
        kind = "proposals" if self.proposal is not None else "processes"
        return f"/participation/{kind}/{self.id}/comments"

    @property
    def kind(self) -> str:
        return "proposal" if self.proposal is not None else "process"

    @property
    def id(self) -> int:
        return self.proposal.id if self.proposal is not None else self.process.id


# --- finding what is discussed -----------------------------------------------------------------


async def proposal_target(session: AsyncSession, proposal_id: int) -> Target:
    proposal = await session.get(Proposal, proposal_id)
    if proposal is None:
        raise DebateError(N_("This proposal does not exist."), "not_found")
    process = await session.get(Process, proposal.process_id)
    if process is None:
        raise DebateError(N_("This proposal does not exist."), "not_found")
    return Target(process, proposal)


async def process_target(session: AsyncSession, process_id: int) -> Target:
    process = await session.get(Process, process_id)
    if process is None or not process.published:
        raise DebateError(N_("This process does not exist."), "not_found")
    return Target(process)


async def target_of(session: AsyncSession, comment: Comment) -> Target:
    if comment.proposal_id is not None:
        return await proposal_target(session, comment.proposal_id)
    return await process_target(session, comment.process_id)


async def get_comment(session: AsyncSession, comment_id: int) -> Comment:
    comment = await session.get(Comment, comment_id)
    if comment is None:
        raise DebateError(N_("This comment does not exist."), "not_found")
    return comment


async def commenting_phase(session: AsyncSession, process_id: int, now: datetime | None = None) -> Phase | None:
    """The running phase of the process that allows comments, if any, read afresh (a comment is being
    posted), by the same rule as the pages' frames."""
    return phases.commenting_phase((await phases_of(session, [process_id]))[process_id], now)


async def alignment_enabled(session: AsyncSession, process_id: int) -> bool:
    found = await session.get(DebateSettings, process_id)
    return found is not None and found.alignment_enabled


async def set_alignment(session: AsyncSession, process_id: int, enabled: bool) -> None:
    """Ask commenters of a process whether they are for, against or neutral (or stop asking)."""
    found = await session.get(DebateSettings, process_id)
    if found is None:
        session.add(DebateSettings(process_id=process_id, alignment_enabled=enabled))
    else:
        found.alignment_enabled = enabled
    await session.flush()


def why_closed(target: Target, phase: Phase | None) -> str | None:
    """Why nobody may comment on the target now (a msgid), or None when they may."""
    if target.proposal is not None and target.proposal.hidden_at is not None:
        return N_("This proposal was hidden by moderation: it cannot be commented on.")
    if target.proposal is not None and target.proposal.withdrawn_at is not None:
        return N_("This proposal was withdrawn: it cannot be commented on.")
    if not target.process.published:
        return N_("This process is not open.")
    if phase is None:
        return N_("Comments are closed: the current phase of this process does not take comments.")
    return None


# --- writing ---------------------------------------------------------------------------------


def clean_body(text: str) -> str:
    body = text.strip().replace("\r\n", "\n")
    if not body:
        raise DebateError(N_("Write your comment before sending it."))
    if len(body) > MAX_BODY_LENGTH:
        raise DebateError(
            N_("Your comment is too long: %(length)d characters, at most %(max)d."),
            length=len(body),
            max=MAX_BODY_LENGTH,
        )
    return body


def parse_alignment(value: str) -> int | None:
    names = {"for": Alignment.FOR, "against": Alignment.AGAINST, "neutral": Alignment.NEUTRAL}
    if not value:
        return None
    if value not in names:
        raise DebateError(N_("Choose for, against or neutral."))
    return names[value].value


async def add_comment(
    session: AsyncSession,
    settings: Settings,
    author: Person,
    target: Target,
    body: str,
    parent_id: int | None = None,
    alignment: str = "",
    locale: str = "fr",
) -> Comment:
    """Post a comment or a reply; keeps the proposal's comment count and the thread's reply count, and
    tells the parent's author and the proposal's followers. `locale`: the language it is written in (the
    author's interface language), "fr" or "en"."""
    text = clean_body(body)
    stance = parse_alignment(alignment) if await alignment_enabled(session, target.process.id) else None
    closed = why_closed(target, await commenting_phase(session, target.process.id))
    if closed:
        raise DebateError(closed, "closed")
    parent: Comment | None = None
    if parent_id is not None:
        parent = await session.get(Comment, parent_id)
        if (
            parent is None
            or parent.process_id != target.process.id
            or parent.proposal_id != (target.proposal.id if target.proposal else None)
        ):
            raise DebateError(N_("The comment you reply to does not exist."), "not_found")
        if parent.is_hidden:
            raise DebateError(N_("This comment was hidden by moderation: it cannot be replied to."), "closed")
        if parent.depth >= MAX_DEPTH and parent.parent_id is not None:
            # Deeper replies join the deepest level, answering the same comment as the one replied to.
            parent = await session.get(Comment, parent.parent_id) or parent
    comment = Comment(
        process_id=target.process.id,
        proposal_id=target.proposal.id if target.proposal else None,
        parent_id=parent.id if parent else None,
        thread_id=(parent.thread_id or parent.id) if parent else None,
        depth=parent.depth + 1 if parent else 0,
        author_id=author.id,
        body=text,
        alignment=stance,
        locale=locale if locale in ("fr", "en") else "fr",
    )
    session.add(comment)
    await session.flush()
    if comment.thread_id is not None:
        await session.execute(
            update(Comment).where(Comment.id == comment.thread_id).values(reply_count=Comment.reply_count + 1)
        )
    if target.proposal is not None:
        await session.execute(
            update(Proposal)
            .where(Proposal.id == target.proposal.id)
            .values(comment_count=Proposal.comment_count + 1)
            .execution_options(synchronize_session=False)
        )
        await session.refresh(target.proposal, ["comment_count"])
    # Following tells the parent's author and the followers (in this transaction).
    event = CommentPosted(comment_id=comment.id, process_id=comment.process_id, proposal_id=comment.proposal_id)
    await events.announce(session, event)
    return comment


VOTE_VALUES = {"up": 1, "down": -1, "none": 0}


async def vote(session: AsyncSession, person: Person, comment: Comment, value: str) -> int:
    """Vote up or down (again to change, "none" to withdraw); returns the person's vote now."""
    if value not in VOTE_VALUES:
        raise DebateError(N_("Vote up or down."))
    if comment.is_hidden:
        raise DebateError(N_("This comment was hidden by moderation: it cannot be voted on."), "closed")
    if comment.author_id == person.id:
        raise DebateError(N_("You cannot vote on your own comment."), "forbidden")
    new = VOTE_VALUES[value]
    existing = (
        await session.execute(
            select(CommentVote).where(CommentVote.comment_id == comment.id, CommentVote.person_id == person.id)
        )
    ).scalar_one_or_none()
    old = existing.value if existing else 0
    if old == new:
        return new
    if existing is not None and new == 0:
        await session.delete(existing)
    elif existing is not None:
        existing.value = new
    else:
        session.add(CommentVote(comment_id=comment.id, person_id=person.id, value=new))
    up = (new == 1) - (old == 1)
    down = (new == -1) - (old == -1)
    await session.execute(
        update(Comment)
        .where(Comment.id == comment.id)
        .values(
            up_votes=Comment.up_votes + up,
            down_votes=Comment.down_votes + down,
            score=Comment.score + up - down,
        )
        .execution_options(synchronize_session=False)
    )
    await session.flush()
    await session.refresh(comment, ["up_votes", "down_votes", "score"])
    return new


async def hide_comment(session: AsyncSession, comment: Comment, reason: str) -> None:
    """Moderation hides a comment: its text is never shown again, only the public reason."""
    comment.hidden_at = utcnow()
    comment.hidden_reason = reason[:300]
    await session.flush()


# --- reading ---------------------------------------------------------------------------------


@dataclass
class DebatePage:
    """One page of a debate: top-level comments, the replies under them, what the viewer voted."""

    threads: list[Comment]
    replies: dict[int, list[Comment]]
    total_threads: int
    page: int
    sort: str
    author_names: dict[int, str] = field(default_factory=dict)
    my_votes: dict[int, int] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total_threads // THREADS_PER_PAGE))

    def children(self, comment: Comment) -> list[Comment]:
        """Direct replies of a comment, oldest first (replies are always read in order)."""
        thread = comment.thread_id or comment.id
        return [reply for reply in self.replies.get(thread, []) if reply.parent_id == comment.id]


def _roots(target: Target) -> Any:
    if target.proposal is not None:
        return (Comment.proposal_id == target.proposal.id, Comment.depth == 0)
    return (Comment.process_id == target.process.id, Comment.proposal_id.is_(None), Comment.depth == 0)


async def debate_page(
    session: AsyncSession, target: Target, sort: str = "oldest", page: int = 1, viewer_id: int | None = None
) -> DebatePage:
    """A page of threads in the chosen order, with their replies (three indexed queries)."""
    sort = sort if sort in SORTS else "oldest"
    page = max(1, page)
    order = {
        "oldest": (Comment.created_at, Comment.id),
        "newest": (Comment.created_at.desc(), Comment.id.desc()),
        "best": (Comment.score.desc(), Comment.id.desc()),
    }[sort]
    conditions = _roots(target)
    threads = list(
        (
            await session.execute(
                select(Comment)
                .where(*conditions)
                .order_by(*order)
                .limit(THREADS_PER_PAGE)
                .offset((page - 1) * THREADS_PER_PAGE)
            )
        ).scalars()
    )
    if page == 1 and len(threads) < THREADS_PER_PAGE:
        total = len(threads)  # the whole debate is on this page: no need to count
    else:
        total = int((await session.execute(select(func.count()).where(*conditions))).scalar_one())
    replies: dict[int, list[Comment]] = defaultdict(list)
    thread_ids = [thread.id for thread in threads if thread.reply_count]
    if thread_ids:
        found = (
            await session.execute(
                select(Comment)
                .where(one_of(session, Comment.thread_id, thread_ids))
                .order_by(Comment.created_at, Comment.id)
                .limit(MAX_REPLIES_PER_PAGE)
            )
        ).scalars()
        for reply in found:
            replies[reply.thread_id or 0].append(reply)
    everyone = threads + [reply for thread in replies.values() for reply in thread]
    result = DebatePage(threads, dict(replies), total, page, sort)
    result.author_names = await people.display_names(session, [comment.author_id for comment in everyone])
    if viewer_id is not None and everyone:
        votes = await session.execute(
            select(CommentVote.comment_id, CommentVote.value).where(
                CommentVote.person_id == viewer_id, one_of(session, CommentVote.comment_id, [c.id for c in everyone])
            )
        )
        result.my_votes = {int(row.comment_id): int(row.value) for row in votes}
    return result


async def page_of(session: AsyncSession, comment: Comment, sort: str = "oldest") -> int:
    """The page of the debate, in the given order, where a comment's thread is."""
    root = await session.get(Comment, comment.thread_id) if comment.thread_id else comment
    if root is None:
        return 1
    conditions = (
        (Comment.proposal_id == root.proposal_id, Comment.depth == 0)
        if root.proposal_id is not None
        else (Comment.process_id == root.process_id, Comment.proposal_id.is_(None), Comment.depth == 0)
    )
    before = {
        "oldest": or_(
            Comment.created_at < root.created_at, and_(Comment.created_at == root.created_at, Comment.id < root.id)
        ),
        "newest": or_(
            Comment.created_at > root.created_at, and_(Comment.created_at == root.created_at, Comment.id > root.id)
        ),
        "best": or_(Comment.score > root.score, and_(Comment.score == root.score, Comment.id > root.id)),
    }[sort if sort in SORTS else "oldest"]
    ahead = int((await session.execute(select(func.count()).where(*conditions, before))).scalar_one())
    return ahead // THREADS_PER_PAGE + 1


async def comments_by_ids(session: AsyncSession, ids: list[int]) -> dict[int, Comment]:
    if not ids:
        return {}
    found = (await session.execute(select(Comment).where(Comment.id.in_(ids)))).scalars()
    return {comment.id: comment for comment in found}


# --- personal data ---------------------------------------------------------------------------


async def _export(session: AsyncSession, person: Person) -> dict[str, list[dict[str, Any]]]:
    comments = (
        await session.execute(select(Comment).where(Comment.author_id == person.id).order_by(Comment.id))
    ).scalars()
    votes = (
        await session.execute(select(CommentVote).where(CommentVote.person_id == person.id).order_by(CommentVote.id))
    ).scalars()
    return {
        "comments": [
            {
                "id": c.id,
                "process_id": c.process_id,
                "proposal_id": c.proposal_id,
                "in_reply_to": c.parent_id,
                "body": c.body,
                "alignment": c.alignment,
                "created_at": c.created_at.isoformat(),
                "hidden_reason": c.hidden_reason or None,
            }
            for c in comments
        ],
        "comment_votes": [
            {"comment_id": v.comment_id, "value": v.value, "created_at": v.created_at.isoformat()} for v in votes
        ],
    }


async def _erase(session: AsyncSession, person: Person) -> None:
    """Comments stay, signed "deleted participant"; votes go, and the scores they made with them."""
    votes = list((await session.execute(select(CommentVote).where(CommentVote.person_id == person.id))).scalars())
    for cast in votes:
        up, down = int(cast.value == 1), int(cast.value == -1)
        await session.execute(
            update(Comment)
            .where(Comment.id == cast.comment_id)
            .values(
                up_votes=Comment.up_votes - up,
                down_votes=Comment.down_votes - down,
                score=Comment.score - up + down,
            )
            .execution_options(synchronize_session=False)
        )
    await session.execute(delete(CommentVote).where(CommentVote.person_id == person.id))
    await session.execute(
        update(Comment)
        .where(Comment.author_id == person.id)
        .values(author_id=None)
        .execution_options(synchronize_session=False)
    )


def register_personal_data(registry: PersonalDataRegistry) -> None:
    registry.register(
        PersonalDataProvider(
            domain="debate",
            description=N_("your comments (erasure keeps their text, signed by no one) and your votes on comments"),
            export=_export,
            erase=_erase,
        )
    )
