"""Participation rules: phases decide what citizens may do, the edit window, supports (unique, withdrawable,
threshold), the neighbourhood of a proposal, answers and milestones, the map, personal data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.notifications.models import Notification
from citoyen.participation import service as participation
from citoyen.participation.models import PhaseKind, Proposal, ProposalStatus, Support
from citoyen.people import service as people
from citoyen.people.models import Person, Role
from citoyen.people.registry import PersonalDataRegistry
from citoyen.territory import maplayer
from citoyen.territory.service import TerritoryIndexCache
from tests.factories import claim_of, create_person
from tests.participation.helpers import EAST, OUTSIDE, WEST, create_process, open_phases, setup_territory, submit


@pytest.fixture
async def places(session: AsyncSession) -> dict[str, int]:
    return await setup_territory(session)


async def counter(session: AsyncSession, proposal: Proposal) -> int:
    """The proposal's support counter, as stored."""
    return (await participation.get_support_target(session, proposal.id)).support_count


async def supports_in_db(session: AsyncSession, proposal: Proposal) -> int:
    return int(await session.scalar(select(func.count()).where(Support.proposal_id == proposal.id)) or 0)


async def test_the_running_phase_decides_what_citizens_may_do(session: AsyncSession, places: dict[str, int]) -> None:
    process = await create_process(session)
    now = utcnow()
    running = await participation.abilities(session, process, now)
    assert running.phase is not None and running.phase.kind is PhaseKind.PROPOSALS
    assert (running.proposals, running.comments, running.supports, running.votes) == (True, True, True, False)
    later = await participation.abilities(session, process, now + timedelta(days=15))
    assert later.phase is not None and later.phase.kind is PhaseKind.VOTING
    assert (later.proposals, later.supports, later.votes) == (False, False, True)
    assert (await participation.abilities(session, process, now + timedelta(days=30))).phase is None


async def test_a_proposal_gets_the_neighbourhood_of_its_place(session: AsyncSession, places: dict[str, int]) -> None:
    process = await create_process(session)
    author = await create_person(session)
    proposal = await submit(session, process, author, EAST)
    assert proposal.neighbourhood_id == places["Est"]
    assert proposal.h3_r6 and proposal.h3_r8 and proposal.h3_r10
    unplaced = await submit(session, process, author, None)
    assert unplaced.neighbourhood_id is None and unplaced.h3_r8 is None


async def test_proposals_are_refused_outside_the_city_and_outside_the_process_scope(
    session: AsyncSession, places: dict[str, int]
) -> None:
    process = await create_process(session, whole_city=False, neighbourhood_ids=[places["Ouest"]])
    author = await create_person(session)
    with pytest.raises(participation.ParticipationError) as refused:
        await submit(session, process, author, EAST)
    assert refused.value.message == "This place is outside the neighbourhoods this process is about."
    with pytest.raises(participation.ParticipationError) as outside:
        await submit(session, process, author, OUTSIDE)
    assert outside.value.message == "This place is outside the city."
    assert (await submit(session, process, author, WEST)).neighbourhood_id == places["Ouest"]
    assert await participation.count_proposals(session, participation.ProposalFilters(process_id=process.id)) == 1


async def test_proposals_are_refused_when_no_phase_accepts_them(session: AsyncSession, places: dict[str, int]) -> None:
    process = await create_process(session, phases=open_phases(allows_proposals=False))
    with pytest.raises(participation.ParticipationError) as refused:
        await submit(session, process, await create_person(session))
    assert refused.value.kind == "forbidden"
    assert await participation.count_proposals(session, participation.ProposalFilters(process_id=process.id)) == 0


async def test_a_category_of_another_process_is_refused(session: AsyncSession, places: dict[str, int]) -> None:
    process = await create_process(session)
    other = await create_process(session, slug="autre")
    foreign = (await participation.categories_of(session, other.id))[0]
    with pytest.raises(participation.ParticipationError, match="categories of this process"):
        await submit(session, process, await create_person(session), category_id=foreign.id)


async def test_the_author_may_edit_only_within_the_window(session: AsyncSession, places: dict[str, int]) -> None:
    process = await create_process(session, edit_window_minutes=30)
    author = await create_person(session)
    proposal = await submit(session, process, author)
    cache = TerritoryIndexCache()
    changed = participation.ProposalInput(
        title="Une rue scolaire rue Lepic",
        body="Fermer la rue Lepic aux voitures devant l'école.",
        lon=EAST[0],
        lat=EAST[1],
    )
    await participation.edit_proposal(session, cache, process, proposal, author, changed)
    assert proposal.title == "Une rue scolaire rue Lepic" and proposal.neighbourhood_id == places["Est"]

    stranger = await create_person(session)
    with pytest.raises(participation.ParticipationError, match="Only the author"):
        await participation.edit_proposal(session, cache, process, proposal, stranger, changed)
    too_late = proposal.created_at + timedelta(minutes=31)
    late = participation.ProposalInput(title="Trop tard pour changer", body="Ce texte ne doit pas être enregistré.")
    with pytest.raises(participation.ParticipationError) as refused:
        await participation.edit_proposal(session, cache, process, proposal, author, late, now=too_late)
    assert refused.value.values == {"minutes": 30}
    assert proposal.title == "Une rue scolaire rue Lepic"


async def test_a_withdrawn_proposal_leaves_the_list_and_takes_no_support(
    session: AsyncSession, places: dict[str, int]
) -> None:
    process = await create_process(session)
    author = await create_person(session)
    proposal = await submit(session, process, author)
    with pytest.raises(participation.ParticipationError):
        await participation.withdraw_proposal(session, proposal, await create_person(session))
    await participation.withdraw_proposal(session, proposal, author)
    filters = participation.ProposalFilters(process_id=process.id)
    assert await participation.count_proposals(session, filters) == 0
    filters.include_withdrawn = True
    assert await participation.count_proposals(session, filters) == 1
    with pytest.raises(participation.ParticipationError, match="can no longer be supported"):
        await participation.support(session, proposal.id, await claim_of(session, await create_person(session)))


async def test_one_support_per_person_counted_and_withdrawable(session: AsyncSession, places: dict[str, int]) -> None:
    process = await create_process(session)
    proposal = await submit(session, process, await create_person(session))
    alice, bob = await create_person(session), await create_person(session)
    assert (await participation.support(session, proposal.id, await claim_of(session, alice))).support_count == 1
    assert (await participation.support(session, proposal.id, await claim_of(session, bob))).support_count == 2
    with pytest.raises(participation.ParticipationError) as twice:
        await participation.support(session, proposal.id, await claim_of(session, alice))
    assert twice.value.message == "You already support this proposal."
    assert await counter(session, proposal) == 2 == await supports_in_db(session, proposal)
    assert await participation.supported_ids(session, alice.id, [proposal.id]) == {proposal.id}

    assert (
        await participation.withdraw_support(session, proposal.id, await claim_of(session, alice))
    ).support_count == 1
    with pytest.raises(participation.ParticipationError, match="do not support"):
        await participation.withdraw_support(session, proposal.id, await claim_of(session, alice))
    assert await counter(session, proposal) == 1 == await supports_in_db(session, proposal)


async def test_supports_are_refused_outside_the_phase_and_nothing_is_recorded(
    session: AsyncSession, places: dict[str, int]
) -> None:
    process = await create_process(session, phases=open_phases(allows_supports=False))
    proposal = await submit(session, process, await create_person(session))
    with pytest.raises(participation.ParticipationError) as refused:
        await participation.support(session, proposal.id, await claim_of(session, await create_person(session)))
    assert refused.value.message == "Supports are not open in this process at the moment."
    assert await supports_in_db(session, proposal) == 0 == await counter(session, proposal)


async def test_supports_close_with_their_phase(session: AsyncSession, places: dict[str, int]) -> None:
    process = await create_process(session)
    proposal = await submit(session, process, await create_person(session))
    alice = await create_person(session)
    await participation.support(session, proposal.id, await claim_of(session, alice))
    voting_time = utcnow() + timedelta(days=15)
    with pytest.raises(participation.ParticipationError):
        await participation.support(
            session, proposal.id, await claim_of(session, await create_person(session)), now=voting_time
        )
    with pytest.raises(participation.ParticipationError):
        await participation.withdraw_support(session, proposal.id, await claim_of(session, alice), now=voting_time)
    assert await counter(session, proposal) == 1


async def test_reaching_the_threshold_requires_an_answer(session: AsyncSession, places: dict[str, int]) -> None:
    process = await create_process(session, support_threshold=2)
    proposal = await submit(session, process, await create_person(session))
    await participation.support(session, proposal.id, await claim_of(session, await create_person(session)))
    await session.refresh(proposal)
    assert proposal.answer_required is False
    await participation.support(session, proposal.id, await claim_of(session, await create_person(session)))
    await session.refresh(proposal)
    assert proposal.answer_required is True
    assert (await participation.answer_queue(session))[0].id == proposal.id
    assert await participation.count_answer_required(session) == 1

    staff = await create_person(session, role=Role.STAFF)
    await participation.answer_proposal(session, staff, proposal, ProposalStatus.EVALUATING, "Nous étudions.")
    assert proposal.answer_required is False
    assert await participation.count_answer_required(session) == 0


async def notifications_of(session: AsyncSession, person: Person) -> list[str]:
    query = select(Notification).where(Notification.person_id == person.id).order_by(Notification.id)
    return [n.title_in(person.locale) for n in (await session.execute(query)).scalars()]


async def test_answers_and_milestones_update_the_proposal_and_tell_the_author(
    session: AsyncSession, places: dict[str, int]
) -> None:
    process = await create_process(session)
    author = await create_person(session)
    await people.change_locale(session, author, "en")
    proposal = await submit(session, process, author)
    staff = await create_person(session, role=Role.STAFF)
    citizen = await create_person(session)
    with pytest.raises(participation.ParticipationError):
        await participation.answer_proposal(session, citizen, proposal, ProposalStatus.ACCEPTED)
    with pytest.raises(participation.ParticipationError, match="why"):
        await participation.answer_proposal(session, staff, proposal, ProposalStatus.REJECTED, "  ")
    with pytest.raises(participation.ParticipationError, match="Milestones"):
        await participation.add_milestone(session, staff, proposal, "Travaux", 10)

    await participation.answer_proposal(session, staff, proposal, ProposalStatus.ACCEPTED, "Bonne idée.")
    await participation.add_milestone(session, staff, proposal, "Études terminées", 40)
    assert (proposal.status, proposal.progress) == (ProposalStatus.IN_PROGRESS, 40)
    await participation.add_milestone(session, staff, proposal, "Rue fermée aux voitures", 100)
    assert (proposal.status, proposal.progress) == (ProposalStatus.DONE, 100)
    assert [a.status for a in await participation.answers_of(session, proposal.id)] == [ProposalStatus.ACCEPTED]
    assert len(await participation.milestones_of(session, proposal.id)) == 2
    titles = await notifications_of(session, author)
    assert titles[0] == "Your followed proposal “Une rue scolaire devant l'école” is now: accepted"
    assert len(titles) == 3


async def test_search_filters_and_sorts(session: AsyncSession, places: dict[str, int]) -> None:
    process = await create_process(session)
    categories = await participation.categories_of(session, process.id)
    author = await create_person(session)
    first = await submit(session, process, author, WEST, title="Plus d'arbres place des Fêtes")
    second = await submit(session, process, author, EAST, title="Des bancs au square", category_id=categories[0].id)
    third = await submit(session, process, author, EAST, title="Une piste cyclable protégée")
    await participation.support(session, second.id, await claim_of(session, await create_person(session)))
    staff = await create_person(session, role=Role.STAFF)
    await participation.answer_proposal(session, staff, third, ProposalStatus.REJECTED, "Trop étroit.")

    def ids(found: list[Proposal]) -> list[int]:
        return [p.id for p in found]

    base = participation.ProposalFilters(process_id=process.id)
    assert ids(await participation.search_proposals(session, base)) == [third.id, second.id, first.id]
    # Most supported first, ties newest first: over the whole process, and within a neighbourhood.
    assert ids(await participation.search_proposals(session, base, sort="supports")) == [second.id, third.id, first.id]
    east = participation.ProposalFilters(process_id=process.id, neighbourhood_id=places["Est"])
    assert set(ids(await participation.search_proposals(session, east))) == {second.id, third.id}
    assert ids(await participation.search_proposals(session, east, sort="supports")) == [second.id, third.id]
    by_category = participation.ProposalFilters(process_id=process.id, category_id=categories[0].id)
    assert ids(await participation.search_proposals(session, by_category)) == [second.id]
    rejected = participation.ProposalFilters(process_id=process.id, statuses=[ProposalStatus.REJECTED])
    assert ids(await participation.search_proposals(session, rejected)) == [third.id]
    words = participation.ProposalFilters(process_id=process.id, text="ARBRES")
    assert ids(await participation.search_proposals(session, words)) == [first.id]
    assert await participation.count_proposals(session, words) == 1
    every_word = participation.ProposalFilters(process_id=process.id, text="voiture")  # in every text
    assert await participation.count_proposals(session, every_word) == 3
    assert await participation.count_proposals(session, every_word, at_most=1) == 2  # "more than 1"
    shuffled = ids(await participation.search_proposals(session, base, sort="random", seed=42))
    assert sorted(shuffled) == sorted([first.id, second.id, third.id])
    assert shuffled == ids(await participation.search_proposals(session, base, sort="random", seed=42))


async def test_random_order_is_one_shuffle_per_seed_across_pages(session: AsyncSession, places: dict[str, int]) -> None:
    """Paging through the random order with one seed shows every visible proposal exactly once, in the
    same order each time; other seeds start elsewhere; filters and withdrawals are respected."""
    process = await create_process(session)
    author = await create_person(session)
    proposals = [
        await submit(session, process, author, WEST if n % 3 else EAST, title=f"Proposition numéro {n}")
        for n in range(25)
    ]
    await participation.withdraw_proposal(session, proposals[0], author)
    visible = {p.id for p in proposals[1:]}
    base = participation.ProposalFilters(process_id=process.id)

    async def pages(filters: participation.ProposalFilters, seed: int) -> list[int]:
        found: list[int] = []
        for offset in range(0, 35, 7):
            page = await participation.search_proposals(session, filters, "random", seed, limit=7, offset=offset)
            found += [p.id for p in page]
        return found

    order = await pages(base, 1234)
    assert sorted(order) == sorted(visible)
    assert order == await pages(base, 1234)
    assert len({tuple(await pages(base, seed))[:7] for seed in (1, 2, 3, 4, 5)}) > 1
    east = participation.ProposalFilters(process_id=process.id, neighbourhood_id=places["Est"])
    east_ids = {p.id for p in proposals[3::3]}
    assert sorted(await pages(east, 99)) == sorted(east_ids)


async def test_the_map_counts_per_cell_zoomed_out_and_shows_points_zoomed_in(
    session: AsyncSession, places: dict[str, int]
) -> None:
    process = await create_process(session)
    author = await create_person(session)
    for _ in range(3):
        await submit(session, process, author, (2.301, 48.851))
    await submit(session, process, author, (2.319, 48.859))
    await submit(session, process, author, None)
    filters = participation.ProposalFilters(process_id=process.id)
    zoomed_out = await participation.map_layer(session, filters, 11)
    assert zoomed_out["kind"] == "cells" and zoomed_out["resolution"] == 6
    assert sum(cell["count"] for cell in zoomed_out["cells"]) == 4
    closer = await participation.map_layer(session, filters, 13)
    assert closer["resolution"] == 8 and sorted(c["count"] for c in closer["cells"]) == [1, 3]
    zoomed_in = await participation.map_layer(session, filters, 17)
    assert zoomed_in["kind"] == "points" and len(zoomed_in["points"]) == 4
    assert {point["status"] for point in zoomed_in["points"]} == {"published"}


async def test_a_crowded_close_up_view_counts_per_small_cell_until_zoom_18(
    session: AsyncSession, places: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(maplayer, "DENSE_POINTS", 3)
    process = await create_process(session)
    author = await create_person(session)
    for _ in range(3):
        await submit(session, process, author, (2.301, 48.851))
    filters = participation.ProposalFilters(process_id=process.id)
    assert (await participation.map_layer(session, filters, 16))["kind"] == "points"  # 3: not crowded
    await submit(session, process, author, (2.303, 48.852))
    crowded = await participation.map_layer(session, filters, 16)
    assert crowded["kind"] == "cells" and crowded["resolution"] == 10
    assert sorted(cell["count"] for cell in crowded["cells"]) == [1, 3]
    assert (await participation.map_layer(session, filters, 17))["kind"] == "cells"
    everything = await participation.map_layer(session, filters, 18)
    assert everything["kind"] == "points" and len(everything["points"]) == 4


async def test_erasure_keeps_the_text_unsigned_and_removes_supports(
    session: AsyncSession, places: dict[str, int]
) -> None:
    process = await create_process(session)
    author = await create_person(session)
    supporter = await create_person(session)
    proposal = await submit(session, process, author)
    await participation.support(session, proposal.id, await claim_of(session, supporter))
    await participation.support(session, proposal.id, await claim_of(session, author))
    registry = PersonalDataRegistry()
    participation.register_personal_data(registry)

    exported = await registry.providers[0].export(session, author)
    assert [p["title"] for p in exported["proposals_written"]] == [proposal.title]
    assert [s["proposal_id"] for s in exported["proposals_supported"]] == [proposal.id]

    await registry.providers[0].erase(session, author)
    await session.refresh(proposal)
    assert proposal.author_id is None and proposal.title == "Une rue scolaire devant l'école"
    assert proposal.support_count == 1 == await supports_in_db(session, proposal)
    assert await registry.providers[0].export(session, author) == {
        "proposals_written": [],
        "proposals_supported": [],
        "proposals_followed": [],
    }


async def test_process_rules(session: AsyncSession, places: dict[str, int]) -> None:
    await create_process(session, slug="unique")
    with pytest.raises(participation.ParticipationError, match="already uses"):
        await create_process(session, slug="unique")
    with pytest.raises(participation.ParticipationError, match="neighbourhoods"):
        await create_process(session, slug="no-scope", whole_city=False)
    now = utcnow()
    backwards = [participation.PhaseInput(PhaseKind.DEBATE, now, now - timedelta(days=1))]
    with pytest.raises(participation.ParticipationError) as refused:
        await create_process(session, slug="backwards", phases=backwards)
    assert refused.value.values == {"position": 1}
    assert participation.slugify("Budget participatif 2027 : à vous !") == "budget-participatif-2027-a-vous"


async def test_erasing_an_account_through_the_app_registry(session: AsyncSession, places: dict[str, int]) -> None:
    from citoyen.app import build_personal_data_registry
    from citoyen.participation.models import ProposalFollow

    process = await create_process(session)
    author = await create_person(session)
    proposal = await submit(session, process, author)
    other = await submit(session, process, await create_person(session))
    await participation.support(session, other.id, await claim_of(session, author))
    exported = await people.export_personal_data(session, build_personal_data_registry(), author)
    assert "participation" in str(exported.keys()) or "proposals_written" in str(exported)
    author_id = author.id
    await people.erase_person(session, build_personal_data_registry(), author)
    await session.flush()
    await session.refresh(proposal)
    await session.refresh(other)
    assert proposal.author_id is None and other.support_count == 0
    for table in (Support, ProposalFollow):
        assert await session.scalar(select(func.count()).where(table.person_id == author_id)) == 0


async def test_changing_a_process_keeps_its_phases_rows(session: AsyncSession, places: dict[str, int]) -> None:
    process = await create_process(session)
    before = [phase.id for phase in (await participation.phases_of(session, [process.id]))[process.id]]
    now = utcnow()
    data = participation.ProcessInput(
        slug=process.slug,
        title="Un nouveau titre",
        starts_at=process.starts_at,
        ends_at=process.ends_at,
        phases=open_phases(now)[:2],
    )
    await participation.save_process(session, data, process_id=process.id)
    after = (await participation.phases_of(session, [process.id]))[process.id]
    assert [phase.id for phase in after] == before[:2]
    assert process.title == "Un nouveau titre"


async def test_the_counts_table_follows_every_change_to_the_proposals(
    session: AsyncSession, places: dict[str, int]
) -> None:
    # The list's total and the zoomed-out map read triggers-kept counts: after each kind of change they must
    # agree with a count of the proposals themselves.
    process = await create_process(session)
    staff = await create_person(session, role=Role.STAFF)
    author = await create_person(session)
    mobility, nature = (category.id for category in await participation.categories_of(session, process.id))
    index = TerritoryIndexCache()

    async def live_count(filters: participation.ProposalFilters) -> int:
        query = select(func.count()).select_from(Proposal).where(Proposal.process_id == process.id)
        query = query.where(Proposal.hidden_at.is_(None), Proposal.withdrawn_at.is_(None))
        if filters.neighbourhood_id is not None:
            query = query.where(Proposal.neighbourhood_id == filters.neighbourhood_id)
        if filters.category_id is not None:
            query = query.where(Proposal.category_id == filters.category_id)
        if filters.statuses:
            query = query.where(Proposal.status.in_(filters.statuses))
        return int(await session.scalar(query) or 0)

    async def agree() -> None:
        await session.flush()
        for filters in (
            participation.ProposalFilters(process_id=process.id),
            participation.ProposalFilters(process_id=process.id, neighbourhood_id=places["Ouest"]),
            participation.ProposalFilters(process_id=process.id, neighbourhood_id=places["Est"]),
            participation.ProposalFilters(process_id=process.id, category_id=mobility),
            participation.ProposalFilters(process_id=process.id, category_id=nature),
            participation.ProposalFilters(process_id=process.id, statuses=[ProposalStatus.ACCEPTED]),
        ):
            assert await participation.count_proposals(session, filters) == await live_count(filters), filters
        cells = await participation.map_layer(session, participation.ProposalFilters(process_id=process.id), 11)
        placed = (
            select(func.count())
            .select_from(Proposal)
            .where(
                Proposal.process_id == process.id,
                Proposal.hidden_at.is_(None),
                Proposal.withdrawn_at.is_(None),
                Proposal.lon.is_not(None),
            )
        )
        assert sum(cell["count"] for cell in cells["cells"]) == await session.scalar(placed)

    first = await submit(session, process, author, WEST, category_id=mobility)
    second = await submit(session, process, author, EAST, category_id=nature)
    await submit(session, process, author, None)
    await agree()
    assert await participation.count_proposals(session, participation.ProposalFilters(process_id=process.id)) == 3

    moved = participation.ProposalInput(
        title=first.title, body=first.body, lon=EAST[0], lat=EAST[1], category_id=nature
    )
    await participation.edit_proposal(session, index, process, first, author, moved)
    await agree()
    await participation.answer_proposal(session, staff, second, ProposalStatus.ACCEPTED, "Retenue.")
    await agree()
    await participation.withdraw_proposal(session, first, author)
    await agree()
    second.hidden_at = utcnow()  # what moderation's hide sets
    await agree()
    assert await participation.count_proposals(session, participation.ProposalFilters(process_id=process.id)) == 1
    await session.delete(second)
    await agree()
