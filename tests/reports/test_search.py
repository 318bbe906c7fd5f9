"""Searching reports by words (the public list's API `q`): every word of the description or the address, in
any order, accents and plurals folded, best match first when asked, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.reports import service as reports
from tests.reports.helpers import EAST, WEST, ReportsWorld, create_reports_world, file_report


@pytest.fixture
async def world(session: AsyncSession) -> ReportsWorld:
    return await create_reports_world(session)


async def found(session: AsyncSession, text: str, sort: str = "newest") -> list[int]:
    filters = reports.ReportFilters(text=text)
    return [report.id for report in await reports.search_reports(session, filters, sort=sort)]


async def test_reports_are_found_by_every_word_of_their_description_or_address(
    session: AsyncSession, world: ReportsWorld
) -> None:
    holes = await file_report(
        session, world, EAST, "pothole", description="Deux trous profonds sur la chaussée", address="12 rue Lepic"
    )
    lamp = await file_report(session, world, WEST, description="Le lampadaire est éteint depuis lundi")
    both = await file_report(session, world, WEST, description="Un trou devant le lampadaire éteint")

    assert await found(session, "trou profond") == [holes.id]
    assert await found(session, "chaussee TROUS") == [holes.id]
    assert await found(session, "lepic rue") == [holes.id]
    assert await found(session, "lampadaires eteints") == [both.id, lamp.id]
    assert await found(session, "lampadaire trou") == [both.id]
    assert await found(session, "lampadaire belleville") == []
    assert await reports.count_reports(session, reports.ReportFilters(text="éteint")) == 2


async def test_the_api_searches_by_words_and_ranks_on_request(
    session: AsyncSession, client: httpx.AsyncClient, world: ReportsWorld
) -> None:
    title_like = await file_report(session, world, WEST, description="Graffiti")
    wordy = await file_report(
        session, world, WEST, description="Sur le mur de l'école, un grand graffiti tagué hier soir par des inconnus"
    )
    await session.commit()

    newest = (await client.get("/api/reports", params={"q": "graffitis"})).json()
    assert newest["total"] == 2 and [item["id"] for item in newest["reports"]] == [wordy.id, title_like.id]
    ranked = (await client.get("/api/reports", params={"q": "graffitis", "sort": "relevance"})).json()
    assert [item["id"] for item in ranked["reports"]] == [title_like.id, wordy.id]
    syntax = await client.get("/api/reports", params={"q": 'graffiti" OR NEAR(*'})
    assert syntax.status_code == 200 and syntax.json()["total"] == 0  # "or" and "near" are words too
