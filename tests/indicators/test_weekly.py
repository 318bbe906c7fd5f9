"""The weekly figures: participants per 1,000 residents (different people, counted through participation's
service, small weeks withheld) and the median time to close a report as a series, the city's its own figure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.indicators import series, views
from citoyen.indicators import service as indicators
from citoyen.participation.debate.models import Comment, CommentVote
from citoyen.participation.models import Proposal, Support
from citoyen.reports.models import CloseReason, ReportStatus
from citoyen.territory import service as territory
from tests.factories import create_person
from tests.participation.helpers import EAST, WEST, create_process, neighbourhood_ids, submit
from tests.reports.helpers import create_reports_world, file_report


def _monday(moment: datetime) -> datetime:
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


async def test_participants_are_different_people_per_week_and_small_weeks_are_withheld(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    await create_reports_world(session)  # the test territory
    ids = await neighbourhood_ids(session)
    process = await create_process(session)
    west_author, east_author = await create_person(session), await create_person(session)
    west = await submit(session, process, west_author, WEST)
    east = await submit(session, process, east_author, EAST, title="Un jardin partagé rue de l'Est")
    supporters = [await create_person(session) for _ in range(11)]
    session.add_all(Support(proposal_id=west.id, person_id=person.id) for person in supporters)
    # Three in the east, one of them also in the west: counted once in the city.
    session.add_all(Support(proposal_id=east.id, person_id=person.id) for person in supporters[:1])
    others = [await create_person(session) for _ in range(2)]
    session.add_all(Support(proposal_id=east.id, person_id=person.id) for person in others)
    comment = Comment(process_id=process.id, proposal_id=west.id, author_id=supporters[0].id, body="D'accord.")
    session.add(comment)
    await session.flush()
    voter = await create_person(session)  # only voted on a comment
    session.add(CommentVote(comment_id=comment.id, person_id=voter.id, value=1))
    await session.flush()
    then = utcnow() - timedelta(days=14)  # a complete week
    for model in (Proposal, Support, Comment, CommentVote):
        await session.execute(update(model).values(created_at=then))
    await territory.store_populations(session, {ids["Ouest"]: 2000, ids["Est"]: 500}, 2021, "test")
    await indicators.refresh_civic(session)
    await session.commit()

    week = _monday(then)
    indicator = indicators.get_indicator("participation-participants")
    after = week + timedelta(days=7)
    # The west: its author, 11 supporters (one commented) and the voter.
    assert await indicators.values(session, indicator, "week", week, after, ids["Ouest"]) == {week: 13}
    # The east: 4 people, under 10: withheld.
    assert await indicators.values(session, indicator, "week", week, after, ids["Est"]) == {}
    # The city: 2 authors, 11 + 2 supporters, the voter; the supporter active in both counts once.
    assert await indicators.values(session, indicator, "week", week, after) == {week: 16}
    population = await territory.populations(session)
    west_figure = await views.figure(session, indicator, ids["Ouest"], population)
    assert west_figure is not None and west_figure.per_thousand == pytest.approx(13 / 2000 * 1000)
    city_figure = await views.figure(session, indicator, None, population)
    assert city_figure is not None and city_figure.per_thousand == pytest.approx(16 / 2500 * 1000)
    # The choropleth's values are the quartiers' (the city's own row is no quartier).
    assert await series.per_neighbourhood(session, indicator, week - timedelta(days=6), week + timedelta(days=1)) == {
        ids["Ouest"]: 13
    }

    response = await client.get(
        "/api/indicators/participation-participants/series",
        params={"step": "week", "neighbourhood": ids["Ouest"], "from": week.isoformat(), "to": after.isoformat()},
    )
    assert response.status_code == 200, response.text
    assert [point["value"] for point in response.json()["points"]] == [13]
    refused = await client.get("/api/indicators/participation-participants/series", params={"step": "day"})
    assert refused.status_code == 400


async def test_the_median_time_to_close_is_a_weekly_series_with_the_city_s_own_median(
    session: AsyncSession,
) -> None:
    world = await create_reports_world(session)
    ids = {n.name: n.id for n in await territory.list_neighbourhoods(session)}
    week = _monday(utcnow()) - timedelta(days=14)

    async def closed(where: tuple[float, float], days: float, reason: CloseReason = CloseReason.FIXED) -> None:
        report = await file_report(session, world, where, "streetlight")
        report.requested_at = week + timedelta(days=2) - timedelta(days=days)
        report.status = ReportStatus.CLOSED
        report.close_reason = reason
        report.closed_at = week + timedelta(days=2)

    for days in (1, 2, 9):
        await closed(WEST, days)
    await closed(WEST, 0.5, CloseReason.DUPLICATE)  # left out
    await closed(EAST, 6)
    await session.flush()
    await indicators.refresh_civic(session)

    indicator = indicators.get_indicator("reports-closing-time")
    assert indicator.steps == ("week",)
    start, end = week - timedelta(days=7), week + timedelta(days=14)
    assert await indicators.values(session, indicator, "week", start, end, ids["Ouest"]) == {week: pytest.approx(2)}
    # The city: the median of its 4 reports (2 and 6 days: 4), not the mean of the quartiers' medians.
    assert await indicators.values(session, indicator, "week", start, end) == {week: pytest.approx(4)}
    timeline = await indicators.series(session, indicator, "week", start, end)
    assert timeline.values == [None, pytest.approx(4), None]
