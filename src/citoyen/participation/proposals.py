"""Proposals: submitting one while a phase takes them (its place checked against the process's scope),
changing it within the editing window, withdrawing it, and its image."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from citoyen import events
from citoyen.db import utcnow
from citoyen.events import ProposalPublished
from citoyen.i18n import N_, squeeze_spaces
from citoyen.images import PreparedPhoto
from citoyen.participation.errors import ParticipationError
from citoyen.participation.models import (
    ParticipationImage,
    Process,
    ProcessCategory,
    Proposal,
    ProposalFollow,
    ProposalStatus,
    SupportCount,
)
from citoyen.participation.processes import abilities
from citoyen.participation.repository import scope_of
from citoyen.people.service import Person
from citoyen.territory import service as territory
from citoyen.textsearch import indexed_text

TITLE_MIN, TITLE_MAX = 5, 150
BODY_MIN, BODY_MAX = 15, 10_000


@dataclass
class ProposalInput:
    title: str
    body: str
    category_id: int | None = None
    lon: float | None = None
    lat: float | None = None
    address: str = ""
    locale: str = "fr"


async def _place(
    session: AsyncSession, cache: territory.TerritoryIndexCache, process: Process, data: ProposalInput
) -> tuple[int | None, dict[int, str] | None]:
    """The neighbourhood and H3 cells of the proposal's place, checked against the process's scope."""
    if (data.lon is None) != (data.lat is None):
        raise ParticipationError(N_("Give both the longitude and the latitude of the place."), field="place")
    if data.lon is None or data.lat is None:
        return None, None
    if not (-180 <= data.lon <= 180 and -90 <= data.lat <= 90):
        raise ParticipationError(N_("This place is not a valid position."), field="place")
    neighbourhood_id = await territory.locate_id(session, cache, data.lon, data.lat)
    if neighbourhood_id is None:
        raise ParticipationError(N_("This place is outside the city."), field="place")
    scope = await scope_of(session, process)
    if scope and neighbourhood_id not in scope:
        raise ParticipationError(N_("This place is outside the neighbourhoods this process is about."), field="place")
    return neighbourhood_id, territory.h3_cells(data.lon, data.lat)


async def _check_proposal(session: AsyncSession, process: Process, data: ProposalInput) -> None:
    data.title = squeeze_spaces(data.title)
    data.body = data.body.strip()
    if not TITLE_MIN <= len(data.title) <= TITLE_MAX:
        raise ParticipationError(
            N_("The title must be %(low)d to %(high)d characters long."), field="title", low=TITLE_MIN, high=TITLE_MAX
        )
    if not BODY_MIN <= len(data.body) <= BODY_MAX:
        raise ParticipationError(
            N_("The proposal must be %(low)d to %(high)d characters long."), field="body", low=BODY_MIN, high=BODY_MAX
        )
    if data.category_id is not None:
        owner = await session.scalar(select(ProcessCategory.process_id).where(ProcessCategory.id == data.category_id))
        if owner != process.id:
            raise ParticipationError(N_("Choose one of the categories of this process."), field="category")


async def submit_proposal(
    session: AsyncSession,
    cache: territory.TerritoryIndexCache,
    process: Process,
    author: Person,
    data: ProposalInput,
    image: PreparedPhoto | None = None,
    now: datetime | None = None,
) -> Proposal:
    """A citizen's new proposal, only while a phase of the process accepts them; the author follows it."""
    now = now or utcnow()
    if not (await abilities(session, process, now)).proposals:
        raise ParticipationError(N_("This process does not accept proposals at the moment."), kind="forbidden")
    await _check_proposal(session, process, data)
    neighbourhood_id, cells = await _place(session, cache, process, data)
    proposal = Proposal(
        process_id=process.id,
        author_id=author.id,
        category_id=data.category_id,
        title=data.title,
        body=data.body,
        locale=data.locale if data.locale in ("fr", "en") else "fr",
        lon=data.lon,
        lat=data.lat,
        address=data.address.strip()[:300],
        neighbourhood_id=neighbourhood_id,
        h3_r6=cells[6] if cells else None,
        h3_r8=cells[8] if cells else None,
        h3_r10=cells[10] if cells else None,
        created_at=now,
        updated_at=now,
        comment_count=0,
    )
    if image is not None:
        proposal.image_id = await _store_image(session, image)
    session.add(proposal)
    await session.flush()
    await add_support_count(session, proposal)
    session.add(ProposalFollow(proposal_id=proposal.id, person_id=author.id, created_at=now))
    await session.flush()
    # Following tells the followers of the process and neighbourhood (in this transaction).
    await events.announce(session, ProposalPublished(proposal_id=proposal.id, process_id=proposal.process_id))
    return proposal


async def _store_image(session: AsyncSession, image: PreparedPhoto) -> int:
    stored = ParticipationImage(
        content=image.content, media_type=image.media_type, width=image.width, height=image.height
    )
    session.add(stored)
    await session.flush()
    return stored.id


async def get_image(session: AsyncSession, image_id: int) -> ParticipationImage:
    image = await session.get(ParticipationImage, image_id)
    if image is None:
        raise ParticipationError(N_("Unknown image."), kind="not_found")
    return image


async def get_proposal(session: AsyncSession, proposal_id: int, include_hidden: bool = False) -> Proposal:
    proposal = await session.get(Proposal, proposal_id)
    if proposal is None or (proposal.hidden_at is not None and not include_hidden):
        raise ParticipationError(N_("Unknown proposal."), kind="not_found")
    return proposal


def edit_deadline(process: Process, proposal: Proposal) -> datetime:
    return proposal.created_at + timedelta(minutes=process.edit_window_minutes)


def can_edit(process: Process, proposal: Proposal, person: Person | None, now: datetime | None = None) -> bool:
    return (
        person is not None
        and proposal.author_id == person.id
        and proposal.withdrawn_at is None
        and proposal.status is ProposalStatus.PUBLISHED
        and (now or utcnow()) <= edit_deadline(process, proposal)
    )


async def edit_proposal(
    session: AsyncSession,
    cache: territory.TerritoryIndexCache,
    process: Process,
    proposal: Proposal,
    person: Person,
    data: ProposalInput,
    image: PreparedPhoto | None = None,
    now: datetime | None = None,
) -> Proposal:
    """The author changes their proposal, only within the process's editing window after submitting."""
    now = now or utcnow()
    if proposal.author_id != person.id:
        raise ParticipationError(N_("Only the author may change a proposal."), kind="forbidden")
    if proposal.withdrawn_at is not None:
        raise ParticipationError(N_("This proposal was withdrawn."), kind="conflict")
    if not can_edit(process, proposal, person, now):
        raise ParticipationError(
            N_("A proposal can be changed only during the %(minutes)d minutes after it was submitted."),
            kind="forbidden",
            minutes=process.edit_window_minutes,
        )
    await _check_proposal(session, process, data)
    neighbourhood_id, cells = await _place(session, cache, process, data)
    proposal.title = data.title
    proposal.body = data.body
    proposal.search_title, proposal.search_body = indexed_text([data.title]), indexed_text([data.body])
    proposal.category_id = data.category_id
    proposal.lon, proposal.lat = data.lon, data.lat
    proposal.address = data.address.strip()[:300]
    proposal.neighbourhood_id = neighbourhood_id
    proposal.h3_r6 = cells[6] if cells else None
    proposal.h3_r8 = cells[8] if cells else None
    proposal.h3_r10 = cells[10] if cells else None
    if image is not None:
        proposal.image_id = await _store_image(session, image)
    proposal.updated_at = now
    await session.flush()
    return proposal


async def add_support_count(session: AsyncSession, proposal: Proposal) -> None:
    """A new proposal's row of support counts (every proposal has one), at zero."""
    session.add(SupportCount(proposal_id=proposal.id, process_id=proposal.process_id, support_count=0))
    await session.flush()
    set_committed_value(proposal, "support_count", 0)


async def withdraw_proposal(session: AsyncSession, proposal: Proposal, person: Person) -> None:
    """The author takes their proposal back: it stays readable, marked withdrawn, and takes no more supports."""
    if proposal.author_id != person.id:
        raise ParticipationError(N_("Only the author may withdraw a proposal."), kind="forbidden")
    if proposal.withdrawn_at is not None:
        raise ParticipationError(N_("This proposal was already withdrawn."), kind="conflict")
    proposal.withdrawn_at = utcnow()
    proposal.updated_at = proposal.withdrawn_at
    await session.flush()
