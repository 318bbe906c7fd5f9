"""Conversations: adding one to a process with its seed statements (administrators), finding them, and whether
one takes votes now (not closed, and its phase, if it has one, running)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import detached_copy, utcnow
from citoyen.i18n import N_, squeeze_spaces
from citoyen.opinions.errors import OpinionError
from citoyen.opinions.models import STATEMENT_MAX, Conversation, Statement, StatementStatus
from citoyen.participation import service as participation

QUESTION_MAX = 500


@dataclass
class ConversationInput:
    process_id: int
    question: str
    question_en: str = ""
    phase_id: int | None = None
    participants_write: bool = True
    moderate_before: bool = False
    verified_only: bool = False
    anonymous_allowed: bool = False
    seeds: list[str] = field(default_factory=list)
    simulated: bool = False


def check_statement_text(text: str) -> str:
    """A statement's text, trimmed: 1 to 280 characters, or refused."""
    text = squeeze_spaces(text)
    if not text:
        raise OpinionError(N_("Write a statement of 1 to %(max)d characters."), field="body", max=STATEMENT_MAX)
    if len(text) > STATEMENT_MAX:
        raise OpinionError(
            N_("A statement has at most %(max)d characters (this one has %(length)d)."),
            field="body",
            max=STATEMENT_MAX,
            length=len(text),
        )
    return text


async def create_conversation(session: AsyncSession, data: ConversationInput) -> Conversation:
    """Add a conversation to a process, with its seed statements (published at once, numbered from 0)."""
    process = await participation.get_process(session, data.process_id, include_unpublished=True)
    question = squeeze_spaces(data.question)
    if not question:
        raise OpinionError(N_("A conversation needs a question."), field="question")
    if len(question) > QUESTION_MAX or len(data.question_en.strip()) > QUESTION_MAX:
        raise OpinionError(N_("A question has at most %(max)d characters."), field="question", max=QUESTION_MAX)
    if data.phase_id is not None:
        phases = (await participation.phases_of(session, [process.id]))[process.id]
        if data.phase_id not in {phase.id for phase in phases}:
            raise OpinionError(N_("This phase is not one of the process's."), field="phase_id")
    seeds = [check_statement_text(seed) for seed in data.seeds if seed.strip()]
    conversation = Conversation(
        process_id=process.id,
        phase_id=data.phase_id,
        question=question,
        question_en=squeeze_spaces(data.question_en),
        participants_write=data.participants_write,
        moderate_before=data.moderate_before,
        verified_only=data.verified_only,
        anonymous_allowed=data.anonymous_allowed,
        simulated=data.simulated,
    )
    session.add(conversation)
    await session.flush()
    for tid, body in enumerate(seeds):
        session.add(Statement(conversation_id=conversation.id, tid=tid, body=body, is_seed=True))
    await session.flush()
    return conversation


async def get_conversation(
    session: AsyncSession, conversation_id: int, include_unpublished: bool = False
) -> Conversation:
    """A conversation of a published process (any process for staff), or refused as unknown."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise OpinionError(N_("Unknown conversation."), "not_found")
    await participation.get_process(session, conversation.process_id, include_unpublished=include_unpublished)
    return conversation


async def conversations_of(session: AsyncSession, process_id: int) -> list[Conversation]:
    query = select(Conversation).where(Conversation.process_id == process_id).order_by(Conversation.id)
    return list((await session.execute(query)).scalars())


async def is_open(session: AsyncSession, conversation: Conversation, now: datetime | None = None) -> bool:
    """Takes votes and statements now: not closed, and its phase (if it has one) running."""
    if conversation.closed:
        return False
    if conversation.phase_id is None:
        return True
    now = now or utcnow()
    phases = (await participation.phases_of(session, [conversation.process_id]))[conversation.process_id]
    return any(phase.id == conversation.phase_id and phase.starts_at <= now < phase.ends_at for phase in phases)


@dataclass(frozen=True)
class ConversationFrame:
    """What the voting page and a vote need of a conversation besides the votes: detached copies of the
    conversation and its process (safe to keep between requests) and its phase's window (None: no phase, or a
    phase the process no longer has, which `phased` tells apart)."""

    conversation: Conversation
    process: Any
    phased: bool
    window: tuple[datetime, datetime] | None

    def is_open(self, now: datetime | None = None) -> bool:
        """As `is_open`, from what the frame holds (no query)."""
        if self.conversation.closed:
            return False
        if not self.phased:
            return True
        if self.window is None:
            return False
        now = now or utcnow()
        return self.window[0] <= now < self.window[1]


async def load_frame(session: AsyncSession, conversation_id: int) -> ConversationFrame:
    """A conversation of a published process with its process and phase window, or refused as unknown."""
    conversation = await get_conversation(session, conversation_id)
    process = await participation.get_process(session, conversation.process_id)
    window: tuple[datetime, datetime] | None = None
    if conversation.phase_id is not None:
        phases = (await participation.phases_of(session, [conversation.process_id]))[conversation.process_id]
        window = next(((p.starts_at, p.ends_at) for p in phases if p.id == conversation.phase_id), None)
    return ConversationFrame(
        detached_copy(conversation), detached_copy(process), conversation.phase_id is not None, window
    )


class ConversationFrames:
    """This app process's conversation frames, each trusted for `revalidate_seconds` after it was loaded (the
    settings' `reference_cache_seconds`, as participation's process frames): a vote then reads nothing before
    its one statement. What a vote may not miss is checked again by that statement (the conversation not
    closed, the statement published, the participant's own row); an administrator's change to the process or
    its phases applies within that delay. With 0, every call loads afresh."""

    MAX_ENTRIES = 1_000

    def __init__(self, revalidate_seconds: float = 0.0) -> None:
        self.revalidate_seconds = revalidate_seconds
        self._frames: dict[int, tuple[ConversationFrame, float]] = {}

    async def get(self, session: AsyncSession, conversation_id: int) -> ConversationFrame:
        found = self._frames.get(conversation_id)
        if found is not None and time.monotonic() - found[1] < self.revalidate_seconds:
            return found[0]
        frame = await load_frame(session, conversation_id)
        if self.revalidate_seconds > 0:
            if len(self._frames) >= self.MAX_ENTRIES:
                self._frames.clear()
            self._frames[conversation_id] = (frame, time.monotonic())
        return frame

    def forget(self, conversation_id: int | None = None) -> None:
        """Load again on next use (this process just changed the conversation, or every one)."""
        if conversation_id is None:
            self._frames.clear()
        else:
            self._frames.pop(conversation_id, None)


async def set_closed(session: AsyncSession, conversation: Conversation, closed: bool) -> None:
    conversation.closed = closed
    await session.flush()


async def next_tid(session: AsyncSession, conversation_id: int) -> int:
    """The number the next statement of the conversation gets."""
    found = await session.scalar(select(func.max(Statement.tid)).where(Statement.conversation_id == conversation_id))
    return 0 if found is None else int(found) + 1


async def statements_of(
    session: AsyncSession, conversation_id: int, statuses: tuple[str, ...] = (StatementStatus.ACCEPTED.value,)
) -> list[Statement]:
    query = (
        select(Statement)
        .where(Statement.conversation_id == conversation_id, Statement.status.in_(statuses))
        .order_by(Statement.tid)
    )
    return list((await session.execute(query)).scalars())


async def texts_of(session: AsyncSession, conversation_id: int, tids: set[int]) -> dict[int, str]:
    """The text of these published statements, by number (the map page names a few dozen at most)."""
    if not tids:
        return {}
    rows = await session.execute(
        select(Statement.tid, Statement.body).where(
            Statement.conversation_id == conversation_id,
            Statement.status == StatementStatus.ACCEPTED.value,
            Statement.tid.in_(sorted(tids)),
        )
    )
    return {int(tid): str(body) for tid, body in rows}
