"""Searching proposals by words: every word, in any order, accents and plurals folded, best match first, on
SQLite (FTS5) and PostgreSQL (French and English tsvectors); the index follows inserts, edits and deletions."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.participation import service as participation
from citoyen.participation.models import Proposal
from citoyen.territory.service import TerritoryIndexCache
from tests.factories import create_person
from tests.participation.helpers import EAST, create_process, setup_territory, submit


@pytest.fixture
async def places(session: AsyncSession) -> dict[str, int]:
    return await setup_territory(session)


async def found(session: AsyncSession, process_id: int, text: str, sort: str = "relevance") -> list[int]:
    filters = participation.ProposalFilters(process_id=process_id, text=text)
    return [proposal.id for proposal in await participation.search_proposals(session, filters, sort)]


async def test_every_word_in_any_order_with_accents_and_plurals_folded(
    session: AsyncSession, places: dict[str, int]
) -> None:
    process = await create_process(session)
    author = await create_person(session)
    cycle = await submit(
        session,
        process,
        author,
        title="Des pistes cyclables protégées",
        body="Le long du quai de la Loire jusqu'au Pont-de-Flandre, séparées des voitures.",
    )
    bikes = await submit(session, process, author, title="Plus d'arceaux à vélos", body="Devant la mairie.")
    await submit(session, process, author)

    assert await found(session, process.id, "piste cyclable Pont-de-Flandre") == [cycle.id]
    assert await found(session, process.id, "flandre pont PISTES") == [cycle.id]
    assert await found(session, process.id, "velo") == [bikes.id]
    assert await found(session, process.id, "Vélos arceau") == [bikes.id]
    # Every word must be there: a place the proposal does not name finds nothing.
    assert await found(session, process.id, "piste cyclable Belleville") == []
    assert (
        await participation.count_proposals(
            session, participation.ProposalFilters(process_id=process.id, text="voitures"), at_most=1
        )
        == 2
    )  # "more than 1": both the cycle lanes and the school street name cars


async def test_a_word_in_the_title_ranks_before_one_in_the_text(session: AsyncSession, places: dict[str, int]) -> None:
    process = await create_process(session)
    author = await create_person(session)
    in_title = await submit(session, process, author, title="Un jardin partagé", body="Sur la dalle du centre.")
    in_body = await submit(session, process, author, title="Verdir la dalle", body="Avec un petit jardin au pied.")

    assert await found(session, process.id, "jardin") == [in_title.id, in_body.id]
    # Another sort keeps its order among the matches.
    assert await found(session, process.id, "jardin", sort="recent") == [in_body.id, in_title.id]


async def test_punctuation_and_search_syntax_are_only_words(session: AsyncSession, places: dict[str, int]) -> None:
    process = await create_process(session)
    proposal = await submit(session, process, await create_person(session), title='Une "rue" and écoles')

    for text in ('"rue', "rue*", "(rue) AND écoles^", "rue -école", "rue:écoles", "rue & écoles | ("):
        assert proposal.id in await found(session, process.id, text), text
    # Punctuation alone is no word: nothing is filtered out.
    assert await found(session, process.id, "!!! ...") == [proposal.id]


async def test_the_index_follows_edits_deletions_and_bulk_inserts(
    session: AsyncSession, places: dict[str, int]
) -> None:
    process = await create_process(session, edit_window_minutes=30)
    author = await create_person(session)
    proposal = await submit(session, process, author, title="Des bancs au square", body="Pour se reposer.")
    changed = participation.ProposalInput(
        title="Des fontaines au square", body="Pour boire en été.", lon=EAST[0], lat=EAST[1]
    )
    await participation.edit_proposal(session, TerritoryIndexCache(), process, proposal, author, changed)

    assert await found(session, process.id, "fontaine") == [proposal.id]
    assert await found(session, process.id, "bancs") == []

    # The demo and the benchmarks insert proposals in bulk, past the service: they are indexed all the same.
    now = utcnow()
    rows = [
        {"process_id": process.id, "title": f"Composteur numéro {n}", "body": "Pour les épluchures.", "created_at": now}
        | {"updated_at": now, "comment_count": 0}
        for n in range(3)
    ]
    bulk = list((await session.execute(insert(Proposal).returning(Proposal.id), rows)).scalars())
    assert sorted(await found(session, process.id, "epluchure composteurs")) == sorted(bulk)

    await session.execute(delete(Proposal).where(Proposal.id.in_(bulk[:2])))
    assert await found(session, process.id, "composteur") == [bulk[2]]


async def test_the_list_page_and_the_api_search_by_words(
    session: AsyncSession, client: httpx.AsyncClient, places: dict[str, int]
) -> None:
    process = await create_process(session)
    author = await create_person(session)
    cycle = await submit(session, process, author, title="Des pistes cyclables", body="Jusqu'au Pont-de-Flandre.")
    await submit(session, process, author, title="Une piste de danse", body="Sur la place du marché.")
    await session.commit()

    api = (await client.get("/api/participation/proposals", params={"q": "piste cyclable Pont-de-Flandre"})).json()
    assert [item["id"] for item in api["proposals"]] == [cycle.id]
    page = await client.get(
        f"/participation/processes/{process.slug}",
        params={"q": "pont de flandre pistes cyclables"},
        headers={"Accept-Language": "en"},
    )
    assert page.status_code == 200
    assert "Des pistes cyclables" in page.text and "Une piste de danse" not in page.text
