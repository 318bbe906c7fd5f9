"""Addresses: importing a BAN CSV file, geocoding typed addresses, the nearest address to a pin, suggestions,
and a BAN-compatible search API asked first when set (a local fake server here, never the internet)."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.territory import service
from citoyen.territory.address_import import read_addresses
from citoyen.territory.geocoding import StreetIndexCache, parse_address, street_key
from citoyen.territory.models import Address

DATA = Path(__file__).resolve().parents[2] / "src" / "citoyen" / "demo" / "data"
SAMPLE = DATA / "addresses-paris-demo.csv"
HEADER = "id;numero;rep;nom_voie;code_postal;nom_commune;lon;lat\n"


async def import_sample(session: AsyncSession) -> None:
    with SAMPLE.open("rb") as binary:
        await service.import_addresses(session, binary, SAMPLE.name)


async def import_paris(session: AsyncSession) -> None:
    """The demo's 80 quartiers (postcodes and quartier names are found through them)."""
    items = service.parse_neighbourhoods(
        json.loads((DATA / "paris-quartiers.geojson").read_text(encoding="utf-8")), "l_qu", "c_quinsee"
    )
    await service.replace_neighbourhoods(session, "Paris", items, source="test")


def sample_point(nom_voie: str, numero: int, rep: str = "") -> tuple[float, float]:
    """The point the sample file gives an address (read from the file, as the geocoder should find it)."""
    for line in SAMPLE.read_text(encoding="utf-8").splitlines()[1:]:
        fields = line.split(";")
        if fields[4] == nom_voie and fields[2] == str(numero) and fields[3] == rep:
            return float(fields[12]), float(fields[13])
    raise AssertionError(f"{numero} {rep} {nom_voie} is not in the sample")


def test_typed_addresses_are_folded_and_their_abbreviations_spelt_out() -> None:
    assert street_key("Bd St-Michel") == street_key("boulevard saint michel") == "boulevard saint michel"
    assert street_key("Av. du Gal Leclerc") == street_key("Avenue du Général-Leclerc")
    assert street_key("R. de l'Église") == "rue de l eglise"
    parsed = parse_address("10 r. de rivoli 75001")
    assert (parsed.number, parsed.repetition, parsed.words, parsed.postcode) == (
        10,
        "",
        ["rue", "de", "rivoli"],
        "75001",
    )
    assert (parse_address("10bis, Rue de Rivoli").number, parse_address("10 bis rue de Rivoli").repetition) == (
        10,
        "bis",
    )


async def test_addresses_are_found_as_people_type_them(session: AsyncSession) -> None:
    await import_sample(session)
    gazetteer = service.Gazetteer()
    ten = sample_point("Rue de Rivoli", 10)
    for typed in ("10 rue de Rivoli, Paris", "10 r. de rivoli 75001", "10 RUE DE RIVOLI", "10 rivoli"):
        place = await gazetteer.place(session, typed)
        assert place is not None, typed
        assert (place.lon, place.lat, place.kind) == (*ten, "housenumber"), typed
        assert place.label == "10 Rue de Rivoli, 75004 Paris"
        assert place.address_id == "demo-rue-de-rivoli-00010"
    bis = await gazetteer.place(session, "10 bis rue de Rivoli")
    assert (
        bis is not None
        and bis.housenumber == "10 bis"
        and (bis.lon, bis.lat) == sample_point("Rue de Rivoli", 10, "bis")
    )
    # A number the file does not hold: the nearest one on the street, said to be approximate.
    twelve = await gazetteer.place(session, "12 rue de Rivoli")
    assert twelve is not None and twelve.kind == "street" and twelve.housenumber in ("10", "13", "14")
    leclerc = await gazetteer.place(session, "av. du gal Leclerc 75014")
    assert leclerc is not None and leclerc.street == "Avenue du Général-Leclerc" and leclerc.kind == "street"
    michel = await gazetteer.place(session, "20 bd st-michel")
    assert michel is not None and michel.street == "Boulevard Saint-Michel"
    assert await gazetteer.place(session, "3 impasse qui n'existe pas") is None


async def test_suggestions_complete_the_word_being_typed(session: AsyncSession) -> None:
    await import_sample(session)
    gazetteer = service.Gazetteer()
    labels = [place.label for place in await gazetteer.search(session, "rue de riv", autocomplete=True)]
    assert labels and labels[0].startswith("Rue de Rivoli")
    oberkampf = await gazetteer.search(session, "32 rue oberk", autocomplete=True)
    assert (oberkampf[0].street, oberkampf[0].housenumber) == ("Rue Oberkampf", "32")
    assert await gazetteer.search(session, "ri", autocomplete=True) == []


async def test_a_pin_gets_the_nearest_address_within_150_metres(session: AsyncSession) -> None:
    await import_sample(session)
    gazetteer = service.Gazetteer()
    lon, lat = sample_point("Rue de Rivoli", 10)
    near = await gazetteer.reverse(session, lon - 0.0001, lat)  # about 7 m west (the 10 bis is 4 m east)
    assert near is not None and near.label == "10 Rue de Rivoli, 75004 Paris"
    assert await gazetteer.reverse(session, 2.2522, 48.8634) is None  # the Bois de Boulogne: nothing within 150 m


async def test_without_addresses_quartiers_and_postcodes_still_place_a_text(session: AsyncSession) -> None:
    await import_paris(session)
    gazetteer = service.Gazetteer()
    index = service.TerritoryIndexCache()
    place = await gazetteer.place(session, "Signalement, 75011 Paris")
    assert place is not None and place.kind == "postcode"
    located = await service.locate(session, index, place.lon, place.lat)
    assert located is not None and located.properties["c_ar"] == 11
    belleville = await gazetteer.place(session, "8 rue des Lilas, Belleville")
    assert belleville is not None and belleville.kind == "neighbourhood" and belleville.label == "Belleville"
    # With addresses imported, a quartier's name alone is still the quartier, not a street named after it.
    await import_sample(session)
    alone = await gazetteer.place(session, "Belleville")
    assert alone is not None and alone.kind == "neighbourhood"
    street = await gazetteer.place(session, "40 rue de Belleville")
    assert street is not None and street.street == "Rue de Belleville"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("id,numero,nom_voie\n1,2,Rue\n", "line 1: the header lacks"),
        (HEADER + "a;1;;Rue A;75001;Paris;2.35;48.85\nb;dix;;Rue A;75001;Paris;2.35;48.85\n", "line 3: numero"),
        (HEADER + "a;1;;Rue A;75001;Paris;2.35;north\n", "line 2: lon and lat must be numbers"),
        (HEADER + "a;1;;Rue A;75001;Paris;2.35;95\n", "line 2: lon 2.35 and lat 95.0 are not WGS84"),
        (HEADER + "a;1;;Rue A;750;Paris;2.35;48.85\n", "line 2: code_postal '750'"),
        (HEADER + "a;1;;;75001;Paris;2.35;48.85\n", "line 2: nom_voie"),
        (HEADER + "a;1;;Rue A;75001;Paris;2.35\n", "line 2: 8 columns expected"),
    ],
)
def test_bad_lines_are_refused_with_their_number(content: str, message: str) -> None:
    with pytest.raises(service.AddressImportError, match=message):
        list(read_addresses(io.StringIO(content)))


async def test_an_import_replaces_the_addresses_and_the_street_index_follows(session: AsyncSession) -> None:
    cache = StreetIndexCache()
    assert await cache.get(session) is None
    await import_sample(session)
    first = await cache.get(session)
    assert first is not None and "rue de rivoli" in first.by_key
    small = HEADER + "x1;3;;Rue Nouvelle;75013;Paris;2.36;48.83\n"
    imported = await service.import_addresses(session, io.BytesIO(small.encode()), "small.csv")
    assert imported.count == 1
    assert (await session.execute(select(func.count()).select_from(Address))).scalar_one() == 1
    second = await cache.get(session)
    assert second is not None and list(second.by_key) == ["rue nouvelle"]


class FakeBan(BaseHTTPRequestHandler):
    """A BAN-compatible search API on localhost: answers every search with one address at the Panthéon."""

    def do_GET(self) -> None:
        feature = {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [2.3464, 48.8462]},
            "properties": {"label": "Place du Panthéon 75005 Paris", "type": "street", "street": "Place du Panthéon",
                           "postcode": "75005", "city": "Paris", "id": "75105_7070"},
        }  # fmt: skip
        body = json.dumps({"type": "FeatureCollection", "features": [feature], "asked": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_ban() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeBan)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/search/"
    server.shutdown()
    server.server_close()


async def test_a_geocoding_api_is_asked_first_and_the_file_answers_when_it_fails(
    session: AsyncSession, fake_ban: str
) -> None:
    await import_sample(session)
    remote = await service.Gazetteer(fake_ban, 2.0).place(session, "10 rue de Rivoli")
    assert remote is not None and (remote.label, remote.source, remote.lon) == (
        "Place du Panthéon 75005 Paris",
        "remote",
        2.3464,
    )
    unreachable = service.Gazetteer("http://127.0.0.1:9/search/", 0.5)
    offline = await unreachable.place(session, "10 rue de Rivoli")
    assert offline is not None and offline.source == "offline" and offline.street == "Rue de Rivoli"
    near = await unreachable.reverse(session, *sample_point("Rue de Rivoli", 10))
    assert near is not None and near.housenumber == "10"


async def test_the_address_api_answers_geojson_and_refuses_bad_input(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    await import_sample(session)
    await session.commit()
    found = (await client.get("/api/territory/addresses", params={"q": "10 rue de Rivoli Paris", "limit": 1})).json()
    assert found["type"] == "FeatureCollection" and len(found["features"]) == 1
    feature = found["features"][0]
    assert feature["geometry"]["coordinates"] == list(sample_point("Rue de Rivoli", 10))
    assert feature["properties"]["label"] == "10 Rue de Rivoli, 75004 Paris"
    assert feature["properties"]["type"] == "housenumber"
    reverse = await client.get("/api/territory/addresses/reverse", params={"lon": 2.2522, "lat": 48.8634})
    assert reverse.json() == {"type": "FeatureCollection", "features": []}
    refused = await client.get("/api/territory/addresses", params={"q": "x", "limit": 500})
    assert refused.status_code == 400 and refused.json()["error"]["problems"][0]["location"] == "query.limit"


async def test_the_address_api_answers_a_postcode_or_a_quartier_as_the_form_places_it(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    """The report form's pin follows what is typed through this API: a postcode or a quartier's name alone
    is found as it is when the form is sent."""
    await import_paris(session)
    await import_sample(session)
    await session.commit()
    gazetteer = service.Gazetteer()
    for typed, kind in (("75011", "postcode"), ("Belleville", "neighbourhood")):
        answer = await client.get("/api/territory/addresses", params={"q": typed, "limit": 1, "autocomplete": "true"})
        (feature,) = answer.json()["features"]
        placed = await gazetteer.place(session, typed)
        assert placed is not None and feature["properties"]["type"] == kind == placed.kind
        assert feature["geometry"]["coordinates"] == [placed.lon, placed.lat]
    nothing = await client.get("/api/territory/addresses", params={"q": "zzzz", "limit": 1})
    assert nothing.json()["features"] == []


async def test_the_form_suggests_addresses_and_says_which_one_is_near_the_pin(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    await import_sample(session)
    await session.commit()
    options = await client.get("/territory/addresses/suggestions", params={"address": "10 rue de riv"})
    assert '<option value="10 Rue de Rivoli, 75004 Paris">' in options.text
    lon, lat = sample_point("Rue de Rivoli", 10)
    near = await client.get("/territory/addresses/near", params={"lon": str(lon), "lat": str(lat)})
    assert "Près du 10 Rue de Rivoli, 75004 Paris" in near.text
    english = await client.get(
        "/territory/addresses/near", params={"lon": str(lon), "lat": str(lat)}, headers={"Accept-Language": "en"}
    )
    assert "Near 10 Rue de Rivoli, 75004 Paris" in english.text
    nowhere = await client.get("/territory/addresses/near", params={"lon": "abc", "lat": "48.8"})
    assert nowhere.status_code == 200 and nowhere.text.strip() == ""
