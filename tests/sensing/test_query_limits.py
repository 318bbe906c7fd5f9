"""SensorThings reading is bounded: no GET can make the server build an unbounded answer or an unbounded parse.

Each limit is a setting (`sta_max_*`); beyond it the answer is a 400 in SensorThings' error format that names
the limit and its value, and nothing is built past the point where it is crossed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from citoyen.sensing.entities import ENTITY_SETS, Resolver
from citoyen.sensing.query import QueryError, QueryLimits, compile_filter, parse_expand, parse_filter
from citoyen.web.admission import Gate
from tests.sensing.helpers import STA, bearer, create_station, station


def refusal(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == 400 and body["type"] == "error"
    message: str = body["message"]
    return message


async def test_an_expand_deeper_than_the_limit_is_refused_naming_the_limit(client: httpx.AsyncClient) -> None:
    deep = "Datastreams/Thing/Datastreams/Thing/Datastreams/Thing/Datastreams/Thing"
    message = refusal(await client.get(f"{STA}/Things", params={"$expand": deep}))
    assert message.startswith("$expand: more than 4 navigation properties in one path")
    nested = "Datastreams($expand=Thing($expand=Datastreams($expand=Thing($expand=Locations))))"
    assert "more than 4 navigation properties" in refusal(await client.get(f"{STA}/Things", params={"$expand": nested}))


async def test_an_expand_at_the_depth_limit_is_served(client: httpx.AsyncClient, token: str) -> None:
    thing = await create_station(client, token)
    response = await client.get(
        f"{STA}/Things({thing['@iot.id']})", params={"$expand": "Datastreams/Thing/Datastreams/Sensor"}
    )
    assert response.status_code == 200, response.text
    datastreams = response.json()["Datastreams"]
    assert len(datastreams) == 2
    assert {d["Sensor"]["name"] for d in datastreams[0]["Thing"]["Datastreams"]} == {"NO2 analyser", "Thermometer"}


async def test_expanding_more_navigation_properties_than_the_limit_is_refused(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    app.state.settings.sta_max_expand_items = 3
    allowed = await client.get(f"{STA}/Things", params={"$expand": "Datastreams/Sensor,Locations"})
    assert allowed.status_code == 200, allowed.text
    # Repeats merge: Datastreams counts once.
    merged = await client.get(f"{STA}/Things", params={"$expand": "Datastreams/Sensor,Datastreams,Locations"})
    assert merged.status_code == 200, merged.text
    message = refusal(
        await client.get(f"{STA}/Things", params={"$expand": "Datastreams($expand=Sensor,ObservedProperty),Locations"})
    )
    assert message == "$expand: 4 navigation properties expanded, more than the 3 this server accepts"


async def test_an_answer_with_more_entities_than_the_limit_is_refused_counting_expanded_ones(
    client: httpx.AsyncClient, app: FastAPI, token: str
) -> None:
    for name in ("Station A", "Station B"):
        await create_station(client, token, name=name)
    # Two Things, each with two Datastreams and one Location: 2 + 4 + 2 = 8 entities.
    query = {"$filter": "startswith(name, 'Station ')", "$expand": "Datastreams,Locations"}
    app.state.settings.sta_max_entities = 8
    served = await client.get(f"{STA}/Things", params=query)
    assert served.status_code == 200, served.text
    assert sum(1 + len(t["Datastreams"]) + len(t["Locations"]) for t in served.json()["value"]) == 8
    app.state.settings.sta_max_entities = 7
    message = refusal(await client.get(f"{STA}/Things", params=query))
    assert message.startswith("the answer would hold more than 7 entities (top level and expanded together)")
    # A to-one expansion copies the shared Thing under each Datastream: each copy counts.
    app.state.settings.sta_max_entities = 3
    one_thing = {"$filter": "Thing/name eq 'Station A'", "$expand": "Thing"}
    assert "more than 3 entities" in refusal(await client.get(f"{STA}/Datastreams", params=one_thing))


async def test_an_answer_larger_than_the_byte_limit_is_refused(
    client: httpx.AsyncClient, app: FastAPI, token: str
) -> None:
    thing = await create_station(client, token)
    path = f"{STA}/Things({thing['@iot.id']})"
    size = len((await client.get(path, params={"$expand": "Datastreams"})).content)
    app.state.settings.sta_max_response_bytes = size
    assert (await client.get(path, params={"$expand": "Datastreams"})).status_code == 200
    app.state.settings.sta_max_response_bytes = size - 1
    message = refusal(await client.get(path, params={"$expand": "Datastreams"}))
    assert message.startswith(f"the answer would be larger than {size - 1:,} bytes")


async def test_a_filter_of_thousands_of_terms_is_refused_not_a_server_error(client: httpx.AsyncClient) -> None:
    huge = " or ".join(f"id eq {i}" for i in range(2000))  # as long as a URL gets
    message = refusal(await client.get(f"{STA}/Things", params={"$filter": huge}))
    assert message.startswith(f"$filter: the value is {len(huge)} characters long, more than the 8000 accepted")
    many = " or ".join(f"id eq {i}" for i in range(400))  # short enough, but 1,599 terms
    assert "more than 1000 terms" in refusal(await client.get(f"{STA}/Things", params={"$filter": many}))
    nested = " and ".join(["not (id eq 1)"] * 2) + " and " + "not " * 120 + "true"
    assert "nests more than 100 levels deep" in refusal(await client.get(f"{STA}/Things", params={"$filter": nested}))


async def test_a_long_chain_of_or_within_the_limits_is_served(client: httpx.AsyncClient, token: str) -> None:
    thing = await create_station(client, token)
    # 240 comparisons chained by 'or' are compiled as one flat OR: no recursion as deep as the chain.
    chain = " or ".join(f"id eq {thing['@iot.id'] + 1000 + i}" for i in range(239)) + f" or id eq {thing['@iot.id']}"
    response = await client.get(f"{STA}/Things", params={"$filter": chain})
    assert response.status_code == 200, response.text
    assert [t["@iot.id"] for t in response.json()["value"]] == [thing["@iot.id"]]


async def test_numbers_beyond_what_the_database_holds_are_refused(client: httpx.AsyncClient) -> None:
    assert "outside the 64-bit integer range" in refusal(
        await client.get(f"{STA}/Things", params={"$filter": "id eq 99999999999999999999"})
    )
    assert "is too large" in refusal(await client.get(f"{STA}/Observations", params={"$filter": "result gt 1e400"}))
    assert "is too large" in refusal(await client.get(f"{STA}/Things", params={"$skip": "9" * 40}))
    assert "is too large" in refusal(
        await client.get(f"{STA}/Things", params={"$filter": "properties/list[99999999999] eq 1"})
    )


async def test_every_option_is_bounded_in_length(client: httpx.AsyncClient) -> None:
    for option, value in (
        ("$select", ",".join(["name"] * 2000)),
        ("$orderby", ",".join(["name asc"] * 1000)),
        ("$expand", ",".join(["Locations"] * 1000)),
    ):
        message = refusal(await client.get(f"{STA}/Things", params={option: value}))
        assert message.startswith(f"{option}: the value is {len(value)} characters long"), message


def test_limits_are_checked_while_parsing_before_anything_walks_the_tree() -> None:
    limits = QueryLimits(option_length=1_000_000, expression_terms=100_000, expression_depth=50, expand_depth=3)
    # 20,000 segments would exhaust the recursion limit when the repeats are merged; the depth stops it first.
    with pytest.raises(QueryError, match="more than 3 navigation properties in one path"):
        parse_expand(",".join(["/".join(["Datastreams", "Thing"] * 5000)] * 2), limits)
    with pytest.raises(QueryError, match="nests more than 50 levels deep"):
        parse_filter("not " * 5000 + "true", limits)
    parse_filter(" or ".join(["id eq 1"] * 5000), limits)  # a chain is one level


async def test_a_reading_past_the_read_slots_waits_a_bounded_time_then_gets_a_503_error_object(
    client: httpx.AsyncClient, app: FastAPI, token: str
) -> None:
    slots: Gate = app.state.admission.sta_reads
    slots.wait_seconds = 0.05
    while slots.in_flight < slots.limit:
        await slots.enter()
    response = await client.get(f"{STA}/Observations", params={"$top": "10000"})
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) >= 1
    body = response.json()
    assert body["code"] == 503 and body["type"] == "error" and "busy" in body["message"]
    assert slots.waiting == 0
    # Neither the health probe nor a write waits behind the readings.
    assert (await client.get("/healthz")).status_code == 200
    created = await client.post(f"{STA}/Things", json=station(), headers=bearer(token))
    assert created.status_code == 201, created.text


async def test_a_reading_waits_for_a_read_slot_and_is_served_when_one_comes_free(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    slots: Gate = app.state.admission.sta_reads
    slots.wait_seconds = 60
    while slots.in_flight < slots.limit:
        await slots.enter()
    reading = asyncio.create_task(client.get(f"{STA}/Things"))
    while slots.waiting == 0:
        assert not reading.done(), reading.result().text
        await asyncio.sleep(0.01)
    slots.leave()
    response = await reading
    assert response.status_code == 200, response.text
    assert slots.in_flight == slots.limit - 1


async def test_a_filter_through_a_to_one_navigation_selects_the_same_observations_read_once(
    client: httpx.AsyncClient, token: str
) -> None:
    bastille = await create_station(client, token)
    nation = await create_station(client, token, name="Station Nation", lon=2.3958, lat=48.8483)
    for thing, values in ((bastille, [10, 60]), (nation, [20, 70])):
        body = [
            {
                "Datastream": {"@iot.id": thing["Datastreams"][0]["@iot.id"]},
                "components": ["phenomenonTime", "result"],
                "dataArray": [[f"2026-11-25T{hour:02d}:00:00Z", value] for hour, value in enumerate(values)],
            }
        ]
        assert (await client.post(f"{STA}/CreateObservations", json=body, headers=bearer(token))).status_code == 201

    async def results(condition: str) -> list[float]:
        response = await client.get(f"{STA}/Observations", params={"$filter": condition, "$orderby": "result"})
        assert response.status_code == 200, response.text
        return [observation["result"] for observation in response.json()["value"]]

    names = " or ".join(f"substringof('{word}', Datastream/Thing/name)" for word in ("Zut", "Bastille", "Lyon"))
    assert await results(names) == [10, 60]
    assert await results("not substringof('Bastille', Datastream/Thing/name)") == [20, 70]
    assert await results("substringof('Nation', Datastream/Thing/name) or result gt 50") == [20, 60, 70]
    assert await results("not (substringof('Bastille', Datastream/Thing/name) or result gt 50)") == [20]
    assert await results("not (not substringof('Nation', Datastream/Thing/name) and result lt 50)") == [20, 60, 70]
    both = "Datastream/Thing/name eq 'Station Nation' and Datastream/name eq 'Station Nation NO2'"
    assert await results(both) == [20, 70]
    assert await results("Datastream/Thing/name eq Datastream/name") == []

    # However many terms, the Things are read in one subquery, not one per Observation and term.
    chain_text = " or ".join(f"substringof('{n}', Datastream/Thing/name)" for n in range(90))
    chain = parse_filter(chain_text)
    sql = str(compile_filter(chain, Resolver(ENTITY_SETS["Observations"]), "sqlite"))
    assert sql.count("SELECT") == 2 and sql.count("sta_observations.") == 1
    negated = parse_filter(f"not ({chain_text} or result eq -1)")
    sql = str(compile_filter(negated, Resolver(ENTITY_SETS["Observations"]), "sqlite"))
    assert sql.count("SELECT") == 2 and sql.count("sta_observations.") == 2


async def test_a_filter_comparing_many_related_properties_with_the_entitys_own_is_refused(
    client: httpx.AsyncClient,
) -> None:
    """Each such term is a subquery per Observation (160 of them took 86 s over the demo's Observations)."""
    mixed = " or ".join(["Datastream/Thing/name eq result"] * 11)
    message = refusal(await client.get(f"{STA}/Observations", params={"$filter": mixed}))
    assert message.startswith("$filter: 11 properties of related entities are compared with the entity's own")
    allowed = " or ".join(["Datastream/Thing/name eq result"] * 10)
    assert (await client.get(f"{STA}/Observations", params={"$filter": allowed})).status_code == 200
    related_only = " or ".join(f"substringof('{n}', Datastream/Thing/name)" for n in range(90))
    assert (await client.get(f"{STA}/Observations", params={"$filter": related_only})).status_code == 200
