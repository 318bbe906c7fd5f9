"""The Pol.is export as open data: which conversations are published in the catalogue (those of published
processes with at least MIN_PARTICIPANTS participants), and their three tables in Pol.is's format, with only the
published statements, pseudonymous participant numbers and times to the day (`polis.polis_tables(public=True)`).
Open data (`opendata.opinion_feeds`) reads them through this domain's service."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.errors import Refusal
from citoyen.opinions.conversations import is_open
from citoyen.opinions.models import Conversation, OpinionVote, Statement, StatementStatus
from citoyen.opinions.polis import PolisTables, polis_tables
from citoyen.participation import service as participation

# Below this many participants a conversation is not published: in a small group (a workshop of five) a
# participant's votes could be told from what the others know of them, pseudonymous number or not.
MIN_PARTICIPANTS = 10


@dataclass(frozen=True)
class PublicConversation:
    id: int
    question: str
    question_en: str
    process_slug: str
    process_title: str
    process_title_en: str
    open: bool
    simulated: bool
    participants: int
    comment_ids: list[int]


async def public_conversations(session: AsyncSession) -> list[PublicConversation]:
    """The conversations whose Pol.is export is open data: their process is published and at least
    MIN_PARTICIPANTS participants voted on their published statements."""
    voters = (
        select(func.count(func.distinct(OpinionVote.participant_id)))
        .join(Statement, Statement.id == OpinionVote.statement_id)
        .where(OpinionVote.conversation_id == Conversation.id, Statement.status == StatementStatus.ACCEPTED.value)
        .scalar_subquery()
    )
    rows = (await session.execute(select(Conversation, voters).order_by(Conversation.id))).all()
    found = []
    for conversation, count in rows:
        if int(count or 0) < MIN_PARTICIPANTS:
            continue
        try:
            process = await participation.get_process(session, conversation.process_id)
        except Refusal:  # an unpublished process: nothing of it is public
            continue
        tids = await session.scalars(
            select(Statement.tid)
            .where(Statement.conversation_id == conversation.id, Statement.status == StatementStatus.ACCEPTED.value)
            .order_by(Statement.tid)
        )
        found.append(
            PublicConversation(
                id=conversation.id,
                question=conversation.question,
                question_en=conversation.question_en or conversation.question,
                process_slug=process.slug,
                process_title=process.title,
                process_title_en=process.title_en or process.title,
                open=await is_open(session, conversation),
                simulated=conversation.simulated,
                participants=int(count),
                comment_ids=[int(tid) for tid in tids],
            )
        )
    return found


async def public_tables(session: AsyncSession, conversation_id: int) -> PolisTables:
    """The conversation's Pol.is export as published in the catalogue."""
    return await polis_tables(session, conversation_id, public=True)
