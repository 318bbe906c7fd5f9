"""Numbers and text the database cannot hold, sent to every edge outside SensorThings (JSON API, Open311,
pages and their forms): each gets a 4xx in the edge's own format, the same on SQLite and PostgreSQL,
and nothing is stored."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.participation.debate.models import Comment
from citoyen.participation.models import Process, Proposal
from citoyen.people import service as people
from citoyen.people.models import Role
from citoyen.reports.models import Report
from tests.conftest import csrf_token
from tests.factories import create_person, log_in
from tests.participation.helpers import create_process, submit
from tests.reports.helpers import WEST, create_reports_world

BEYOND_32_BITS = 2**31
BEYOND_64_BITS = 2**63
HUGE = 10**30

PUBLIC_ID_PATHS = [
    "/api/reports/{}",
    "/api/participation/processes/{}",
    "/api/participation/proposals/{}",
    "/api/participation/proposals/{}/comments",
    "/api/participation/processes/{}/comments",
    "/reports/{}",
    "/reports/{}/photos/1",
    "/participation/proposals/{}",
    "/participation/proposals/{}/comments",
    "/participation/processes/{}/comments",
    "/participation/comments/{}",
    "/participation/images/{}",
    "/participation/budgets/{}",
    "/participation/budgets/{}/results",
    "/participation/surveys/{}",
    "/neighbourhoods/{}/panel",
]
ADMIN_ID_PATHS = [
    "/staff/reports/{}",
    "/staff/participation/proposals/{}",
    "/admin/reports/categories/{}",
    "/admin/participation/processes/{}",
    "/admin/participation/budgets/{}",
]


@pytest.fixture
async def world(session: AsyncSession) -> Process:
    await create_reports_world(session)
    process = await create_process(session)
    await session.commit()
    return process


async def count(session: AsyncSession, model: type) -> int:
    session.expire_all()
    return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


@pytest.mark.parametrize("number", [BEYOND_32_BITS, BEYOND_64_BITS, HUGE])
@pytest.mark.parametrize("path", PUBLIC_ID_PATHS)
async def test_an_id_beyond_its_column_is_not_found_on_every_api_and_page(
    client: httpx.AsyncClient, path: str, number: int
) -> None:
    response = await client.get(path.format(number))
    assert response.status_code == 404, response.text
    if path.startswith("/api/"):
        assert response.json()["error"]["status"] == 404
    else:
        assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("path", ADMIN_ID_PATHS)
async def test_an_id_beyond_its_column_is_not_found_on_staff_and_admin_pages(
    client: httpx.AsyncClient, session: AsyncSession, path: str
) -> None:
    admin = await create_person(session, role=Role.ADMIN)
    await session.commit()
    await log_in(client, admin.email)
    for number in (BEYOND_32_BITS, BEYOND_64_BITS):
        response = await client.get(path.format(number))
        assert response.status_code == 404, (number, response.text)


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_an_open311_request_id_beyond_the_column_is_the_specs_not_found(
    client: httpx.AsyncClient, fmt: str
) -> None:
    response = await client.get(f"/open311/v2/requests/{BEYOND_32_BITS}.{fmt}")
    assert response.status_code == 404
    if fmt == "json":
        assert response.json()[0]["code"] == 404
    else:
        assert ET.fromstring(response.content).find("error/code").text == "404"  # type: ignore[union-attr]  # noqa: S314


@pytest.mark.parametrize(
    "query",
    [
        "/api/reports?neighbourhood=-6.9e30",
        f"/api/reports?neighbourhood={BEYOND_32_BITS}",
        "/api/reports?offset=9e36",
        f"/api/reports?offset={BEYOND_64_BITS}",
        "/api/reports?q=nid%00de-poule",
        "/api/reports/map?zoom=3&category=%00",
        f"/api/participation/proposals?category={BEYOND_64_BITS}",
        "/api/participation/proposals?category=1.2e23",
        f"/api/participation/proposals?process={HUGE}",
        "/api/participation/proposals?q=%00",
        f"/api/participation/proposals.geojson?offset={HUGE}",
        f"/api/participation/map?zoom=3&neighbourhood={BEYOND_32_BITS}",
        f"/api/participation/proposals/1/comments?page={HUGE}",
    ],
)
async def test_a_filter_or_offset_beyond_its_range_is_a_bad_request_in_the_api_format(
    client: httpx.AsyncClient, world: Process, query: str
) -> None:
    response = await client.get(query)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["status"] == 400 and error["problems"]


async def test_pages_ignore_filters_beyond_the_columns_and_refuse_a_page_beyond_any_listing(
    client: httpx.AsyncClient, world: Process
) -> None:
    huge = {"neighbourhood": str(HUGE), "category": str(BEYOND_64_BITS)}
    assert (await client.get("/reports", params=huge)).status_code == 200
    process_page = f"/participation/processes/{world.slug}"
    found = await client.get(process_page, params={**huge, "sort": "random", "seed": str(HUGE), "q": "a\x00b"})
    assert found.status_code in (200, 303)
    for path in ("/reports", process_page, f"/participation/processes/{world.id}/comments"):
        response = await client.get(path, params={"page": str(HUGE)})
        assert response.status_code == 400, path
        assert response.headers["content-type"].startswith("text/html")


async def test_forms_refuse_numbers_beyond_the_columns_and_store_nothing(
    client: httpx.AsyncClient, session: AsyncSession, world: Process
) -> None:
    admin = await create_person(session, role=Role.ADMIN)
    await session.commit()
    await log_in(client, admin.email)
    token = await csrf_token(client, "/account")
    for path, form in [
        ("/participation/follows", {"kind": "proposal", "target_id": str(HUGE), "action": "follow"}),
        ("/participation/flags", {"kind": "proposal", "target_id": str(BEYOND_64_BITS), "reason": "spam"}),
        (
            f"/participation/processes/{world.id}/comments",
            {"body": "Une réponse", "parent_id": str(BEYOND_64_BITS)},
        ),
    ]:
        response = await client.post(path, data={**form, "csrf_token": token})
        assert response.status_code < 500, (path, response.text)
    edit = await client.post(
        f"/admin/participation/processes/{world.id}",
        data={
            "csrf_token": token,
            "title": world.title,
            "starts_on": "2026-01-01",
            "ends_on": "2026-12-31",
            "edit_window": str(HUGE),
            "phase_rows": str(HUGE),
        },
        headers={"Accept-Language": "en"},
    )
    assert edit.status_code == 400
    assert "The editing window must be a whole number of minutes." in edit.text


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_a_nul_byte_in_an_open311_description_is_the_specs_bad_request(
    client: httpx.AsyncClient, session: AsyncSession, world: Process, fmt: str
) -> None:
    _token, api_key = await people.create_api_token(session, "Mobile app", ["open311"])
    await session.commit()
    form = {
        "api_key": api_key,
        "service_code": "streetlight",
        "lat": str(WEST[1]),
        "long": str(WEST[0]),
        "description": "Lampadaire\x00éteint",
    }
    before = await count(session, Report)
    response = await client.post(f"/open311/v2/requests.{fmt}", data=form)
    assert response.status_code == 400
    if fmt == "json":
        assert "control characters" in response.json()[0]["description"]
    else:
        assert "control characters" in response.text and response.text.startswith("<?xml")
    assert await count(session, Report) == before


async def test_a_report_form_with_a_nul_byte_comes_back_as_typed_and_stores_nothing(
    client: httpx.AsyncClient, session: AsyncSession, world: Process
) -> None:
    token = await csrf_token(client, "/reports/new")
    form = {"category": "streetlight", "lon": str(WEST[0]), "lat": str(WEST[1]), "description": "Lampadaire\x00éteint"}
    before = await count(session, Report)
    response = await client.post(
        "/reports",
        data={**form, "csrf_token": token},
        files={"photos": ("", b"", "application/octet-stream")},  # multipart, as the page sends it
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 400
    assert "control characters" in response.text and "Lampadaireéteint" in response.text
    assert await count(session, Report) == before


async def test_a_lone_surrogate_sent_in_a_report_form_never_reaches_storage_as_one(
    client: httpx.AsyncClient, session: AsyncSession, world: Process
) -> None:
    token = await csrf_token(client, "/reports/new")
    fields = [
        ("csrf_token", token.encode()),
        ("category", b"streetlight"),
        ("lon", str(WEST[0]).encode()),
        ("lat", str(WEST[1]).encode()),
        ("description", b"Lampadaire \xed\xa0\x80 eteint"),  # a UTF-16 surrogate written as UTF-8 bytes
    ]
    body = b"".join(
        b'--XX\r\nContent-Disposition: form-data; name="' + name.encode() + b'"\r\n\r\n' + value + b"\r\n"
        for name, value in fields
    )
    response = await client.post(
        "/reports", content=body + b"--XX--\r\n", headers={"Content-Type": "multipart/form-data; boundary=XX"}
    )
    assert response.status_code in (303, 400), response.text
    session.expire_all()
    for (description,) in await session.execute(select(Report.description)):
        description.encode("utf-8")  # the bytes were decoded with replacement: no surrogate is kept


async def test_proposal_and_comment_forms_with_a_nul_byte_come_back_as_typed(
    client: httpx.AsyncClient, session: AsyncSession, world: Process
) -> None:
    author = await create_person(session)
    proposal = await submit(session, world, author)
    await session.commit()
    proposal_id, title, body, slug = proposal.id, proposal.title, proposal.body, world.slug
    await log_in(client, author.email)
    token = await csrf_token(client, f"/participation/processes/{slug}/proposals/new")
    proposals, comments = await count(session, Proposal), await count(session, Comment)
    headers = {"Accept-Language": "en"}
    new = await client.post(
        f"/participation/processes/{slug}/proposals",
        data={"csrf_token": token, "title": "Des bancs\x00 au square", "body": "Installer des bancs."},
        headers=headers,
    )
    edited = await client.post(
        f"/participation/proposals/{proposal_id}/edit",
        data={"csrf_token": token, "title": title, "body": "Nouveau\x00texte"},
        headers=headers,
    )
    comment = await client.post(
        f"/participation/proposals/{proposal_id}/comments",
        data={"csrf_token": token, "body": "Bonne\x00idée"},
        headers=headers,
    )
    for response, typed in ((new, "Des bancs au square"), (edited, "Nouveautexte"), (comment, "Bonneidée")):
        assert response.status_code == 400, response.text
        assert "control characters" in response.text and typed in response.text
    assert (await count(session, Proposal), await count(session, Comment)) == (proposals, comments)
    session.expire_all()
    assert (await session.get(Proposal, proposal_id)).body == body  # type: ignore[union-attr]


async def test_a_deeply_nested_json_body_to_the_json_api_is_refused_without_a_server_error(
    client: httpx.AsyncClient,
) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    for path in ("/api/reports", "/api/participation/proposals", "/api/reports/1"):
        response = await client.post(path, content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 405
        assert response.json()["error"]["status"] == 405
