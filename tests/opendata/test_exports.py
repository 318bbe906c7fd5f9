"""Downloads in other formats and the full history of the sensors' readings: a geolocated table as GeoJSON and
Parquet, GeoJSON as CSV (the round trip gives the table back), ETags per representation, gzip on the fly, Range on
the stored file, clear errors; and every public reading, in order, streamed from the database (never a personal
or restricted sensor's)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.opendata import conversions
from citoyen.opendata import service as opendata
from citoyen.people import service as people
from tests.opendata.helpers import create_dataset, create_organization
from tests.sensing.helpers import STA, bearer, station

TREES = (
    "id,species,height_m,protected,longitude,latitude\r\n"
    "1,Platane,21.5,true,2.3522,48.8566\r\n"
    '2,"Tilleul, argenté",12,false,2.3601,48.8612\r\n'
    "3,Chêne,,true,2.3405,48.8499\r\n"
).encode()


async def upload(session: AsyncSession, settings: Settings, package: str, filename: str, content: bytes) -> str:
    """A resource of `package` holding `content`; its download address."""
    view = await opendata.create_resource(
        session,
        settings.opendata_path,
        settings.opendata_max_upload_bytes,
        {"package_id": package, "name": filename},
        opendata.Upload(filename, io.BytesIO(content)),
    )
    await session.commit()
    assert view.version is not None
    return f"/data/{package}/resources/{view.resource.uuid}/download/{view.version.filename}"


def table(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


async def test_a_geolocated_table_downloads_as_geojson_and_back_as_the_same_table(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    organization = await create_organization(session)
    await create_dataset(session, organization, name="arbres")
    trees = await upload(session, settings, "arbres", "arbres.csv", TREES)

    answer = await client.get(trees, params={"format": "geojson"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/geo+json"
    assert 'filename="arbres.geojson"' in answer.headers["content-disposition"]
    collection = answer.json()
    assert collection["type"] == "FeatureCollection"
    first, second, third = collection["features"]
    assert first["geometry"] == {"type": "Point", "coordinates": [2.3522, 48.8566]}
    # Properties typed as the Table Schema says; the coordinates are the geometry, not properties.
    assert first["properties"] == {"id": 1, "species": "Platane", "height_m": 21.5, "protected": True}
    assert second["properties"]["species"] == "Tilleul, argenté" and second["properties"]["protected"] is False
    assert third["properties"]["height_m"] is None

    # The GeoJSON, published in its turn, downloads as CSV: the table again, points as lon and lat.
    layer = await upload(session, settings, "arbres", "arbres.geojson", answer.content)
    back = await client.get(layer, params={"format": "csv"})
    assert back.status_code == 200, back.text
    assert back.headers["content-type"] == "text/csv; charset=utf-8"
    rows = table(back.text)
    original = table(TREES.decode())
    assert list(rows[0]) == ["id", "species", "height_m", "protected", "lon", "lat"]
    for got, expected in zip(rows, original, strict=True):
        assert got["id"] == expected["id"] and got["species"] == expected["species"]
        assert got["protected"] == expected["protected"]
        assert (float(got["height_m"]) if got["height_m"] else None) == (
            float(expected["height_m"]) if expected["height_m"] else None
        )
        assert (float(got["lon"]), float(got["lat"])) == (float(expected["longitude"]), float(expected["latitude"]))
    # Asking a file for its own format gives the stored file itself.
    itself = await client.get(layer, params={"format": "geojson"})
    assert itself.content == answer.content


async def test_a_table_downloads_as_parquet_with_its_columns_typed(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    organization = await create_organization(session)
    await create_dataset(session, organization, name="arbres")
    trees = await upload(session, settings, "arbres", "arbres.tsv", TREES.decode().replace(",", "\t").encode())

    answer = await client.get(trees, params={"format": "parquet"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/vnd.apache.parquet"
    read = pq.read_table(io.BytesIO(answer.content))
    assert [str(field.type) for field in read.schema] == ["int64", "string", "double", "bool", "double", "double"]
    assert read.num_rows == 3
    assert read.column("id").to_pylist() == [1, 2, 3]
    assert read.column("height_m").to_pylist() == [21.5, 12.0, None]
    assert read.column("protected").to_pylist() == [True, False, True]
    assert read.column("longitude").to_pylist() == [2.3522, 2.3601, 2.3405]
    # And the TSV also downloads as CSV.
    as_csv = await client.get(trees, params={"format": "csv"})
    assert as_csv.status_code == 200
    assert [row["id"] for row in table(as_csv.text)] == ["1", "2", "3"]


async def test_parquet_read_back_equals_the_csv(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    organization = await create_organization(session)
    await create_dataset(session, organization, name="arbres")
    trees = await upload(session, settings, "arbres", "arbres.csv", TREES)
    read = pq.read_table(io.BytesIO((await client.get(trees, params={"format": "parquet"})).content))
    typed = {"id": int, "height_m": float, "longitude": float, "latitude": float}
    expected = [
        {
            name: (None if value == "" else typed[name](value) if name in typed else value == "true")
            if name != "species"
            else value
            for name, value in row.items()
        }
        for row in table(TREES.decode())
    ]
    assert read.to_pylist() == expected


async def test_each_representation_has_its_etag_and_gzip_is_given_when_asked(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    organization = await create_organization(session)
    await create_dataset(session, organization, name="arbres")
    trees = await upload(session, settings, "arbres", "arbres.csv", TREES)
    sha = hashlib.sha256(TREES).hexdigest()

    plain = await client.get(trees, headers={"Accept-Encoding": "identity"})
    assert plain.headers["etag"] == f'"{sha}"' and plain.content == TREES
    assert "last-modified" in plain.headers
    packed = await client.get(trees, headers={"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.headers["etag"] == f'W/"{sha}"' and "Accept-Encoding" in packed.headers["vary"]
    assert packed.content == TREES  # httpx inflates it

    converted = await client.get(trees, params={"format": "geojson"}, headers={"Accept-Encoding": "gzip"})
    assert converted.headers["etag"] == f'W/"{sha}-geojson"'
    assert converted.headers["content-encoding"] == "gzip"
    raw = await client.get(trees, params={"format": "geojson"}, headers={"Accept-Encoding": "identity"})
    assert raw.headers["etag"] == f'"{sha}-geojson"' and "content-encoding" not in raw.headers
    assert json.loads(raw.content) == converted.json()
    again = await client.get(
        trees,
        params={"format": "geojson"},
        headers={"Accept-Encoding": "identity", "If-None-Match": raw.headers["etag"]},
    )
    assert again.status_code == 304 and again.content == b""
    # Compared weakly, as HTTP says: who holds the plain file's ETag has the compressed one's content too.
    cached = await client.get(trees, headers={"Accept-Encoding": "gzip", "If-None-Match": plain.headers["etag"]})
    assert cached.status_code == 304
    changed = await client.get(trees, headers={"If-None-Match": '"another-version"'})
    assert changed.status_code == 200
    # Parquet is compressed already: never gzipped again.
    parquet = await client.get(trees, params={"format": "parquet"}, headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in parquet.headers and parquet.headers["etag"] == f'"{sha}-parquet"'

    # Range addresses the stored file's bytes: answered from the file, uncompressed, whatever is accepted.
    partial = await client.get(trees, headers={"Range": "bytes=0-1", "Accept-Encoding": "gzip"})
    assert partial.status_code == 206 and partial.content == b"id"
    assert "content-encoding" not in partial.headers


async def test_a_conversion_the_file_cannot_take_is_refused_clearly(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    organization = await create_organization(session)
    await create_dataset(session, organization, name="budget")
    budget = await upload(session, settings, "budget", "budget.csv", b"year,amount\n2025,100\n")
    report = await upload(session, settings, "budget", "rapport.pdf", b"%PDF-1.4\n%fake\n")

    unknown = await client.get(budget, params={"format": "xml"})
    assert unknown.status_code == 404 and "csv, geojson or parquet" in unknown.json()["error"]["message"]
    no_place = await client.get(budget, params={"format": "geojson"})
    assert no_place.status_code == 415 and "coordinates" in no_place.json()["error"]["message"]
    pdf = await client.get(report, params={"format": "csv"})
    assert pdf.status_code == 415 and "PDF" in pdf.json()["error"]["message"]
    # What the pages offer besides the file itself.
    assert conversions.available_formats("CSV", {"fields": [{"name": "year"}, {"name": "amount"}]}) == ("parquet",)
    trees = {"fields": [{"name": "lon", "type": "number"}, {"name": "lat", "type": "number"}]}
    assert conversions.available_formats("TSV", trees) == ("csv", "geojson", "parquet")
    assert conversions.available_formats("GEOJSON", None) == ("csv",)
    assert conversions.available_formats("PDF", None) == ()
    missing = await client.get(budget.replace("budget.csv", "x.csv").replace("/resources/", "/resources/0"))
    assert missing.status_code == 404


# The full history of the sensors' readings

START = datetime(2026, 11, 2, 8, tzinfo=UTC)


@pytest.fixture
async def token(session: AsyncSession) -> str:
    _token, secret = await people.create_api_token(session, "Sensor gateway", ["sensing:write"])
    await session.commit()
    return secret


async def make_station(
    client: httpx.AsyncClient, token: str, kind: str, results: tuple[Any, ...] = (), **fields: Any
) -> dict[str, Any]:
    """A station of `kind`; `results` are read by its first Datastream in the same deep insert."""
    body = station(**fields)
    body["properties"]["citoyen"]["kind"] = kind
    body["Datastreams"][0]["Observations"] = [
        {"phenomenonTime": (START + timedelta(minutes=minute)).isoformat(), "result": result}
        for minute, result in enumerate(results)
    ]
    created = await client.post(f"{STA}/Things", json=body, headers=bearer(token))
    assert created.status_code == 201, created.text
    if fields.get("access", "public") != "public":
        return {}
    thing = await client.get(created.headers["Location"], params={"$expand": "Datastreams"})
    document: dict[str, Any] = thing.json()
    return document


async def read(client: httpx.AsyncClient, datastream: dict[str, Any], token: str, results: list[Any]) -> None:
    # Posted newest first, so that the export's order is not merely the order of arrival.
    for minute, result in reversed(list(enumerate(results))):
        reading = {"phenomenonTime": (START + timedelta(minutes=minute)).isoformat(), "result": result}
        answer = await client.post(f"{datastream['@iot.selfLink']}/Observations", json=reading, headers=bearer(token))
        assert answer.status_code == 201, answer.text


async def sensors(client: httpx.AsyncClient, session: AsyncSession, token: str) -> dict[str, Any]:
    organization = await create_organization(session)
    await create_dataset(session, organization, name="capteurs")
    await session.commit()
    air = await make_station(client, token, "air", name="Station Bastille")
    water = await make_station(client, token, "water", name="Seine amont", lon=2.37, lat=48.84)
    await make_station(client, token, "energy", (987.125, 988.5), name="Compteur de Mme Vasseur", access="personal")
    await make_station(client, token, "air", (666.25,), name="Station privée", access="restricted")
    no2, temperature = air["Datastreams"]
    await read(client, no2, token, [31.5, 28.0, 35.25])
    await read(client, temperature, token, [4.5, 5.0])
    await read(client, water["Datastreams"][0], token, ["clear", True, {"ph": 7.2}, 'a "murky" \\ day'])
    return {"air": air, "water": water}


def ids(*things: dict[str, Any]) -> list[int]:
    return sorted(datastream["@iot.id"] for thing in things for datastream in thing["Datastreams"])


async def test_the_full_history_streams_every_public_reading_in_order(
    client: httpx.AsyncClient, session: AsyncSession, token: str
) -> None:
    city = await sensors(client, session, token)
    answer = await client.get("/data/capteurs/history.csv")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="mesures.csv"' in answer.headers["content-disposition"]
    rows = table(answer.text)
    assert list(rows[0]) == [
        "id", "datastream_id", "phenomenon_time", "phenomenon_time_end", "result_time", "result", "result_text"
    ]  # fmt: skip
    public = ids(city["air"], city["water"])
    no2_id, _temperature_id, river_id, _unread = public
    # Only public sensors' readings, by Datastream then time; a personal meter's and a restricted one's never.
    assert [int(row["datastream_id"]) for row in rows] == [public[0]] * 3 + [public[1]] * 2 + [river_id] * 4
    assert "987.125" not in answer.text and "666.25" not in answer.text
    no2 = [row for row in rows if int(row["datastream_id"]) == no2_id]
    assert [row["phenomenon_time"] for row in no2] == [
        "2026-11-02T08:00:00Z",
        "2026-11-02T08:01:00Z",
        "2026-11-02T08:02:00Z",
    ]
    assert [float(row["result"]) for row in no2] == [31.5, 28.0, 35.25]
    river = [row for row in rows if int(row["datastream_id"]) == river_id]
    assert [row["result_text"] for row in river[:2]] == ["clear", "true"]
    assert json.loads(river[2]["result_text"]) == {"ph": 7.2}
    assert river[3]["result_text"] == 'a "murky" \\ day'
    assert all(row["result"] == "" for row in river)

    # One kind, or one Datastream.
    water = table((await client.get("/data/capteurs/history.csv", params={"kind": "water"})).text)
    assert [row["id"] for row in water] == [row["id"] for row in river]
    one = await client.get("/data/capteurs/history.csv", params={"datastream": str(no2_id)})
    assert [row["id"] for row in table(one.text)] == [row["id"] for row in no2]
    assert 'filename="mesures-flux-' in one.headers["content-disposition"]
    # Compressed on the fly when asked.
    packed = await client.get("/data/capteurs/history.csv", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip" and packed.text == answer.text


async def test_the_full_history_as_geojson_and_parquet_holds_the_same_readings(
    client: httpx.AsyncClient, session: AsyncSession, token: str
) -> None:
    city = await sensors(client, session, token)
    rows = table((await client.get("/data/capteurs/history.csv")).text)

    layer = await client.get("/data/capteurs/history.geojson", headers={"Accept-Encoding": "identity"})
    assert layer.status_code == 200 and layer.headers["content-type"] == "application/geo+json"
    features = layer.json()["features"]
    assert [feature["id"] for feature in features] == [int(row["id"]) for row in rows]
    bastille = {"type": "Point", "coordinates": [2.3692, 48.8532]}
    air = set(ids(city["air"]))
    assert all(f["geometry"] == bastille for f in features if f["properties"]["datastream_id"] in air)
    assert features[0]["properties"]["phenomenon_time"] == rows[0]["phenomenon_time"]
    assert [f["properties"]["result_text"] for f in features] == [row["result_text"] or None for row in rows]
    numbers = [float(row["result"]) if row["result"] else None for row in rows]
    assert [feature["properties"]["result"] for feature in features] == numbers

    parquet = await client.get("/data/capteurs/history.parquet")
    assert parquet.status_code == 200
    read = pq.read_table(io.BytesIO(parquet.content))
    assert read.column("id").to_pylist() == [int(row["id"]) for row in rows]
    assert read.column("result").to_pylist() == [float(row["result"]) if row["result"] else None for row in rows]
    times = read.column("phenomenon_time").to_pylist()
    assert [time.strftime("%Y-%m-%dT%H:%M:%SZ") for time in times] == [row["phenomenon_time"] for row in rows]
    assert times[0].tzinfo is not None


async def test_the_sensors_dataset_page_links_the_full_history_in_french_and_english(
    client: httpx.AsyncClient, session: AsyncSession, token: str
) -> None:
    await sensors(client, session, token)
    french = await client.get("/data/capteurs", headers={"Accept-Language": "fr"})
    assert french.status_code == 200
    assert "Historique complet" in french.text and "Qualité de l’air" in french.text
    for address in ("history.csv", "history.geojson?kind=water", "history.parquet?kind=air"):
        assert f'href="/data/capteurs/{address}"' in french.text
    english = await client.get("/data/capteurs", headers={"Accept-Language": "en"})
    assert "Full history" in english.text and "All public sensors" in english.text
    # Another dataset's page does not offer it.
    organization = await create_organization(session)
    await create_dataset(session, organization, name="arbres")
    await session.commit()
    assert "/history.csv" not in (await client.get("/data/arbres", headers={"Accept-Language": "en"})).text


async def test_the_full_history_refuses_what_it_does_not_have(
    client: httpx.AsyncClient, session: AsyncSession, token: str
) -> None:
    assert (await client.get("/data/capteurs/history.csv")).status_code == 404  # not published yet
    city = await sensors(client, session, token)
    await make_station(client, token, "energy", (1.5,), name="Compteur", access="personal")
    personal_id = max(ids(city["air"], city["water"])) + 1  # the meter's first Datastream, made just after
    assert (await client.get("/data/capteurs/history.xml")).status_code == 404
    assert (await client.get("/data/capteurs/history.csv", params={"kind": "lava"})).status_code == 404
    personal = await client.get("/data/capteurs/history.csv", params={"datastream": str(personal_id)})
    assert personal.status_code == 404
    assert (await client.get("/data/arbres/history.csv")).status_code == 404
    # An empty kind is an empty table, with its header.
    empty = await client.get("/data/capteurs/history.csv", params={"kind": "mobility"})
    assert empty.status_code == 200 and table(empty.text) == []
