"""Admission control: past its bounded slots and bounded wait, an expensive request is refused with a 503 and
`Retry-After` in the format of the API asked, while /healthz, static files and writes pass straight through."""

from __future__ import annotations

import asyncio
from xml.etree import ElementTree

import httpx
import pytest
from fastapi import FastAPI

from citoyen.web.admission import Busy, Gate
from tests.conftest import csrf_token


async def fill(gate: Gate) -> None:
    """Take every slot of the gate, as that many requests in flight would."""
    while gate.in_flight < gate.limit:
        await gate.enter()


@pytest.fixture
async def full(app: FastAPI) -> Gate:
    """The process's gate for pages and APIs, every slot taken and no waiting allowed."""
    gate: Gate = app.state.admission.expensive
    gate.wait_seconds = 0
    await fill(gate)
    return gate


def assert_busy(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) >= 1


async def test_a_page_past_the_slots_is_refused_with_the_busy_page(client: httpx.AsyncClient, full: Gate) -> None:
    response = await client.get("/reports", headers={"Accept-Language": "en"})
    assert_busy(response)
    assert response.headers["content-type"].startswith("text/html")
    assert "The server is busy" in response.text
    french = await client.get("/reports", headers={"Accept-Language": "fr"})
    assert_busy(french)
    assert "Le serveur est occupé" in french.text


async def test_the_json_api_past_the_slots_answers_its_error_shape(client: httpx.AsyncClient, full: Gate) -> None:
    response = await client.get("/api/reports", params={"q": "trottoir"})
    assert_busy(response)
    error = response.json()["error"]
    assert error["status"] == 503 and "busy" in error["message"]


async def test_open311_past_the_slots_answers_its_error_list_in_json_and_xml(
    client: httpx.AsyncClient, full: Gate
) -> None:
    response = await client.get("/open311/v2/requests.json")
    assert_busy(response)
    [error] = response.json()
    assert error["code"] == 503 and "busy" in error["description"]
    xml = await client.get("/open311/v2/requests.xml")
    assert_busy(xml)
    root = ElementTree.fromstring(xml.content)  # noqa: S314 (our own answer, not untrusted input)
    assert root.tag == "errors" and root.findtext("error/code") == "503"


async def test_healthz_static_files_and_writes_pass_while_every_slot_is_taken(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    token = await csrf_token(client)
    gates = app.state.admission
    for gate in (gates.expensive, gates.sta_reads):
        gate.wait_seconds = 0
        await fill(gate)
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/static/citoyen.css")).status_code == 200
    switched = await client.post("/language", data={"locale": "en", "next": "/reports", "csrf_token": token})
    assert switched.status_code == 303 and switched.headers["location"] == "/reports"
    assert_busy(await client.get("/reports"))


async def test_a_request_waits_for_a_slot_and_is_served_when_one_comes_free(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    gate: Gate = app.state.admission.expensive
    gate.wait_seconds = 60
    await fill(gate)
    waiting = asyncio.create_task(client.get("/api/reports"))
    while gate.waiting == 0:
        assert not waiting.done(), waiting.result().text
        await asyncio.sleep(0.01)
    gate.leave()
    response = await waiting
    assert response.status_code == 200, response.text
    assert gate.in_flight == gate.limit - 1 and gate.waiting == 0


async def test_the_wait_for_a_slot_is_bounded(client: httpx.AsyncClient, app: FastAPI) -> None:
    gate: Gate = app.state.admission.expensive
    gate.wait_seconds = 0.05
    await fill(gate)
    assert_busy(await client.get("/api/reports"))
    assert gate.waiting == 0 and gate.in_flight == gate.limit


async def test_no_more_than_the_allowed_number_of_requests_wait(client: httpx.AsyncClient, app: FastAPI) -> None:
    gate: Gate = app.state.admission.expensive
    gate.wait_seconds, gate.max_waiting = 60, 1
    await fill(gate)
    first = asyncio.create_task(client.get("/api/reports"))
    while gate.waiting == 0:  # noqa: ASYNC110 (the gate has no event to wait on: it is what is tested)
        await asyncio.sleep(0.01)
    assert_busy(await client.get("/api/reports"))  # the queue is full: refused at once
    gate.leave()
    assert (await first).status_code == 200


async def test_a_slot_handed_to_a_waiter_that_left_goes_to_the_next_one() -> None:
    gate = Gate(limit=1, max_waiting=2, wait_seconds=60)
    await gate.enter()
    gone = asyncio.create_task(gate.enter())
    second = asyncio.create_task(gate.enter())
    while gate.waiting < 2:  # noqa: ASYNC110
        await asyncio.sleep(0)
    gate.leave()  # hands the slot to the first waiter, which leaves before it runs again
    gone.cancel()
    await second
    assert gone.cancelled() and gate.in_flight == 1 and gate.waiting == 0
    gate.leave()
    assert gate.in_flight == 0


async def test_a_gate_refuses_at_once_when_no_wait_is_allowed() -> None:
    gate = Gate(limit=2, max_waiting=10, wait_seconds=0)
    await gate.enter()
    await gate.enter()
    with pytest.raises(Busy):
        await gate.enter()
    gate.leave()
    await gate.enter()
    assert gate.in_flight == 2
