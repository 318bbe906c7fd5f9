"""Pages that gather several domains: a neighbourhood's panel in both languages, and the follows page, which
lists followed reports with their status beside proposals."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.participation.follows import service as follows
from citoyen.reports import service as reports
from tests.conftest import csrf_token
from tests.factories import create_person, log_in
from tests.participation.helpers import WEST, create_process, neighbourhood_ids, submit
from tests.reports.helpers import create_reports_world, file_report


async def test_the_panel_says_what_the_neighbourhood_has_in_french_and_english(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await create_reports_world(session)
    west = (await neighbourhood_ids(session))["Ouest"]
    await file_report(session, world, WEST, "pothole")
    process = await create_process(session, "partout")
    await submit(session, process, await create_person(session), WEST, title="Des bancs sur la place")
    await session.commit()

    english = await client.get(f"/neighbourhoods/{west}/panel", headers={"Accept-Language": "en"})
    assert english.status_code == 200
    assert "Open reports" in english.text and "1 report not yet closed." in english.text
    assert f'<a href="/reports?neighbourhood={west}&amp;category=pothole">Pothole</a>' in english.text
    process_link = f'<a href="/participation/processes/partout?neighbourhood={west}">Ideas for our neighbourhoods</a>'
    assert process_link in english.text
    assert "1 proposal placed here" in english.text and "Des bancs sur la place" in english.text
    assert "awaiting an answer" in english.text and "No public sensor here." in english.text

    french = await client.get(f"/neighbourhoods/{west}/panel", headers={"Accept-Language": "fr"})
    assert "Signalements non clos" in french.text and "1 signalement non clos." in french.text
    assert ">Nid-de-poule</a>" in french.text and "Des idées pour nos quartiers" in french.text
    assert "1 proposition située ici" in french.text and "Aucun capteur public ici." in french.text
    assert "<dd>0,81 km²</dd>" in french.text  # a decimal comma

    assert (await client.get("/neighbourhoods/999999/panel")).status_code == 404


async def test_the_follows_page_lists_followed_reports_with_their_status(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await create_reports_world(session)
    citizen = await create_person(session)
    hole = await file_report(session, world, WEST, "pothole", address="12 rue de la Paix")
    await reports.follow(session, hole, citizen.id)
    process = await create_process(session)
    proposal = await submit(session, process, await create_person(session))
    await follows.follow(session, citizen, "proposal", proposal.id)
    await session.commit()
    await log_in(client, citizen.email)

    page = await client.get("/account/follows", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "Reports I follow" in page.text
    assert f'<a href="/reports/{hole.id}">Pothole #{hole.id}</a>' in page.text and "12 rue de la Paix" in page.text
    assert "(open)" in page.text and "(awaiting an answer)" in page.text
    french = await client.get("/account/follows", headers={"Accept-Language": "fr"})
    assert f">Nid-de-poule #{hole.id}</a>" in french.text and "(ouvert)" in french.text

    token = await csrf_token(client, "/account/follows")
    form = {"action": "unfollow", "next": "/account/follows", "csrf_token": token}
    stopped = await client.post(f"/reports/{hole.id}/follow", data=form)
    assert stopped.status_code == 303 and stopped.headers["location"] == "/account/follows"
    page = await client.get("/account/follows", headers={"Accept-Language": "en"})
    assert f"/reports/{hole.id}" not in page.text and "You follow no report yet" in page.text
