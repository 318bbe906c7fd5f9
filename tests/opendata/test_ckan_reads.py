"""CKAN's read actions run as reads whatever the HTTP method: ckanapi sends package_search, package_show and the
others as POST, and on SQLite a request that may write waits for the app's write turn (citoyen.db
sqlite_write_turn). A read must never wait there behind a writer; a write action still takes its turn."""

from __future__ import annotations

import asyncio
import re
from typing import Literal

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.people import service as people
from tests.opendata.helpers import create_dataset, create_organization

API = "/api/3/action"


class HeldTurn(asyncio.Lock):
    """The app's write turn, which a test can hold as a writer elsewhere would; waiting for it while held is
    refused at once (a read that waited would otherwise hang the test), and every turn taken is counted."""

    def __init__(self) -> None:
        super().__init__()
        self.taken = 0

    async def acquire(self) -> Literal[True]:
        if self.locked():
            raise AssertionError("a request waited for the write turn while a writer held it")
        self.taken += 1
        return await super().acquire()


async def test_read_actions_sent_as_post_never_wait_for_the_write_turn(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    organization = await create_organization(session, "voirie")
    await create_dataset(session, organization, name="pistes-cyclables", title="Pistes cyclables")
    _token, secret = await people.create_api_token(session, "publisher", ["opendata:write"])
    await session.commit()
    turn = HeldTurn()
    app.state.sqlite_write_lock = turn

    await turn.acquire()  # a writer elsewhere holds the turn
    reads = {
        "package_search": {"q": "cyclables", "facet.field": '["tags", "organization"]'},
        "package_show": {"id": "pistes-cyclables"},
        "package_list": {},
        "organization_list": {"all_fields": True},
        "tag_list": {},
    }
    for action, body in reads.items():
        answer = await client.post(f"{API}/{action}", json=body, headers={"Authorization": secret})
        assert answer.status_code == 200, (action, answer.text)
        assert answer.json()["success"] is True
    found = await client.post(f"{API}/package_search", json={"q": "cyclables"})
    assert [item["name"] for item in found.json()["result"]["results"]] == ["pistes-cyclables"]
    assert turn.taken == 1  # only the test's own
    turn.release()

    created = await client.post(
        f"{API}/package_create",
        json={"name": "arceaux", "title": "Arceaux", "owner_org": "voirie"},
        headers={"Authorization": secret},
    )
    assert created.status_code == 200, created.text
    sqlite = session.get_bind().dialect.name == "sqlite"
    assert turn.taken == (2 if sqlite else 1)  # a write waits for its turn on SQLite (there is none elsewhere)


async def test_the_catalogue_page_and_the_api_share_the_whole_catalogues_counts_and_see_changes(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    organization = await create_organization(session, "parcs")
    await create_dataset(session, organization, name="arbres", title="Arbres", tags=[{"name": "nature"}])
    await session.commit()
    assert 'data-count="1"' in (await client.get("/data")).text
    cache = app.state.opendata_catalogue_cache  # made by the page, used by the API below
    assert (await client.get(f"{API}/package_search")).json()["result"]["count"] == 1
    assert app.state.opendata_catalogue_cache is cache
    await create_dataset(session, organization, name="jardins", title="Jardins", tags=[{"name": "nature"}])
    await session.commit()
    page = (await client.get("/data")).text
    assert 'data-count="2"' in page
    assert re.search(r'data-value="nature">nature</a> <span class="facet-count">\(2\)', page)
