"""Geocoding: a typed address to a point, a point to the nearest address, and suggestions as one types.

Offline first: the address points imported from a BAN file (`addresses` table) are searched through an index
of the city's streets held by each process (`StreetIndex`, a few thousand names for Paris, rebuilt when a new
file is imported), then the numbers of the chosen street are read from the database by the
(street_key, numero) index. Without imported addresses, a neighbourhood's name or a postcode still gives a
place (the neighbourhood, or the arrondissement, as before). `CITOYEN_GEOCODER_URL` may name a BAN-compatible
search API (api-adresse.data.gouv.fr's `/search/`), asked first with a short timeout; any failure falls back
to the offline search and the API is left alone for a minute.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import math
import re
import time
import unicodedata
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from shapely.geometry import shape
from shapely.ops import unary_union
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.territory.models import Address, AddressImport, Neighbourhood

# Abbreviations of French street types and titles, spelt out both in the index and in what people type.
ABBREVIATIONS = {
    "r": "rue",
    "bd": "boulevard",
    "bld": "boulevard",
    "boul": "boulevard",
    "blvd": "boulevard",
    "av": "avenue",
    "ave": "avenue",
    "pl": "place",
    "st": "saint",
    "ste": "sainte",
    "fg": "faubourg",
    "fbg": "faubourg",
    "imp": "impasse",
    "sq": "square",
    "pass": "passage",
    "ch": "chemin",
    "che": "chemin",
    "rte": "route",
    "crs": "cours",
    "qu": "quai",
    "pte": "porte",
    "vla": "villa",
    "prom": "promenade",
    "mal": "marechal",
    "gal": "general",
    "gen": "general",
    "pdt": "president",
    "prof": "professeur",
    "dr": "docteur",
}
# Words too common to tell streets apart: a street is found by its other words.
STOP_WORDS = frozenset({"de", "du", "des", "la", "le", "les", "l", "d", "a", "au", "aux", "et", "en", "sur"})
# What a house number's repetition index may be ("10 bis", "10b").
REPETITIONS = frozenset({"bis", "ter", "quater", "quinquies", "a", "b", "c", "d", "e", "f", "g"})
# Words of a typed address that name no street (the city is taken from the imported file's communes).
PLACE_WORDS = frozenset({"france", "cedex", "arrondissement", "arr"})
ORDINAL = re.compile(r"^\d{1,2}(e|er|eme|ieme|ème)$")
NUMBER = re.compile(r"^(\d{1,5})([a-z]*)$")
POSTCODE = re.compile(r"^\d{5}$")
EARTH_RADIUS_M = 6_371_008.8
# Reverse geocoding looks this far from the pin.
NEAR_METRES = 150.0
REMOTE_PAUSE_SECONDS = 60.0


def fold(text: str) -> str:
    """Lower case, no accents, every run of punctuation (hyphens, apostrophes, commas, dots) a single space."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain.replace("œ", "oe").replace("æ", "ae")).split())


def expand(words: Iterable[str]) -> list[str]:
    return [ABBREVIATIONS.get(word, word) for word in words]


def street_key(name: str) -> str:
    """A street's name as the geocoder compares it: "Bd Saint-Michel" and "boulevard st michel" agree."""
    return " ".join(expand(fold(name).split()))


@dataclass(frozen=True)
class ParsedAddress:
    """What a typed address says: a house number (and repetition), street words, a postcode."""

    number: int | None
    repetition: str
    words: list[str]
    postcode: str


def parse_address(text: str) -> ParsedAddress:
    tokens = fold(text).split()
    number: int | None = None
    repetition = ""
    postcode = ""
    words: list[str] = []
    for position, token in enumerate(tokens):
        if POSTCODE.match(token) and not postcode and (words or position > 0):
            postcode = token
            continue
        matched = NUMBER.match(token)
        if matched and number is None and not words:
            number = int(matched.group(1))
            repetition = matched.group(2) if matched.group(2) in REPETITIONS else ""
            continue
        if number is not None and not words and not repetition and token in REPETITIONS - {"a", "d", "e"}:
            repetition = token
            continue
        words.append(token)
    return ParsedAddress(number, repetition, expand(words), postcode)


@dataclass(frozen=True)
class Street:
    key: str
    name: str
    postcodes: tuple[str, ...]
    commune: str


class StreetIndex:
    """The city's streets in memory: which streets hold all the given words (or a word starting so)."""

    def __init__(self, revision: str, streets: Sequence[Street]) -> None:
        self.revision = revision
        self.streets = list(streets)
        self.by_key = {street.key: position for position, street in enumerate(self.streets)}
        postings: dict[str, set[int]] = {}
        for position, street in enumerate(self.streets):
            for word in street.key.split():
                if word not in STOP_WORDS:
                    postings.setdefault(word, set()).add(position)
        self.postings = postings
        self.vocabulary = sorted(postings)
        self.commune_words = frozenset(word for street in self.streets for word in fold(street.commune).split())

    def _with_prefix(self, prefix: str) -> set[int]:
        found: set[int] = set()
        start = bisect.bisect_left(self.vocabulary, prefix)
        for word in self.vocabulary[start:]:
            if not word.startswith(prefix):
                break
            found |= self.postings[word]
        return found

    def match(self, words: Sequence[str], postcode: str = "", *, prefix: bool = False, limit: int = 5) -> list[Street]:
        """The streets best matching the words: the same name first, then those holding every word (the last
        one as a prefix when `prefix`), shorter names and the typed postcode first."""
        significant = [word for word in words if word not in STOP_WORDS]
        if not significant:
            return []
        exact = self.by_key.get(" ".join(words))
        sets: list[set[int]] = []
        for position, word in enumerate(significant):
            last = position == len(significant) - 1
            sets.append(self._with_prefix(word) if prefix and last else self.postings.get(word, set()))
        sets.sort(key=len)
        candidates = set(sets[0]).intersection(*sets[1:]) if sets else set()
        if exact is not None:
            candidates.add(exact)
        typed_type = words[0] if words else ""

        def rank(position: int) -> tuple[int, int, int, int, str]:
            street = self.streets[position]
            key_words = street.key.split()
            return (
                0 if position == exact else 1,
                0 if postcode and postcode in street.postcodes else 1,
                0 if key_words[0] == typed_type else 1,
                len(key_words),
                street.key,
            )

        return [self.streets[position] for position in sorted(candidates, key=rank)[:limit]]


class StreetIndexCache:
    """One app's street index, rebuilt when an address file is imported (the newest import's revision is
    checked at most every `revalidate_seconds`)."""

    def __init__(self, revalidate_seconds: float = 0.0) -> None:
        self.revalidate_seconds = revalidate_seconds
        self._index: StreetIndex | None = None
        self._checked_at = -math.inf

    async def get(self, session: AsyncSession) -> StreetIndex | None:
        if self._index is not None and time.monotonic() - self._checked_at < self.revalidate_seconds:
            return self._index
        newest = select(AddressImport.revision).order_by(AddressImport.id.desc()).limit(1)
        revision = (await session.execute(newest)).scalar_one_or_none()
        if revision is None:
            self._index = None
        elif self._index is None or self._index.revision != revision:
            self._index = await load_street_index(session, revision)
        self._checked_at = time.monotonic()
        return self._index


async def load_street_index(session: AsyncSession, revision: str = "") -> StreetIndex:
    """Every street of the imported addresses, with its postcodes (one grouped read)."""
    query = select(Address.street_key, Address.code_postal, func.min(Address.nom_voie), func.min(Address.nom_commune))
    rows = (await session.execute(query.group_by(Address.street_key, Address.code_postal))).all()
    grouped: dict[str, tuple[str, list[str], str]] = {}
    for key, postcode, name, commune in rows:
        entry = grouped.setdefault(key, (name, [], commune))
        if postcode:
            entry[1].append(postcode)
    streets = [Street(key, name, tuple(sorted(codes)), commune) for key, (name, codes, commune) in grouped.items()]
    return StreetIndex(revision, sorted(streets, key=lambda street: street.key))


@dataclass(frozen=True)
class Place:
    """Where a typed address (or a pin) is: a point and what to call it. `kind`: housenumber (that very
    number), street (a number near the one typed, or the street's middle), neighbourhood or postcode (their
    centre, when no address matched)."""

    lon: float
    lat: float
    label: str
    kind: str
    housenumber: str = ""
    street: str = ""
    postcode: str = ""
    city: str = ""
    address_id: str = ""
    source: str = "offline"

    def feature(self) -> dict[str, Any]:
        """The place as a GeoJSON Feature with the BAN search API's properties."""
        properties = {
            "label": self.label,
            "type": self.kind,
            "housenumber": self.housenumber or None,
            "street": self.street or None,
            "postcode": self.postcode or None,
            "city": self.city or None,
            "id": self.address_id or None,
            "source": self.source,
        }
        geometry = {"type": "Point", "coordinates": [self.lon, self.lat]}
        return {"type": "Feature", "geometry": geometry, "properties": properties}


def _housenumber(address: Address) -> str:
    return f"{address.numero} {address.suffixe}".strip() if address.suffixe else str(address.numero)


def address_place(address: Address, kind: str = "housenumber", source: str = "offline") -> Place:
    number = _housenumber(address)
    city = f"{address.code_postal} {address.nom_commune}".strip()
    return Place(
        lon=address.lon,
        lat=address.lat,
        label=f"{number} {address.nom_voie}, {city}".strip(", "),
        kind=kind,
        housenumber=number,
        street=address.nom_voie,
        postcode=address.code_postal,
        city=address.nom_commune,
        address_id=address.ban_id,
        source=source,
    )


async def _on_street(session: AsyncSession, street: Street, parsed: ParsedAddress) -> Place | None:
    """The typed number on the street (in the typed postcode first), else the nearest number (in the typed
    postcode first), else without a number the street's middle (within the typed postcode when it has numbers
    there). A street that crosses arrondissements keeps its numbers: "10 rue de Rivoli 75001" is the 10, in 75004."""
    query = select(Address).where(Address.street_key == street.key)
    typed_postcode = parsed.postcode if parsed.postcode in street.postcodes else ""
    if parsed.number is None:
        if typed_postcode:
            query = query.where(Address.code_postal == typed_postcode)
        count = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
        middle = (await session.execute(query.order_by(Address.numero).offset(count // 2).limit(1))).scalar()
        if middle is None:
            return None
        city = f"{middle.code_postal} {middle.nom_commune}".strip()
        label = f"{middle.nom_voie}, {city}".strip(", ")
        return Place(
            middle.lon, middle.lat, label, "street", street=middle.nom_voie, postcode=middle.code_postal,
            city=middle.nom_commune,
        )  # fmt: skip
    nearest = query.order_by(
        Address.numero != parsed.number,
        Address.code_postal != typed_postcode,
        func.abs(Address.numero - parsed.number),
        Address.suffixe != parsed.repetition,
        Address.numero,
    ).limit(1)
    found = (await session.execute(nearest)).scalar()
    if found is None:
        return None
    exact = found.numero == parsed.number and found.suffixe == parsed.repetition
    return address_place(found, "housenumber" if exact else "street")


def _street_words(parsed: ParsedAddress, index: StreetIndex) -> list[list[str]]:
    """The street words to try: as typed, then without the words naming the city or the arrondissement."""
    words = parsed.words
    without_place = [
        word
        for word in words
        if word not in index.commune_words and word not in PLACE_WORDS and not ORDINAL.match(word)
    ]
    return [words] if without_place == words else [words, without_place]


async def search_offline(
    session: AsyncSession, index: StreetIndex | None, text: str, *, limit: int = 1, autocomplete: bool = False
) -> list[Place]:
    """The imported addresses best matching the text (none without imported addresses)."""
    if index is None:
        return []
    parsed = parse_address(text)
    for words in _street_words(parsed, index):
        streets = index.match(words, parsed.postcode, prefix=autocomplete, limit=limit)
        places = [place for street in streets if (place := await _on_street(session, street, parsed)) is not None]
        if places:
            return places
    return []


def _distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot(x, math.radians(lat2 - lat1)) * EARTH_RADIUS_M


async def reverse_offline(session: AsyncSession, lon: float, lat: float, within_m: float = NEAR_METRES) -> Place | None:
    """The imported address nearest to the point, if one is within `within_m` metres (by the (lat, lon) index)."""
    dlat = math.degrees(within_m / EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
    box = select(Address).where(
        Address.lat.between(lat - dlat, lat + dlat), Address.lon.between(lon - dlon, lon + dlon)
    )
    best: tuple[float, Address] | None = None
    for address in (await session.execute(box)).scalars():
        distance = _distance_m(lon, lat, address.lon, address.lat)
        if distance <= within_m and (best is None or distance < best[0]):
            best = (distance, address)
    return None if best is None else address_place(best[1])


# --- places without imported addresses: neighbourhoods and postcodes --------------------------------


async def gazetteer_place(session: AsyncSession, text: str) -> Place | None:
    """A neighbourhood named in the text (the longest name wins), else a Paris postcode (750NN, 75116): the
    centre of the neighbourhood, or of the arrondissement's neighbourhoods (INSEE codes 751NN…)."""
    folded = f" {fold(text)} "
    neighbourhoods = list((await session.execute(select(Neighbourhood).order_by(Neighbourhood.position))).scalars())
    named = [n for n in neighbourhoods if fold(n.name) and f" {fold(n.name)} " in folded]
    if named:
        best = max(named, key=lambda n: len(n.name))
        return Place(best.centroid_lon, best.centroid_lat, best.name, "neighbourhood")
    postcode = next((token for token in folded.split() if POSTCODE.match(token)), "")
    if postcode.startswith("750") or postcode == "75116":
        arrondissement = "16" if postcode == "75116" else postcode[3:]
        inside = [n for n in neighbourhoods if (n.code or "").startswith("751" + arrondissement)]
        if inside:
            centre = unary_union([shape(n.geometry) for n in inside]).representative_point()
            return Place(centre.x, centre.y, postcode, "postcode", postcode=postcode)
    return None


# --- a BAN-compatible search API --------------------------------------------------------------------


def _remote_get(url: str, params: dict[str, str], timeout: float) -> Any:
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError("the geocoder's URL must be http(s)")
    query = url + ("&" if "?" in url else "?") + urllib.parse.urlencode(params)
    request = urllib.request.Request(query, headers={"Accept": "application/json"})  # noqa: S310 (http(s) only)
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return json.loads(response.read(1_000_000))


def _remote_places(data: Any) -> list[Place]:
    """The features of a BAN search API answer as places (features without a point are skipped)."""
    places = []
    for feature in data.get("features", []) if isinstance(data, dict) else []:
        try:
            lon, lat = (float(value) for value in feature["geometry"]["coordinates"][:2])
        except (KeyError, TypeError, ValueError):
            continue
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            continue
        properties = feature.get("properties") or {}

        def text(name: str, properties: dict[str, Any] = properties) -> str:
            value = properties.get(name)
            return str(value)[:300] if value is not None else ""

        kind = text("type") if text("type") in ("housenumber", "street") else "street"
        places.append(
            Place(
                lon,
                lat,
                text("label"),
                kind,
                text("housenumber"),
                text("street") or text("name"),
                text("postcode"),
                text("city"),
                text("id")[:100],
                "remote",
            )
        )
    return places


@dataclass
class Gazetteer:
    """What one app geocodes with: the street index of the imported addresses and, optionally, a BAN-compatible
    search API (`url`, e.g. https://api-adresse.data.gouv.fr/search/) asked first."""

    url: str = ""
    timeout_seconds: float = 2.0
    streets: StreetIndexCache = field(default_factory=StreetIndexCache)
    _remote_paused_until: float = -math.inf

    async def _remote(self, path_end: str, params: dict[str, str]) -> list[Place] | None:
        """The remote API's places; None when it is not set, failed, or failed less than a minute ago."""
        if not self.url or time.monotonic() < self._remote_paused_until:
            return None
        url = self.url
        if path_end == "reverse":
            url = re.sub(r"search/?$", lambda m: "reverse/" if m.group(0).endswith("/") else "reverse", url)
        try:
            data = await asyncio.to_thread(_remote_get, url, params, self.timeout_seconds)
        except (OSError, ValueError):  # unreachable, timed out, an HTTP error, not JSON
            self._remote_paused_until = time.monotonic() + REMOTE_PAUSE_SECONDS
            return None
        return _remote_places(data)

    async def search(
        self, session: AsyncSession, text: str, *, limit: int = 5, autocomplete: bool = False
    ) -> list[Place]:
        """Addresses matching the text, best first: the remote API's when it answers, else the imported file's."""
        text = text.strip()[:200]
        if len(fold(text)) < 3:
            return []
        params = {"q": text, "limit": str(limit), "autocomplete": "1" if autocomplete else "0"}
        remote = await self._remote("search", params)
        if remote:
            return remote[:limit]
        index = await self.streets.get(session)
        return await search_offline(session, index, text, limit=limit, autocomplete=autocomplete)

    async def place(self, session: AsyncSession, text: str) -> Place | None:
        """The one place a typed address names: an address, else a neighbourhood's name or a postcode.
        A text that is just a neighbourhood's name is that neighbourhood, not a street named after it."""
        named = await gazetteer_place(session, text)
        if named is not None and named.kind == "neighbourhood" and fold(named.label) == fold(text):
            return named
        found = await self.search(session, text, limit=1)
        return found[0] if found else named

    async def lookup(
        self, session: AsyncSession, text: str, *, limit: int = 5, autocomplete: bool = False
    ) -> list[Place]:
        """Addresses matching the text (`search`); when none does, the neighbourhood or the postcode it names,
        as `place` would take it: what the address API answers, so that the report form's pin follows a
        postcode or a quartier's name as it is typed."""
        named = await gazetteer_place(session, text)
        if named is not None and named.kind == "neighbourhood" and fold(named.label) == fold(text):
            return [named]
        found = await self.search(session, text, limit=limit, autocomplete=autocomplete)
        return found or ([named] if named is not None else [])

    async def reverse(self, session: AsyncSession, lon: float, lat: float) -> Place | None:
        """The address nearest to a pin (within ~150 m), or None."""
        remote = await self._remote("reverse", {"lon": f"{lon:.6f}", "lat": f"{lat:.6f}", "limit": "1"})
        if remote:
            return remote[0]
        return await reverse_offline(session, lon, lat)
