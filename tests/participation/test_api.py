"""Participation JSON API: processes with the running phase, proposals filtered and paginated, the map
layer, GeoJSON, and the OpenAPI description; authors appear by pseudonym, never by e-mail."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.participation import service as participation
from citoyen.participation.models import Process, ProposalStatus
from citoyen.people.models import Role
from tests.factories import claim_of, create_person
from tests.participation.helpers import EAST, WEST, create_process, setup_territory, submit


@pytest.fixture
async def process(session: AsyncSession) -> Process:
    places = await setup_territory(session)
    process = await create_process(session)
    author = await create_person(session, email="autrice@example.org", display_name="Camille")
    await submit(session, process, author, WEST, title="Des arbres rue Oberkampf")
    second = await submit(session, process, author, EAST, title="Un marché le dimanche")
    await submit(session, process, author, None, title="Une fête de quartier")
    await participation.support(session, second.id, await claim_of(session, await create_person(session)))
    staff = await create_person(session, role=Role.STAFF)
    await participation.answer_proposal(session, staff, second, ProposalStatus.ACCEPTED, "Oui.")
    await session.commit()
    assert places
    return process


async def test_processes(client: httpx.AsyncClient, process: Process) -> None:
    found = (await client.get("/api/participation/processes", headers={"Accept-Language": "en"})).json()
    assert [p["slug"] for p in found] == [process.slug]
    assert found[0]["title"] == "Ideas for our neighbourhoods"
    assert found[0]["active_phase"]["kind"] == "proposals" and found[0]["proposal_count"] == 3
    one = (await client.get(f"/api/participation/processes/{process.id}")).json()
    assert one["title"] == "Des idées pour nos quartiers" and len(one["phases"]) == 3
    missing = await client.get("/api/participation/processes/999999")
    assert missing.status_code == 404 and missing.json()["error"]["status"] == 404


async def test_proposals_filtered_sorted_and_paginated(client: httpx.AsyncClient, process: Process) -> None:
    page = (await client.get("/api/participation/proposals", params={"process": process.id, "limit": 2})).json()
    assert page["total"] == 3 and len(page["proposals"]) == 2
    assert page["proposals"][0]["title"] == "Une fête de quartier"
    assert page["proposals"][0]["author"] == "Camille"
    assert "autrice@example.org" not in str(page)
    top = (await client.get("/api/participation/proposals", params={"sort": "supports"})).json()
    assert top["proposals"][0]["title"] == "Un marché le dimanche" and top["proposals"][0]["support_count"] == 1
    accepted = (await client.get("/api/participation/proposals", params={"status": "accepted"})).json()
    assert [p["status"] for p in accepted["proposals"]] == ["accepted"]
    words = (await client.get("/api/participation/proposals", params={"q": "arbres"})).json()
    assert [p["title"] for p in words["proposals"]] == ["Des arbres rue Oberkampf"]
    bad = await client.get("/api/participation/proposals", params={"status": "nonsense"})
    assert bad.status_code == 400
    box = await client.get("/api/participation/proposals", params={"bbox": "2.3,48.8"})
    assert box.status_code == 400 and "bbox" in box.json()["error"]["message"]


async def test_geojson_and_map(client: httpx.AsyncClient, process: Process) -> None:
    response = await client.get("/api/participation/proposals.geojson", params={"process": process.id})
    assert response.headers["content-type"].startswith("application/geo+json")
    collection = response.json()
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == 2
    feature = collection["features"][0]
    assert feature["geometry"]["type"] == "Point" and len(feature["geometry"]["coordinates"]) == 2
    cells = (await client.get("/api/participation/map", params={"zoom": 11, "process": process.id})).json()
    assert cells["kind"] == "cells" and sum(c["count"] for c in cells["cells"]) == 2
    points = (await client.get("/api/participation/map", params={"zoom": 17, "status": "accepted"})).json()
    assert [(p["status"], p["supports"]) for p in points["points"]] == [("accepted", 1)]


async def test_openapi_documents_the_api(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in ("processes", "processes/{process_id}", "proposals", "proposals.geojson", "map"):
        assert f"/api/participation/{path}" in paths
    assert "/participation" not in paths
