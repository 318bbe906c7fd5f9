"""The SensorThings API under generated requests (it lives outside the OpenAPI document, so schemathesis does not
reach it): whatever a careless client or an attacker sends, the answer is never a server error, and a refusal
is SensorThings' error object."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sensing.helpers import STA, bearer, create_station

ENTITY_SETS = [
    "Things",
    "Locations",
    "HistoricalLocations",
    "Datastreams",
    "Sensors",
    "ObservedProperties",
    "Observations",
    "FeaturesOfInterest",
]
PROPERTIES = [
    "name",
    "description",
    "properties",
    "result",
    "phenomenonTime",
    "resultTime",
    "location",
    "unitOfMeasurement",
    "observationType",
    "encodingType",
    "metadata",
    "definition",
    "feature",
    "@iot.id",
    "id",
]
NAVIGATIONS = ["Thing", "Datastream", "Datastreams", "Sensor", "ObservedProperty", "Observations"]
NAVIGATIONS += ["Locations", "HistoricalLocations", "FeatureOfInterest", "Things"]

HUGE = st.sampled_from([2**31, 2**63, 2**70, -(2**63) - 1, 10**400])
NUMBERS = st.one_of(st.integers(-(2**70), 2**70), HUGE, st.floats(allow_nan=True, allow_infinity=True))
ODD_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["\x00", "\ud800", "'", "''", "(", ")", "/", "%", "$", "9" * 400, "1e400", "NaN", "-0"]),
)
IDENTIFIERS = st.one_of(NUMBERS.map(str), ODD_TEXT, st.integers(1, 5).map(str))


def _path() -> st.SearchStrategy[str]:
    segment = st.one_of(st.sampled_from(NAVIGATIONS), st.sampled_from(PROPERTIES), ODD_TEXT)
    addressed = st.builds(lambda name, key: f"{name}({key})", st.sampled_from(ENTITY_SETS), IDENTIFIERS)
    root = st.one_of(st.sampled_from(ENTITY_SETS), addressed, ODD_TEXT)
    tail = st.lists(st.one_of(segment, st.sampled_from(["$value", "$ref"])), max_size=4)
    return st.builds(lambda head, rest: "/".join([head, *rest]), root, tail)


def _filter() -> st.SearchStrategy[str]:
    leaf = st.one_of(
        st.sampled_from([*PROPERTIES, "Datastream/Thing/name", "Thing/Locations/location"]),
        NUMBERS.map(str),
        ODD_TEXT.map(lambda text: "'" + text.replace("'", "''") + "'"),
        st.sampled_from(["null", "true", "2026-11-25T02:00:00Z", "geography'POINT(2.35 48.85)'"]),
    )
    operators = st.sampled_from([" eq ", " ne ", " gt ", " lt ", " and ", " or ", " add ", " div ", " mod "])
    functions = st.sampled_from(["substringof", "length", "round", "st_within", "geo.distance", "year", "now"])

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.builds(lambda a, op, b: a + op + b, inner, operators, inner),
            st.builds(lambda a: f"({a})", inner),
            st.builds(lambda a: f"not {a}", inner),
            st.builds(lambda name, args: f"{name}({','.join(args)})", functions, st.lists(inner, max_size=3)),
        )

    return st.one_of(st.recursive(leaf, extend, max_leaves=12), ODD_TEXT)


def _expand() -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.builds(lambda a, b: f"{a}/{b}", st.sampled_from(NAVIGATIONS), inner),
            st.builds(lambda a, b: f"{a}($expand={b})", st.sampled_from(NAVIGATIONS), inner),
            st.builds(lambda a, b: f"{a}($top={b};$select=name)", st.sampled_from(NAVIGATIONS), NUMBERS.map(str)),
            st.builds(lambda parts: ",".join(parts), st.lists(inner, min_size=1, max_size=4)),
        )

    return st.one_of(st.recursive(st.sampled_from(NAVIGATIONS), extend, max_leaves=10), ODD_TEXT)


QUERIES = st.fixed_dictionaries(
    {},
    optional={
        "$top": IDENTIFIERS,
        "$skip": IDENTIFIERS,
        "$count": st.sampled_from(["true", "false", "maybe"]),
        "$filter": _filter(),
        "$expand": _expand(),
        "$select": st.lists(st.one_of(st.sampled_from(PROPERTIES), ODD_TEXT), max_size=4).map(",".join),
        "$orderby": st.lists(
            st.builds(lambda p, d: p + d, st.sampled_from(PROPERTIES), st.sampled_from(["", " asc", " desc", " x"])),
            max_size=3,
        ).map(",".join),
        "$resultFormat": st.sampled_from(["dataArray", "GeoJSON", "x"]),
    },
)

JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), NUMBERS, ODD_TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(ODD_TEXT, inner, max_size=4)),
    max_leaves=16,
)
GEOMETRIES = st.one_of(
    st.builds(lambda c: {"type": "Point", "coordinates": c}, st.lists(NUMBERS, max_size=3)),
    st.builds(lambda c: {"type": "Polygon", "coordinates": [c]}, st.lists(st.lists(NUMBERS, max_size=2), max_size=5)),
    JSON_VALUES,
)


def _mutated_station(station: dict[str, Any], data: st.DataObject) -> Any:
    """A valid deep insert with one leaf replaced by something odd: the closest a careless client comes."""
    paths: list[tuple[Any, ...]] = []

    def walk(value: Any, path: tuple[Any, ...]) -> None:
        paths.append(path)
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, (*path, key))
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                walk(inner, (*path, index))

    walk(station, ())
    path = data.draw(st.sampled_from(paths[1:]))
    replacement = data.draw(GEOMETRIES if "location" in path else JSON_VALUES)
    document = json.loads(json.dumps(station))
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = replacement
    return document


def _station_document() -> dict[str, Any]:
    from tests.sensing.helpers import station

    return station()


def _dumps(value: Any) -> bytes:
    # Python's json writes NaN, Infinity and lone surrogates, as careless clients do.
    return json.dumps(value, allow_nan=True).encode("utf-8", "surrogatepass")


def _quoted(path: str) -> str:
    return quote(path, safe="/()$',", errors="surrogatepass")


def assert_standard_answer(response: httpx.Response, what: str) -> None:
    assert response.status_code < 500, f"{what} → {response.status_code}: {response.text[:500]}"
    if response.status_code >= 400:
        body = response.json()
        assert body.get("type") == "error" and body.get("code") == response.status_code, f"{what} → {body}"
        assert body.get("message"), what


FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
    derandomize=True,
)


@FUZZ
@given(path=_path(), query=QUERIES)
async def test_generated_reads_never_fail_on_the_server(
    client: httpx.AsyncClient, token: str, path: str, query: dict[str, str]
) -> None:
    if not (await client.get(f"{STA}/Things?$top=1")).json()["value"]:
        await create_station(client, token)
    # Percent-encoded as a client library would (lone surrogates included), so the odd bytes reach the server.
    url = f"{STA}/{_quoted(path)}?{urlencode(query, encoding='utf-8', errors='surrogatepass')}"
    response = await client.get(url)
    assert_standard_answer(response, f"GET {path} {query}")


@FUZZ
@given(data=st.data(), entity_set=st.sampled_from(ENTITY_SETS), method=st.sampled_from(["POST", "PATCH", "PUT"]))
async def test_generated_writes_never_fail_on_the_server(
    client: httpx.AsyncClient, token: str, data: st.DataObject, entity_set: str, method: str
) -> None:
    body = data.draw(st.one_of(st.builds(lambda: None), JSON_VALUES)) if data.draw(st.booleans()) else None
    if body is None:
        body = _mutated_station(_station_document(), data)
    path = entity_set if method == "POST" else f"{entity_set}({data.draw(IDENTIFIERS)})"
    headers = {**bearer(token), "Content-Type": "application/json"}
    response = await client.request(method, f"{STA}/{_quoted(path)}", content=_dumps(body), headers=headers)
    assert_standard_answer(response, f"{method} {path} {body!r:.300}")


@FUZZ
@given(data=st.data())
async def test_generated_observation_batches_never_fail_on_the_server(
    client: httpx.AsyncClient, token: str, data: st.DataObject
) -> None:
    components = data.draw(
        st.one_of(
            st.just(["phenomenonTime", "result"]),
            st.lists(st.sampled_from(["phenomenonTime", "result", "resultTime", "FeatureOfInterest/id", "x"])),
        )
    )
    rows = data.draw(st.lists(st.lists(st.one_of(NUMBERS, ODD_TEXT, st.none()), max_size=4), max_size=5))
    datastream = data.draw(
        st.one_of(st.builds(lambda key: {"@iot.id": key}, st.one_of(NUMBERS, ODD_TEXT)), JSON_VALUES)
    )
    body: Any = [{"Datastream": datastream, "components": components, "dataArray": rows}]
    if data.draw(st.booleans()):
        body = data.draw(JSON_VALUES)
    response = await client.post(f"{STA}/CreateObservations", content=_dumps(body), headers=bearer(token))
    assert_standard_answer(response, f"CreateObservations {body!r:.300}")
