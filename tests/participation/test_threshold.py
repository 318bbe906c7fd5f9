"""A support threshold set or lowered flags the proposals already past it, as a new support reaching it does:
they wait for an official answer; answered and withdrawn proposals are left as they are."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.participation import service as participation
from citoyen.participation.models import Process, Proposal, ProposalStatus
from citoyen.people.models import Role
from citoyen.people.service import Person
from tests.factories import claim_of, create_person
from tests.participation.helpers import create_process, open_phases, setup_territory, submit


@pytest.fixture
async def places(session: AsyncSession) -> dict[str, int]:
    return await setup_territory(session)


async def supported(
    session: AsyncSession, process: Process, title: str, supports: int, author: Person | None = None
) -> Proposal:
    proposal = await submit(session, process, author or await create_person(session), title=title)
    for _ in range(supports):
        await participation.support(session, proposal.id, await claim_of(session, await create_person(session)))
    return proposal


async def set_threshold(session: AsyncSession, process: Process, threshold: int | None) -> None:
    data = participation.ProcessInput(
        slug=process.slug,
        title=process.title,
        starts_at=process.starts_at,
        ends_at=process.ends_at,
        categories=[
            participation.CategoryInput("Mobilité", "Mobility"),
            participation.CategoryInput("Nature en ville"),
        ],
        phases=open_phases(),
        support_threshold=threshold,
    )
    await participation.save_process(session, data, process_id=process.id)


async def waiting(session: AsyncSession, *proposals: Proposal) -> list[bool]:
    for proposal in proposals:
        await session.refresh(proposal)
    return [proposal.answer_required for proposal in proposals]


async def test_lowering_the_threshold_flags_the_proposals_already_past_it(
    session: AsyncSession, places: dict[str, int]
) -> None:
    process = await create_process(session, support_threshold=40)
    five = await supported(session, process, "Cinq soutiens", 5)
    three = await supported(session, process, "Trois soutiens", 3)
    one = await supported(session, process, "Un seul soutien", 1)
    answered = await supported(session, process, "Déjà répondue", 6)
    staff = await create_person(session, role=Role.STAFF)
    await participation.answer_proposal(session, staff, answered, ProposalStatus.ACCEPTED, "Nous le ferons.")
    author = await create_person(session)
    withdrawn = await supported(session, process, "Retirée ensuite", 4, author)
    await participation.withdraw_proposal(session, withdrawn, author)
    assert await waiting(session, five, three, one, answered, withdrawn) == [False] * 5

    await set_threshold(session, process, 3)

    assert await waiting(session, five, three, one, answered, withdrawn) == [True, True, False, False, False]
    assert [p.id for p in await participation.answer_queue(session)][:2] == [five.id, three.id]
    assert await participation.count_answer_required(session) == 2
    # Raising it again or removing it takes no flag back: those proposals did pass it.
    await set_threshold(session, process, None)
    assert await waiting(session, five, three, one) == [True, True, False]
    # Then a support reaching the threshold flags as before.
    await set_threshold(session, process, 2)
    await participation.support(session, one.id, await claim_of(session, await create_person(session)))
    assert await waiting(session, one) == [True]


async def test_a_proposal_past_the_threshold_says_the_city_will_answer(
    session: AsyncSession, client: httpx.AsyncClient, places: dict[str, int]
) -> None:
    process = await create_process(session, support_threshold=40)
    proposal = await supported(session, process, "Deux soutiens", 2)
    await set_threshold(session, process, 2)
    await session.commit()

    french = await client.get(f"/participation/proposals/{proposal.id}", headers={"Accept-Language": "fr"})
    english = await client.get(f"/participation/proposals/{proposal.id}", headers={"Accept-Language": "en"})

    assert "la Ville y répondra officiellement" in french.text
    assert "the city will answer it officially" in english.text
