"""Every page and API route that takes an id in its path answers 404 for an id beyond what any column holds,
on both databases (a 500 before: SQLite overflows beyond 64 bits, PostgreSQL beyond its 32-bit columns).
Built from the app's routes, so a new route with an id is covered when it is added."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.people import service as people
from citoyen.people.models import Role
from tests.conftest import csrf_token
from tests.factories import create_person, log_in
from tests.web.test_authorisation import _routes

BEYOND = [2**31, 2**63, 10**30]
ID_PARAMETER = re.compile(r"\{(\w+_id)(:int)?\}")


def id_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of the routes with an id in their path, outside the standards' own APIs (tested in their
    suites)."""
    return sorted(
        {
            (method, route.path)
            for route in _routes(app)
            for method in (route.methods or set()) - {"HEAD", "OPTIONS"}
            if ID_PARAMETER.search(route.path) and not route.path.startswith(("/sta/", "/open311/"))
        }
    )


async def test_ids_beyond_any_column_are_not_found_on_every_route(app: FastAPI, session: AsyncSession) -> None:
    admin = await create_person(session, role=Role.ADMIN)
    _token, secret = await people.create_api_token(session, "every scope", list(people.API_SCOPES), admin)
    await session.commit()
    failures = []
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # a crash is a 500 to list, not to raise
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        # Past every guard (a session and a token of every scope), so the id itself is what is answered.
        await log_in(client, admin.email)
        client.headers["Authorization"] = f"Bearer {secret}"
        token = await csrf_token(client, "/account")
        routes = id_routes(app)
        assert len(routes) > 40
        for method, template in routes:
            for number in BEYOND:
                path = ID_PARAMETER.sub(str(number), template).replace("{kind:str}", "proposals")
                if method == "GET":
                    response = await client.get(path, headers={"Accept": "text/event-stream"})
                else:
                    response = await client.request(method, path, data={"csrf_token": token})
                if response.status_code != 404:
                    failures.append(f"{method} {path}: {response.status_code}")
    assert not failures, "\n".join(failures)
