"""The stored map: recomputing it from the conversation's votes (read in one statement, computed off the event
loop: in the app's worker process, so voting never waits for it), reading it for the page (one row, and one
participant's point by its key), and which conversations' maps are behind their votes."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import String, cast, delete, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.opinions.groups import MapResult, VoteColumns, compute_map
from citoyen.opinions.models import (
    Conversation,
    MapPoint,
    OpinionMap,
    OpinionVote,
    Participant,
    Statement,
    StatementStatus,
)
from citoyen.opinions.picture import draw

POINTS_PER_INSERT = 5000


@dataclass(frozen=True)
class Recomputed:
    conversation_id: int
    vote_count: int
    participant_count: int
    group_count: int
    cpu_seconds: float = 0.0


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
    """What a recomputation reads: the votes as one text, "pid,tid,value,pid,tid,value,..." (the database joins
    them: the web process makes no Python object per vote, the worker parses them with numpy), the moderated-out
    statements, the number of published ones, the previous groups (their centres start k-means) and the latest
    vote change seen."""

    votes: str
    moderated_out: list[int]
    published: int
    previous_groups: list[dict[str, Any]]
    latest: datetime | None


@dataclass(frozen=True)
class Computed:
    """A computed map, ready to store: the result, its picture and what it counted."""

    result: MapResult
    picture: dict[str, Any]
    vote_count: int
    participant_count: int
    cpu_seconds: float = 0.0  # the computation's processor time (its process's), whatever the machine's load


def _joined_votes(session: AsyncSession) -> Any:
    """The aggregate joining every vote into one text (string_agg on PostgreSQL, group_concat on SQLite)."""
    one = (
        cast(Participant.pid, String)
        + literal(",")
        + cast(Statement.tid, String)
        + literal(",")
        + cast(OpinionVote.value, String)
    )
    bind = session.bind
    if bind is not None and bind.dialect.name == "postgresql":
        return func.string_agg(one, literal(","))
    return func.group_concat(one, literal(","))


async def read_input(session: AsyncSession, conversation_id: int) -> MapInput:
    latest = await last_vote_at(session, conversation_id)
    joined = await session.scalar(
        select(_joined_votes(session))
        .select_from(OpinionVote)
        .join(Participant, Participant.id == OpinionVote.participant_id)
        .join(Statement, Statement.id == OpinionVote.statement_id)
        .where(OpinionVote.conversation_id == conversation_id, Statement.status != StatementStatus.PENDING.value)
    )
    statuses = (
        await session.execute(
            select(Statement.tid, Statement.status).where(
                Statement.conversation_id == conversation_id, Statement.status != StatementStatus.PENDING.value
            )
        )
    ).all()
    moderated_out = [int(tid) for tid, status in statuses if status == StatementStatus.REJECTED.value]
    published = sum(1 for _, status in statuses if status == StatementStatus.ACCEPTED.value)
    previous = await session.scalar(select(OpinionMap.groups).where(OpinionMap.conversation_id == conversation_id))
    return MapInput(joined or "", moderated_out, published, list(previous or []), latest)


def parse_votes(joined: str) -> VoteColumns:
    if not joined:
        empty = np.zeros(0, dtype=np.int64)
        return VoteColumns(empty, empty, empty)
    table = np.fromstring(joined, dtype=np.int64, sep=",").reshape(-1, 3)
    return VoteColumns(table[:, 0], table[:, 1], table[:, 2])


def compute(data: MapInput) -> Computed:
    """The computation alone (CPU-bound: run in the worker process, or a thread, outside any transaction)."""
    began = time.process_time()
    votes = parse_votes(data.votes)
    result = compute_map(votes, data.moderated_out, data.published, data.previous_groups)
    participants = len(np.unique(votes.pids))
    picture = draw(result.points)
    return Computed(result, picture, len(votes), participants, time.process_time() - began)


async def store(session: AsyncSession, conversation_id: int, data: MapInput, computed: Computed) -> Recomputed:
    """Store a computed map in place of the previous one: its row, and every participant's point."""
    result = computed.result
    values = {
        "computed_at": utcnow(),
        "vote_count": computed.vote_count,
        "last_vote_at": data.latest,
        "participant_count": computed.participant_count,
        "groups": result.groups,
        "consensus": result.consensus,
        "divisive": result.divisive,
        "picture": computed.picture,
    }
    previous = await stored_map(session, conversation_id)
    if previous is None:
        session.add(OpinionMap(conversation_id=conversation_id, **values))
    else:
        for name, value in values.items():
            setattr(previous, name, value)
    await session.execute(delete(MapPoint).where(MapPoint.conversation_id == conversation_id))
    rows = [
        {"conversation_id": conversation_id, "pid": pid, "x": x, "y": y, "group_id": group}
        for pid, x, y, group in result.points
    ]
    for begin in range(0, len(rows), POINTS_PER_INSERT):
        await session.execute(insert(MapPoint), rows[begin : begin + POINTS_PER_INSERT])
    await session.flush()
    return Recomputed(
        conversation_id, computed.vote_count, computed.participant_count, len(result.groups), computed.cpu_seconds
    )


async def point_of(session: AsyncSession, conversation_id: int, pid: int) -> MapPoint | None:
    """Where the last recomputation placed this participant (None: not on the map yet)."""
    return await session.get(MapPoint, (conversation_id, pid))


async def groups_by_pid(session: AsyncSession, conversation_id: int) -> dict[int, int]:
    """Every participant's group in the last recomputation (-1: in none), for the export."""
    rows = await session.execute(
        select(MapPoint.pid, MapPoint.group_id).where(MapPoint.conversation_id == conversation_id)
    )
    return {int(pid): int(group) for pid, group in rows}


async def recompute(session: AsyncSession, conversation_id: int) -> Recomputed:
    """Read the votes, compute the map in a worker thread, store it, in the caller's transaction (the CLI's, the
    tests'). The background task computes in its worker process and stores in a transaction of its own
    (tasks.py)."""
    data = await read_input(session, conversation_id)
    return await store(session, conversation_id, data, await asyncio.to_thread(compute, data))


async def stale_conversations(session: AsyncSession) -> list[int]:
    """Conversations whose votes changed since their map was computed."""
    ids = (await session.execute(select(Conversation.id).order_by(Conversation.id))).scalars().all()
    return [conversation_id for conversation_id in ids if await is_stale(session, conversation_id)]
