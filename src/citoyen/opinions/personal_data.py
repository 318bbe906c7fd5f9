"""A participant's data: their votes and statements in their export; erasure removes their votes (the map is
recomputed without them), drops their statements still waiting for a moderator and keeps the moderated ones,
signed by no one ("deleted participant")."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.i18n import N_
from citoyen.opinions.maps import mark_stale
from citoyen.opinions.models import MapPoint, OpinionVote, Participant, Statement, StatementStatus
from citoyen.people.registry import PersonalDataProvider, PersonalDataRegistry
from citoyen.people.service import Person


async def _participants(session: AsyncSession, person: Person) -> list[Participant]:
    query = select(Participant).where(Participant.person_id == person.id).order_by(Participant.id)
    return list((await session.execute(query)).scalars())


async def _export(session: AsyncSession, person: Person) -> dict[str, list[dict[str, Any]]]:
    participants = await _participants(session, person)
    ids = [participant.id for participant in participants]
    by_id = {participant.id: participant for participant in participants}
    votes = []
    statements = []
    if ids:
        rows = await session.execute(
            select(
                OpinionVote.participant_id, OpinionVote.value, OpinionVote.modified_at, Statement.tid, Statement.body
            )
            .join(Statement, Statement.id == OpinionVote.statement_id)
            .where(OpinionVote.participant_id.in_(ids))
            .order_by(OpinionVote.participant_id, Statement.tid)
        )
        votes = [
            {
                "conversation_id": by_id[row.participant_id].conversation_id,
                "participant_number": by_id[row.participant_id].pid,
                "statement_number": row.tid,
                "statement": row.body,
                "vote": row.value,
                "modified_at": row.modified_at.isoformat(),
            }
            for row in rows
        ]
        written = await session.execute(select(Statement).where(Statement.author_id.in_(ids)).order_by(Statement.id))
        statements = [
            {
                "conversation_id": statement.conversation_id,
                "statement_number": statement.tid,
                "text": statement.body,
                "status": statement.status,
                "created_at": statement.created_at.isoformat(),
            }
            for statement in written.scalars()
        ]
    return {"opinion_votes": votes, "opinion_statements": statements}


async def _erase(session: AsyncSession, person: Person) -> None:
    participants = await _participants(session, person)
    ids = [participant.id for participant in participants]
    if not ids:
        return
    await session.execute(
        delete(Statement).where(Statement.author_id.in_(ids), Statement.status == StatementStatus.PENDING.value)
    )
    await session.execute(update(Statement).where(Statement.author_id.in_(ids)).values(author_id=None))
    await session.execute(delete(OpinionVote).where(OpinionVote.participant_id.in_(ids)))
    await session.execute(delete(Participant).where(Participant.id.in_(ids)))
    for participant in participants:  # their point leaves the map at once; the groups at the next recomputation
        await session.execute(
            delete(MapPoint).where(
                MapPoint.conversation_id == participant.conversation_id, MapPoint.pid == participant.pid
            )
        )
    for conversation_id in {participant.conversation_id for participant in participants}:
        await mark_stale(session, conversation_id)


def register_personal_data(registry: PersonalDataRegistry) -> None:
    registry.register(
        PersonalDataProvider(
            domain="opinions",
            description=N_("your votes and statements in the opinion maps' conversations"),
            export=_export,
            erase=_erase,
        )
    )
