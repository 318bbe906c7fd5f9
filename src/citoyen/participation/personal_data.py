"""What participation keeps about a person (proposals written, supported, followed): their export, and their
erasure, which keeps the proposals unsigned and takes the supports and their counts away."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.i18n import N_
from citoyen.participation.models import Proposal, ProposalFollow, Support, SupportCount
from citoyen.people.registry import PersonalDataProvider, PersonalDataRegistry
from citoyen.people.service import Person


async def _export(session: AsyncSession, person: Person) -> dict[str, list[dict[str, Any]]]:
    proposals = (
        await session.execute(select(Proposal).where(Proposal.author_id == person.id).order_by(Proposal.id))
    ).scalars()
    supports = (
        await session.execute(select(Support).where(Support.person_id == person.id).order_by(Support.id))
    ).scalars()
    follows = (await session.execute(select(ProposalFollow).where(ProposalFollow.person_id == person.id))).scalars()
    return {
        "proposals_written": [
            {
                "proposal_id": p.id,
                "process_id": p.process_id,
                "title": p.title,
                "body": p.body,
                "lon": p.lon,
                "lat": p.lat,
                "address": p.address,
                "created_at": p.created_at.isoformat(),
                "withdrawn_at": p.withdrawn_at.isoformat() if p.withdrawn_at else None,
            }
            for p in proposals
        ],
        "proposals_supported": [{"proposal_id": s.proposal_id, "at": s.created_at.isoformat()} for s in supports],
        "proposals_followed": [{"proposal_id": f.proposal_id, "since": f.created_at.isoformat()} for f in follows],
    }


async def _erase(session: AsyncSession, person: Person) -> None:
    """Proposals stay (the debate needs them) but no longer say who wrote them; supports go, and with them
    the counts they made."""
    supported = select(Support.proposal_id).where(Support.person_id == person.id)
    await session.execute(
        update(SupportCount)
        .where(SupportCount.proposal_id.in_(supported))
        .values(support_count=SupportCount.support_count - 1)
        .execution_options(synchronize_session=False)
    )
    await session.execute(delete(Support).where(Support.person_id == person.id))
    await session.execute(delete(ProposalFollow).where(ProposalFollow.person_id == person.id))
    await session.execute(
        update(Proposal)
        .where(Proposal.author_id == person.id)
        .values(author_id=None)
        .execution_options(synchronize_session=False)
    )


def register_personal_data(registry: PersonalDataRegistry) -> None:
    registry.register(
        PersonalDataProvider(
            domain="participation",
            description=N_(
                "the proposals you wrote (kept, signed “deleted participant” after erasure), supported and followed"
            ),
            export=_export,
            erase=_erase,
        )
    )
