"""FROST-Server's Python client (frost-sta-client), unchanged, against a running Citoyen server: deep
insert, reading, queries with filter/expand/orderby and nextLink paging, JSON Patch, delete, dataArray,
MultiDatastreams.

The server runs in a thread (uvicorn) on a free port with its own database (tests/live_server.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import frost_sta_client as fsc  # type: ignore[import-untyped]
import pytest
import requests

from citoyen.app import build_event_hub
from citoyen.db import make_sessionmaker
from citoyen.engines import make_app_engine
from citoyen.people import service as people
from tests.live_server import live_server
from tests.sensing.helpers import wind


@dataclass(frozen=True)
class LiveServer:
    url: str  # the SensorThings service root, http://127.0.0.1:PORT/sta/v1.1
    token: str


async def _prepare(server_url: str) -> str:
    engine = make_app_engine(server_url)
    try:
        async with make_sessionmaker(engine, build_event_hub())() as session:
            _token, secret = await people.create_api_token(session, "frost client", ["sensing:write"])
            await session.commit()
    finally:
        await engine.dispose()
    return secret


@pytest.fixture(scope="module")
def live(migrated_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(migrated_template, tmp_path_factory.mktemp("frost-live"), "frost", _prepare) as served:
        yield LiveServer(f"{served.url}/sta/v1.1", served.prepared)


def _service(live: LiveServer) -> fsc.SensorThingsService:
    return fsc.SensorThingsService(live.url, auth_handler=fsc.AuthHandler(username="gateway", password=live.token))


def _station(name: str) -> fsc.Thing:
    location = fsc.Location(
        name=f"{name} site",
        description="On the pavement",
        encoding_type="application/geo+json",
        location={"type": "Point", "coordinates": [2.3522, 48.8566]},
    )
    datastream = fsc.Datastream(
        name=f"{name} PM10",
        description="Particulate matter",
        observation_type="http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
        unit_of_measurement=fsc.UnitOfMeasurement(
            name="microgram per cubic metre", symbol="µg/m³", definition="ucum:ug/m3"
        ),
        sensor=fsc.Sensor(
            name="PM sensor", description="Optical", encoding_type="text/html", metadata="https://example.org"
        ),
        observed_property=fsc.ObservedProperty(name="PM10", definition="https://example.org/pm10", description="PM10"),
    )
    return fsc.Thing(
        name=name,
        description="Air quality station",
        properties={"district": "4e"},
        locations=[location],
        datastreams=[datastream],
    )


def test_deep_insert_read_query_patch_delete(live: LiveServer) -> None:
    service = _service(live)
    for number in range(3):
        service.create(_station(f"Client station {number}"))
    things = service.things().query().filter("startswith(name, 'Client station')").orderby("name", "ASC").top(2).list()
    names = [thing.name for thing in things]  # iterating follows @iot.nextLink
    assert names == ["Client station 0", "Client station 1", "Client station 2"]

    thing = service.things().find(things.get(0).id)
    assert thing.name == "Client station 0"
    assert thing.properties["district"] == "4e"
    expanded = (
        service.things().query().filter(f"id eq {thing.id}").expand("Datastreams($expand=Sensor),Locations").list()
    )
    first = expanded.get(0)
    assert first.datastreams.get(0).name == "Client station 0 PM10"
    assert first.datastreams.get(0).sensor.name == "PM sensor"
    assert first.locations.get(0).location["coordinates"] == [2.3522, 48.8566]

    service.patch(thing, [{"op": "replace", "path": "/description", "value": "Moved to a roof"}])
    assert service.things().find(thing.id).description == "Moved to a roof"

    service.delete(thing)
    with pytest.raises(requests.exceptions.HTTPError) as missing:
        service.things().find(thing.id)
    assert missing.value.response is not None
    assert missing.value.response.status_code == 404


def test_observations_and_data_array(live: LiveServer) -> None:
    service = _service(live)
    service.create(_station("Array station"))
    datastream = service.datastreams().query().filter("name eq 'Array station PM10'").list().get(0)

    single = fsc.Observation(result=12.5, phenomenon_time="2026-11-25T08:00:00Z", datastream=datastream)
    service.create(single)
    assert service.observations().find(single.id).result == 12.5

    array = fsc.DataArrayValue()
    array.datastream = datastream
    array.components = {fsc.DataArrayValue.Property.PHENOMENON_TIME, fsc.DataArrayValue.Property.RESULT}
    for minute in range(5):
        array.add_observation(
            fsc.Observation(phenomenon_time=f"2026-11-25T09:0{minute}:00Z", result=20 + minute, datastream=datastream)
        )
    document = fsc.DataArrayDocument()
    document.add_data_array_value(array)
    created = service.observations().create(document)
    assert len(created) == 5
    assert all(observation.self_link.startswith(live.url + "/Observations(") for observation in created)

    observations = (
        service.observations()
        .query()
        .filter(f"Datastream/id eq {datastream.id}")
        .orderby("phenomenonTime", "ASC")
        .list()
    )
    assert [observation.result for observation in observations] == [12.5, 20, 21, 22, 23, 24]
    latest = (
        service.datastreams()
        .query()
        .filter(f"id eq {datastream.id}")
        .expand("Observations($top=1;$orderby=phenomenonTime desc)")
        .list()
    )
    assert latest.get(0).observations.get(0).result == 24


def test_multi_datastream_observations(live: LiveServer) -> None:
    """frost-sta-client 1.1.53 reads MultiDatastreams and creates their Observations; it cannot create a
    MultiDatastream itself (it sends `unitOfMeasurements` as null: `list.__getstate__()` on Python 3.11), so the
    mast is made with a plain POST, as 18-088's own example."""
    roof = {
        "name": "Roof",
        "description": "Town hall",
        "encodingType": "application/geo+json",
        "location": {"type": "Point", "coordinates": [2.3522, 48.8566]},
    }
    mast: dict[str, Any] = {
        "name": "Client mast",
        "description": "Mast",
        "Locations": [roof],
        "MultiDatastreams": [wind("Client wind")],
    }
    made = requests.post(f"{live.url}/Things", json=mast, auth=("gateway", live.token), timeout=30)
    assert made.status_code == 201, made.text
    service = _service(live)
    found = service.multi_datastreams().query().filter("name eq 'Client wind'").expand("ObservedProperties").list()
    multi = found.get(0)
    assert len(multi.multi_observation_data_types) == 2
    assert [prop.name for prop in multi.observed_properties] == ["Wind speed", "Wind direction"]

    observation = fsc.Observation(result=[5.5, 180], phenomenon_time="2026-11-25T08:00:00Z", multi_datastream=multi)
    service.create(observation)
    assert service.observations().find(observation.id).result == [5.5, 180]
    wrong = fsc.Observation(result=[5.5], phenomenon_time="2026-11-25T08:10:00Z", multi_datastream=multi)
    with pytest.raises(requests.exceptions.HTTPError) as refused:
        service.create(wrong)
    assert refused.value.response is not None and refused.value.response.status_code == 400
    results = [each.result for each in multi.get_observations().query().list()]
    assert results == [[5.5, 180]]
