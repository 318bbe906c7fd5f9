"""The stored map: recomputing it from the conversation's votes (off the event loop, so voting never waits for
it), reading it for the page, and which conversations' maps are behind their votes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.opinions.groups import MapResult, compute_map
from citoyen.opinions.models import Conversation, OpinionMap, OpinionVote, Participant, Statement, StatementStatus


@dataclass(frozen=True)
class Recomputed:
    conversation_id: int
    vote_count: int
    participant_count: int
    group_count: int


async def last_vote_at(session: AsyncSession, conversation_id: int) -> datetime | None:
    """The latest vote change of the conversation (read from its index)."""
    return await session.scalar(
        select(func.max(OpinionVote.modified_at)).where(OpinionVote.conversation_id == conversation_id)
    )


async def stored_map(session: AsyncSession, conversation_id: int) -> OpinionMap | None:
    return await session.get(OpinionMap, conversation_id)


async def mark_stale(session: AsyncSession, conversation_id: int) -> None:
    """The votes' meaning changed without a newer vote (a statement moderated out, a participant erased): the
    next round recomputes the map."""
    await session.execute(
        update(OpinionMap).where(OpinionMap.conversation_id == conversation_id).values(last_vote_at=None)
    )


async def is_stale(session: AsyncSession, conversation_id: int) -> bool:
    latest = await last_vote_at(session, conversation_id)
    found = await stored_map(session, conversation_id)
    if found is None:
        return latest is not None
    return found.last_vote_at is None or (latest is not None and latest > found.last_vote_at)


@dataclass(frozen=True)
class MapInput:
    """What a recomputation reads: the votes as (pid, tid, value), the moderated-out statements, the number of
    published ones, the previous groups (their centres start k-means) and the latest vote change seen."""

    votes: list[tuple[int, int, int]]
    moderated_out: list[int]
    published: int
    previous_groups: list[dict[str, Any]]
    latest: datetime | None


async def read_input(session: AsyncSession, conversation_id: int) -> MapInput:
    latest = await last_vote_at(session, conversation_id)
    rows = await session.execute(
        select(Participant.pid, Statement.tid, OpinionVote.value)
        .join(Participant, Participant.id == OpinionVote.participant_id)
        .join(Statement, Statement.id == OpinionVote.statement_id)
        .where(OpinionVote.conversation_id == conversation_id, Statement.status != StatementStatus.PENDING.value)
    )
    votes = [(int(pid), int(tid), int(value)) for pid, tid, value in rows]
    statuses = (
        await session.execute(
            select(Statement.tid, Statement.status).where(
                Statement.conversation_id == conversation_id, Statement.status != StatementStatus.PENDING.value
            )
        )
    ).all()
    moderated_out = [int(tid) for tid, status in statuses if status == StatementStatus.REJECTED.value]
    published = sum(1 for _, status in statuses if status == StatementStatus.ACCEPTED.value)
    previous = await stored_map(session, conversation_id)
    previous_groups = list(previous.groups) if previous is not None else []
    return MapInput(votes, moderated_out, published, previous_groups, latest)


def compute(data: MapInput) -> MapResult:
    """The computation alone (CPU-bound: run it in a worker thread, outside any transaction)."""
    return compute_map(data.votes, data.moderated_out, data.published, data.previous_groups)


async def store(session: AsyncSession, conversation_id: int, data: MapInput, result: MapResult) -> Recomputed:
    """Store a computed map in place of the previous one."""
    participant_count = len({pid for pid, _, _ in data.votes})
    values = {
        "computed_at": utcnow(),
        "vote_count": len(data.votes),
        "last_vote_at": data.latest,
        "participant_count": participant_count,
        "points": result.points,
        "groups": result.groups,
        "consensus": result.consensus,
        "divisive": result.divisive,
    }
    previous = await stored_map(session, conversation_id)
    if previous is None:
        session.add(OpinionMap(conversation_id=conversation_id, **values))
    else:
        for name, value in values.items():
            setattr(previous, name, value)
    await session.flush()
    return Recomputed(conversation_id, len(data.votes), participant_count, len(result.groups))


async def recompute(session: AsyncSession, conversation_id: int) -> Recomputed:
    """Read the votes, compute the map in a worker thread, store it, in the caller's transaction (the CLI's, the
    tests'). The background task reads and stores in two short transactions instead (tasks.py)."""
    data = await read_input(session, conversation_id)
    return await store(session, conversation_id, data, await asyncio.to_thread(compute, data))


async def stale_conversations(session: AsyncSession) -> list[int]:
    """Conversations whose votes changed since their map was computed."""
    ids = (await session.execute(select(Conversation.id).order_by(Conversation.id))).scalars().all()
    return [conversation_id for conversation_id in ids if await is_stale(session, conversation_id)]
