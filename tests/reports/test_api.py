from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.reports import service as reports
from tests.reports.helpers import EAST, WEST, ReportsWorld, create_reports_world, file_report

# The whole test territory, and a box around the west square only.
CITY_BOX = "2.29,48.84,2.33,48.87"
WEST_BOX = "2.300,48.850,2.309,48.860"


@pytest.fixture
async def world(session: AsyncSession) -> ReportsWorld:
    return await create_reports_world(session)


async def test_categories_come_with_their_questions_in_the_request_language(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld
) -> None:
    await session.commit()
    english = (await client.get("/api/reports/categories", headers={"Accept-Language": "en"})).json()
    pothole = next(category for category in english if category["code"] == "pothole")
    assert pothole["name"] == "Pothole"
    size = pothole["questions"][0]
    assert size["code"] == "size" and size["datatype"] == "singlevaluelist" and size["required"] is True
    assert size["description"] == "Size of the hole"
    assert size["values"] == [{"key": "small", "name": "Small"}, {"key": "large", "name": "Large"}]
    french = (await client.get("/api/reports/categories", headers={"Accept-Language": "fr"})).json()
    pothole = next(category for category in french if category["code"] == "pothole")
    assert pothole["name"] == "Nid-de-poule" and pothole["questions"][0]["values"][0]["name"] == "Petit"
    # A question without an English label falls back on the French one.
    assert next(c for c in english if c["code"] == "pothole")["questions"][1]["description"] == "Dangers"


async def test_the_map_layer_is_cells_when_far_and_points_when_close(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld
) -> None:
    for _ in range(3):
        await file_report(session, world, WEST)
    await file_report(session, world, EAST, "pothole")
    await session.commit()

    far = (await client.get("/api/reports/map", params={"zoom": 11, "bbox": CITY_BOX})).json()
    assert far["kind"] == "cells" and far["resolution"] == 6
    assert sum(cell["count"] for cell in far["cells"]) == 4
    assert {"cell", "count", "lon", "lat"} <= set(far["cells"][0])
    middle = (await client.get("/api/reports/map", params={"zoom": 14, "bbox": CITY_BOX})).json()
    assert middle["kind"] == "cells" and middle["resolution"] == 8
    assert sum(cell["count"] for cell in middle["cells"]) == 4
    fractional = (await client.get("/api/reports/map", params={"zoom": 15.75, "bbox": CITY_BOX})).json()
    assert fractional["kind"] == "cells" and fractional["resolution"] == 8  # zooms are rounded down
    close = (await client.get("/api/reports/map", params={"zoom": 17, "bbox": CITY_BOX})).json()
    assert close["kind"] == "points" and len(close["points"]) == 4
    assert {"id", "lon", "lat", "status", "category_id"} == set(close["points"][0])


async def test_the_map_layer_filters(client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld) -> None:
    west = await file_report(session, world, WEST)
    old = await file_report(session, world, WEST)
    old.requested_at = utcnow() - timedelta(days=40)
    east = await file_report(session, world, EAST, "pothole")
    await session.commit()

    async def ids(**params: Any) -> set[int]:
        response = await client.get("/api/reports/map", params={"zoom": 18, **params})
        assert response.status_code == 200, response.text
        return {point["id"] for point in response.json()["points"]}

    assert await ids() == {west.id, old.id, east.id}
    assert await ids(bbox=WEST_BOX) == {west.id, old.id}
    assert await ids(category="pothole") == {east.id}
    assert await ids(category=["pothole", "streetlight"]) == {west.id, old.id, east.id}
    assert await ids(status="closed") == set()
    assert await ids(status=["open", "closed"]) == {west.id, old.id, east.id}
    assert await ids(neighbourhood=east.neighbourhood_id) == {east.id}
    since = (utcnow() - timedelta(days=10)).date().isoformat()
    assert await ids(start=since) == {west.id, east.id}
    assert await ids(end=since) == {old.id}
    assert await ids(start=since + "T00:00:00Z", category="streetlight") == {west.id}
    # An offset whose "+" was not URL-encoded arrives as a space.
    assert await ids(start=since + "T02:00:00 02:00") == {west.id, east.id}


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"zoom": "far"},
        {"zoom": 99},
        {"zoom": 12, "bbox": "2.3,48.8,2.4"},
        {"zoom": 12, "bbox": "2.4,48.8,2.3,48.9"},
        {"zoom": 12, "bbox": "a,b,c,d"},
        {"zoom": 12, "bbox": "2.3,48.8,200,48.9"},
        {"zoom": 12, "status": "lost"},
        {"zoom": 12, "neighbourhood": "west"},
        {"zoom": 12, "start": "yesterday"},
        {"zoom": 12, "start": "2026-02-01", "end": "2026-01-01"},
    ],
)
async def test_bad_map_parameters_are_a_400_json_error(client: httpx.AsyncClient, params: dict[str, Any]) -> None:
    response = await client.get("/api/reports/map", params=params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == 400 and error["message"]


async def test_duplicates_are_nearby_unclosed_reports_of_the_same_category(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld
) -> None:
    near = await file_report(session, world, WEST)
    await reports.support(session, near, "session:someone")
    await file_report(session, world, (WEST[0] + 0.001, WEST[1]))  # about 73 m away
    await file_report(session, world, WEST, "pothole")
    await session.commit()
    response = await client.get(
        "/api/reports/duplicates", params={"category": "streetlight", "lon": WEST[0] + 0.0003, "lat": WEST[1]}
    )
    assert response.status_code == 200
    found = response.json()
    assert [item["id"] for item in found] == [near.id]
    assert 20 < found[0]["distance_m"] < 25 and found[0]["supports"] == 1
    assert found[0]["url"] == f"/reports/{near.id}" and found[0]["status"] == "open"

    unknown = await client.get("/api/reports/duplicates", params={"category": "graffiti", "lon": 2.3, "lat": 48.8})
    assert unknown.status_code == 400 and "graffiti" in unknown.json()["error"]["message"]
    missing = await client.get("/api/reports/duplicates", params={"category": "streetlight", "lon": 2.3})
    assert missing.status_code == 400


async def test_the_list_filters_sorts_pages_and_never_says_who_reported(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld
) -> None:
    first = await file_report(session, world, WEST, email="jeanne.reporter@example.org", description="Lampe éteinte")
    second = await file_report(session, world, WEST, first_name="Jeanne", last_name="Reporter")
    pothole = await file_report(session, world, EAST, "pothole", description="Trou profond")
    await reports.support(session, first, "session:a")
    await session.commit()

    everything = (await client.get("/api/reports")).json()
    assert everything["total"] == 3 and everything["limit"] == 50 and everything["offset"] == 0
    assert [item["id"] for item in everything["reports"]] == [pothole.id, second.id, first.id]
    supported = (await client.get("/api/reports", params={"sort": "supports", "limit": 1})).json()
    assert supported["total"] == 3 and [item["id"] for item in supported["reports"]] == [first.id]
    second_page = (await client.get("/api/reports", params={"limit": 2, "offset": 2})).json()
    assert [item["id"] for item in second_page["reports"]] == [first.id]
    potholes = (await client.get("/api/reports", params={"category": "pothole"})).json()
    assert [item["id"] for item in potholes["reports"]] == [pothole.id]
    assert potholes["reports"][0]["answers"] == {"size": "small"}
    assert potholes["reports"][0]["category_name"] == "Nid-de-poule"
    text = (await client.get("/api/reports", params={"q": "profond"})).json()
    assert [item["id"] for item in text["reports"]] == [pothole.id]
    assert (await client.get("/api/reports", params={"limit": 0})).status_code == 400
    assert (await client.get("/api/reports", params={"sort": "random"})).status_code == 400

    raw = (await client.get("/api/reports")).text + (await client.get(f"/api/reports/{first.id}")).text
    assert "jeanne" not in raw.lower() and "reporter" not in raw.lower()
    assert first.token not in raw


async def test_one_report_and_an_unknown_one(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld
) -> None:
    report = await file_report(session, world, EAST, "pothole", email="someone@example.org")
    await session.commit()
    found = (await client.get(f"/api/reports/{report.id}")).json()
    assert found["id"] == report.id and found["category"] == "pothole" and found["status"] == "open"
    assert found["photos"] == [] and found["url"] == f"/reports/{report.id}"
    assert not {"email", "token", "person_id", "department_id"} & set(found)
    missing = await client.get(f"/api/reports/{report.id + 1000}")
    assert missing.status_code == 404 and missing.json()["error"]["status"] == 404


async def test_the_api_is_documented(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    for path in ("/api/reports/categories", "/api/reports/map", "/api/reports/duplicates", "/api/reports"):
        assert path in schema["paths"], path
    assert "/api/reports/{report_id}" in schema["paths"]
    assert {"MapPoints", "MapCells", "ReportOut", "CategoryOut"} <= set(schema["components"]["schemas"])
