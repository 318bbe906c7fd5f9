"""Batch requests (18-088 §11.2): multipart/mixed with change sets and Content-ID references, the JSON batch
with atomicity groups and dependsOn, all-or-nothing change sets, and the batch's own limits."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from fastapi import FastAPI

from tests.sensing.helpers import STA, bearer, station

SENSOR = {"name": "Anemometer", "description": "Cup", "encodingType": "text/html", "metadata": "https://example.org/a"}
PROPERTY = {"name": "Wind speed", "definition": "https://example.org/wind", "description": "Wind speed"}


def _datastream(thing: Any) -> dict[str, Any]:
    return {
        "name": "Wind",
        "description": "Wind speed",
        "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
        "unitOfMeasurement": {"name": "metre per second", "symbol": "m/s", "definition": "ucum:m/s"},
        "Thing": {"@iot.id": thing},
        "Sensor": SENSOR,
        "ObservedProperty": PROPERTY,
    }


def _http(method: str, url: str, body: Any = None, content_id: str | None = None) -> str:
    head = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
    if content_id is not None:
        head += f"Content-ID: {content_id}\r\n"
    request = f"{method} {url} HTTP/1.1\r\nHost: testserver\r\n"
    if body is None:
        return f"{head}\r\n{request}\r\n"
    return f"{head}\r\n{request}Content-Type: application/json\r\n\r\n{json.dumps(body)}"


def _multipart(boundary: str, parts: list[str]) -> str:
    return "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n"


def _changeset(boundary: str, parts: list[str]) -> str:
    return f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n" + _multipart(boundary, parts)


async def _send(client: httpx.AsyncClient, token: str, parts: list[str], **headers: str) -> list[tuple[int, Any]]:
    """Post a multipart batch; each answered request's (status, JSON body), change sets flattened."""
    response = await client.post(
        f"{STA}/$batch",
        content=_multipart("batch_1", parts).encode(),
        headers={**bearer(token), "Content-Type": "multipart/mixed; boundary=batch_1", **headers},
    )
    assert response.status_code == 200, response.text
    found = re.findall(r"HTTP/1\.1 (\d{3}) [^\r\n]*\r\n(.*?)\r\n\r\n(.*?)\r\n--", response.text, re.S)
    return [(int(status), json.loads(body) if body.strip() else None) for status, _headers, body in found]


async def _count(client: httpx.AsyncClient, entity_set: str) -> int:
    response = await client.get(f"{STA}/{entity_set}", params={"$count": "true", "$top": "0"})
    count: int = response.json()["@iot.count"]
    return count


async def test_multipart_change_set_links_by_content_id_and_reads_what_it_made(
    client: httpx.AsyncClient, token: str
) -> None:
    thing = {**station("Weather mast"), "Datastreams": []}
    changes = _changeset(
        "changeset_1",
        [
            _http("POST", "v1.1/Things", thing, content_id="1"),
            _http("POST", "$1/Datastreams", {k: v for k, v in _datastream(0).items() if k != "Thing"}, content_id="2"),
            _http("POST", f"{STA}/Observations", {"result": 4.5, "Datastream": {"@iot.id": "$2"}}, content_id="3"),
        ],
    )
    answers = await _send(client, token, [changes, _http("GET", "Things?$expand=Datastreams/Observations")])
    assert [status for status, _ in answers] == [201, 201, 201, 200], answers
    created_thing, datastream, observation = (body for _, body in answers[:3])
    assert datastream["@iot.selfLink"].startswith("http://testserver/sta/v1.1/Datastreams(")
    listed = answers[3][1]["value"]
    assert [item["@iot.id"] for item in listed] == [created_thing["@iot.id"]]
    assert listed[0]["Datastreams"][0]["Observations"][0]["result"] == observation["result"] == 4.5


async def test_a_failing_part_rolls_back_its_change_set_only(client: httpx.AsyncClient, token: str) -> None:
    good = {"name": "Kept", "description": "Alone", "properties": {"citoyen": {"access": "public"}}}
    failing = _changeset(
        "changeset_2",
        [
            _http("POST", "Things", {**good, "name": "Rolled back"}, content_id="a"),
            _http("POST", "Things", {"description": "no name"}, content_id="b"),
        ],
    )
    answers = await _send(client, token, [_http("POST", "Things", good), failing, _http("POST", "Things", good)])
    # The change set answers once, with its failure; the batch stops there without continue-on-error.
    assert [status for status, _ in answers] == [201, 400]
    assert "name" in answers[1][1]["message"]
    assert await _count(client, "Things") == 1

    again = await _send(client, token, [failing, _http("POST", "Things", good)], Prefer="odata.continue-on-error")
    assert [status for status, _ in again] == [400, 201]
    assert await _count(client, "Things") == 2


async def test_json_batch_with_atomicity_group_and_depends_on(client: httpx.AsyncClient, token: str) -> None:
    thing = station("Mast")
    requests = [
        {"id": "t", "atomicityGroup": "g", "method": "post", "url": "Things", "body": thing},
        {"id": "d", "atomicityGroup": "g", "method": "post", "url": "Datastreams", "body": _datastream("$t")},
        {"id": "r", "dependsOn": ["g"], "method": "get", "url": "$t/Datastreams?$select=name&$orderby=name"},
        {"id": "n", "method": "get", "url": "$t/name/$value"},
    ]
    response = await client.post(f"{STA}/$batch", json={"requests": requests}, headers=bearer(token))
    assert response.status_code == 200, response.text
    answers = response.json()["responses"]
    assert [(item["id"], item["status"]) for item in answers] == [("t", 201), ("d", 201), ("r", 200), ("n", 200)]
    assert answers[0]["atomicityGroup"] == "g"
    assert answers[0]["headers"]["location"] == answers[0]["body"]["@iot.selfLink"]
    names = [item["name"] for item in answers[2]["body"]["value"]]
    assert names == sorted(["Mast NO2", "Mast temperature", "Wind"])
    assert answers[3]["body"] == "Mast"


async def test_json_atomicity_group_fails_whole_and_dependents_answer_424(
    client: httpx.AsyncClient, token: str
) -> None:
    requests = [
        {"id": "1", "atomicityGroup": "g", "method": "post", "url": "Things", "body": station("Gone")},
        {"id": "2", "atomicityGroup": "g", "method": "post", "url": "Datastreams", "body": _datastream(999_999)},
        {"id": "3", "dependsOn": ["1"], "method": "patch", "url": "$1", "body": {"name": "x"}},
        {"id": "4", "method": "get", "url": "Things"},
    ]
    headers = {**bearer(token), "Prefer": "continue-on-error"}
    response = await client.post(f"{STA}/$batch", json={"requests": requests}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["preference-applied"] == "continue-on-error"
    statuses = [(item["id"], item["status"]) for item in response.json()["responses"]]
    assert statuses == [("1", 424), ("2", 400), ("3", 424), ("4", 200)]
    assert response.json()["responses"][3]["body"]["value"] == []
    assert await _count(client, "Datastreams") == 0


async def test_malformed_or_oversized_batches_are_refused_whole(
    app: FastAPI, client: httpx.AsyncClient, token: str
) -> None:
    multipart = {**bearer(token), "Content-Type": "multipart/mixed; boundary=b"}
    unclosed = "--b\r\n" + _http("POST", "Things", station())
    cases: list[tuple[dict[str, str], bytes, int, str]] = [
        (multipart, unclosed.encode(), 400, "closing delimiter"),
        ({**bearer(token), "Content-Type": "multipart/mixed"}, b"", 400, "boundary"),
        (multipart, _multipart("b", ["Content-Type: text/plain\r\n\r\nhello"]).encode(), 400, "application/http"),
        (multipart, _multipart("b", [_http("FETCH", "Things")]).encode(), 400, "method FETCH"),
        ({**bearer(token), "Content-Type": "text/plain"}, b"x", 415, "multipart/mixed"),
        (bearer(token) | {"Content-Type": "application/json"}, b'{"requests": {}}', 400, '"requests" array'),
        (
            bearer(token) | {"Content-Type": "application/json"},
            json.dumps({"requests": [{"id": "1", "method": "get", "url": "Things", "dependsOn": ["2"]}]}).encode(),
            400,
            "no earlier request",
        ),
        (
            {"Content-Type": "multipart/mixed; boundary=b"},
            _multipart("b", [_http("DELETE", "Things(1)")]).encode(),
            401,
            "token",
        ),
    ]
    for headers, body, status, message in cases:
        response = await client.post(f"{STA}/$batch", content=body, headers=headers)
        assert response.status_code == status, (body, response.text)
        assert message in response.json()["message"], response.text

    settings = app.state.settings
    old = settings.sta_batch_max_requests, settings.sta_batch_max_bytes
    settings.sta_batch_max_requests, settings.sta_batch_max_bytes = 2, 1_000
    try:
        three = [{"id": str(n), "method": "get", "url": "Things"} for n in range(3)]
        response = await client.post(f"{STA}/$batch", json={"requests": three}, headers=bearer(token))
        assert response.status_code == 400 and "at most 2 requests" in response.json()["message"]
        big = [{"id": "1", "method": "post", "url": "Things", "body": {"name": "x" * 2_000}}]
        response = await client.post(f"{STA}/$batch", json={"requests": big}, headers=bearer(token))
        assert response.status_code == 413, response.text
    finally:
        settings.sta_batch_max_requests, settings.sta_batch_max_bytes = old
    assert await _count(client, "Things") == 0
    root = (await client.get(f"{STA}/")).json()["serverSettings"]["conformance"]
    assert "http://www.opengis.net/spec/iot_sensing/1.1/req/batch-request/batch-request" in root


async def test_a_rolled_back_group_announces_nothing(app: FastAPI, client: httpx.AsyncClient, token: str) -> None:
    bus = app.state.sensing_events
    received: list[Any] = []

    async def listen(event: Any) -> None:
        received.append(event)

    bus.add_listener(listen)
    requests = [
        {"id": "1", "atomicityGroup": "g", "method": "post", "url": "Things", "body": station("Gone")},
        {"id": "2", "atomicityGroup": "g", "method": "post", "url": "Things", "body": {"name": "no description"}},
        {"id": "3", "method": "post", "url": "Things", "body": station("Kept")},
    ]
    headers = {**bearer(token), "Prefer": "continue-on-error"}
    response = await client.post(f"{STA}/$batch", json={"requests": requests}, headers=headers)
    assert [item["status"] for item in response.json()["responses"]] == [424, 400, 201]
    await bus.drain()
    bus.remove_listener(listen)
    things = [event.payload["name"] for event in received if event.entity_set == "Things" and event.kind == "create"]
    assert things == ["Kept"]


async def test_reads_need_no_token_but_a_write_does_and_nothing_is_stored(client: httpx.AsyncClient) -> None:
    reads = _multipart("batch_1", [_http("GET", "Things")]).encode()
    headers = {"Content-Type": "multipart/mixed; boundary=batch_1"}
    answered = await client.post(f"{STA}/$batch", content=reads, headers=headers)
    assert answered.status_code == 200 and "HTTP/1.1 200" in answered.text
    writes = _multipart("batch_1", [_http("POST", "Things", station("Uninvited"))]).encode()
    refused = await client.post(f"{STA}/$batch", content=writes, headers=headers)
    assert refused.status_code == 401, refused.text
    assert await _count(client, "Things") == 0
