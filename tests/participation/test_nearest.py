"""A process page opened at a place (`?at=lon,lat`, as a map's link does) lists the proposals placed nearest to it
first, and says so."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import create_person
from tests.participation.helpers import create_process, submit
from tests.territory.helpers import create_territory


async def test_a_process_page_at_a_place_lists_the_nearest_proposals_first(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await create_territory(session)
    process = await create_process(session, "partout")
    author = await create_person(session)
    titles = ["Tout près de la place", "À mi-chemin de la place", "Loin de la place", "Sans lieu précis"]
    places = [(2.3051, 48.8551), (2.31, 48.855), (2.318, 48.858), None]
    for title, place in zip(titles, places, strict=True):  # the nearest is the oldest
        await submit(session, process, author, place, title=title)
    await session.commit()

    page = await client.get(
        "/participation/processes/partout", params={"at": "2.305,48.855"}, headers={"Accept-Language": "en"}
    )

    assert page.status_code == 200
    positions = [page.text.index(title) for title in titles]
    assert positions == sorted(positions)
    assert "The proposals placed nearest to the place the map opened at come first" in page.text
    assert 'href="?sort=relevance">Sort them as chosen instead</a>' in page.text
    # Without a place, the chosen order (here the most recent first) again.
    recent = await client.get("/participation/processes/partout", params={"sort": "recent"})
    assert recent.text.index(titles[3]) < recent.text.index(titles[0]) and "nearest-first" not in recent.text
