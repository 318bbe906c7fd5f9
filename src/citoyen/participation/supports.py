"""Supports: one per person, only while the running phase takes them, with the person's signed claim checked
in the same statement on PostgreSQL. The statements themselves are in `repository`; this module names the
refusal when they wrote nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import one_of, utcnow
from citoyen.i18n import N_
from citoyen.participation.errors import ParticipationError
from citoyen.participation.models import Support
from citoyen.participation.processes import ProcessFrames
from citoyen.participation.repository import SUPPORT_TARGET, SUPPORTING, WITHDRAWING, SupportTarget, write_then_count
from citoyen.people.service import Claim, claim_holds_now


async def get_support_target(session: AsyncSession, proposal_id: int) -> SupportTarget:
    """A proposal as the support box shows it, hidden or not."""
    row = (await session.execute(SUPPORT_TARGET, {"proposal": proposal_id})).one_or_none()
    if row is None:
        raise ParticipationError(N_("Unknown proposal."), kind="not_found")
    return SupportTarget(*row)


SIGNED_OUT = N_("Log in to support this proposal")


async def _refusal(
    session: AsyncSession, proposal_id: int, claim: Claim, now: datetime | None, frames: ProcessFrames | None
) -> ParticipationError | None:
    """Why a proposal takes no support (or withdrawal) now from this person, if it does not: the support
    statements check the same rules in the database, and this names the one that refused."""
    if not await claim_holds_now(session, claim):
        return ParticipationError(SIGNED_OUT, kind="signed_out")
    proposal = await get_support_target(session, proposal_id)
    if proposal.withdrawn_at is not None or proposal.hidden_at is not None:
        return ParticipationError(N_("This proposal can no longer be supported."), kind="conflict")
    if proposal.process_id not in await _taking_supports(session, now, frames):
        return ParticipationError(N_("Supports are not open in this process at the moment."), kind="forbidden")
    return None


async def _taking_supports(session: AsyncSession, now: datetime | None, frames: ProcessFrames | None) -> list[int]:
    return await (frames or ProcessFrames()).taking_supports(session, now)


async def support(
    session: AsyncSession,
    proposal_id: int,
    claim: Claim,
    now: datetime | None = None,
    frames: ProcessFrames | None = None,
) -> SupportTarget:
    """Record the support of the person a signed session claims to be, if the claim still holds (else
    kind "signed_out"), and return the proposal with its new count; a second support is refused (by the
    unique constraint) and reaching the process's threshold marks the proposal for an official answer.
    Pages pass their cached frames: this runs on every support."""
    values = {"proposal": proposal_id, "at": now or utcnow(), "open": await _taking_supports(session, now, frames)}
    row = await write_then_count(session, SUPPORTING, claim, values)
    if row is None:
        raise await _refusal(session, proposal_id, claim, now, frames) or ParticipationError(
            N_("You already support this proposal."), kind="conflict"
        )
    return SupportTarget(*row)


async def withdraw_support(
    session: AsyncSession,
    proposal_id: int,
    claim: Claim,
    now: datetime | None = None,
    frames: ProcessFrames | None = None,
) -> SupportTarget:
    """Take a support back, while the phase still allows supports, as `support` checks who is asking;
    returns the proposal with its new count."""
    values = {"proposal": proposal_id, "open": await _taking_supports(session, now, frames)}
    row = await write_then_count(session, WITHDRAWING, claim, values)
    if row is None:
        raise await _refusal(session, proposal_id, claim, now, frames) or ParticipationError(
            N_("You do not support this proposal."), kind="conflict"
        )
    return SupportTarget(*row)


async def supported_ids(session: AsyncSession, person_id: int | None, proposal_ids: Sequence[int]) -> set[int]:
    """Which of these proposals the person supports (for the buttons on lists and pages)."""
    if person_id is None or not proposal_ids:
        return set()
    query = select(Support.proposal_id).where(
        Support.person_id == person_id, one_of(session, Support.proposal_id, proposal_ids)
    )
    return set((await session.execute(query)).scalars())
