from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from citoyen.db import may_write
from citoyen.notifications import service as notifications
from citoyen.notifications.pages import notifications_page
from tests.conftest import csrf_token
from tests.factories import create_person, log_in

ENGLISH = {"Accept-Language": "en"}


async def test_a_notification_is_shown_to_its_person_only(client: httpx.AsyncClient, session: AsyncSession) -> None:
    camille = await create_person(session)
    other = await create_person(session)
    await notifications.notify(session, camille.id, "Report #12 is now: closed", "Lamp replaced.", "/reports/12")
    await session.commit()

    await log_in(client, other.email)
    page = await client.get("/notifications", headers=ENGLISH)
    assert page.status_code == 200
    assert "Report #12" not in page.text and "no notifications yet" in page.text

    token = await csrf_token(client, "/account")
    await client.post("/logout", data={"csrf_token": token})
    await log_in(client, camille.email)
    page = await client.get("/notifications", headers=ENGLISH)
    assert page.status_code == 200
    assert "Report #12 is now: closed" in page.text and "Lamp replaced." in page.text
    assert 'href="/reports/12"' in page.text


async def test_newest_first_and_new_ones_are_pointed_out_once(client: httpx.AsyncClient, session: AsyncSession) -> None:
    person = await create_person(session)
    await notifications.notify(session, person.id, "First news")
    await notifications.notify(session, person.id, "Second news")
    await session.commit()
    await log_in(client, person.email)

    page = await client.get("/notifications", headers=ENGLISH)
    assert page.text.index("Second news") < page.text.index("First news")
    assert "2 new notifications since your last visit." in page.text
    again = await client.get("/notifications", headers=ENGLISH)
    assert "First news" in again.text and "No new notification since your last visit." in again.text


async def test_the_nav_shows_the_unread_count_until_the_page_is_viewed(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    person = await create_person(session)
    for number in range(3):
        await notifications.notify(session, person.id, f"News {number}")
    await session.commit()
    await log_in(client, person.email)

    assert "Notifications (3)" in (await client.get("/account", headers=ENGLISH)).text
    viewed = await client.get("/notifications", headers=ENGLISH)
    assert "Notifications (" not in viewed.text  # the page itself already counts them as read
    assert await notifications.unread_count(session, person.id) == 0
    account = await client.get("/account", headers=ENGLISH)
    assert '<a href="/notifications">Notifications</a>' in account.text and "Notifications (" not in account.text


async def test_mark_all_read_needs_the_csrf_token(client: httpx.AsyncClient, session: AsyncSession) -> None:
    person = await create_person(session)
    await notifications.notify(session, person.id, "Something changed")
    await session.commit()
    await log_in(client, person.email)

    forged = await client.post("/notifications/read", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    assert await notifications.unread_count(session, person.id) == 1
    token = await csrf_token(client, "/account")
    done = await client.post("/notifications/read", data={"csrf_token": token})
    assert done.status_code == 303 and done.headers["location"] == "/notifications"
    assert await notifications.unread_count(session, person.id) == 0


async def test_anonymous_visitors_are_sent_to_log_in(client: httpx.AsyncClient) -> None:
    page = await client.get("/notifications")
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/notifications"
    token = await csrf_token(client, "/login")
    posted = await client.post("/notifications/read", data={"csrf_token": token})
    assert posted.status_code == 303 and posted.headers["location"].startswith("/login")
    home = await client.get("/login")
    assert 'href="/notifications"' not in home.text


def test_the_page_takes_sqlite_s_write_turn_as_it_marks_them_read() -> None:
    # Without its turn, its write after its reads met "database is locked" whenever another writer (the demo's
    # sensor feed) wrote in between: a follower opening their notifications got an error page.
    def request(method: str, endpoint: object) -> Request:
        return Request({"type": "http", "method": method, "endpoint": endpoint, "headers": []})

    assert may_write(request("GET", notifications_page))
    assert not may_write(request("GET", lambda: None))  # any other page read with GET
    assert may_write(request("POST", lambda: None))
