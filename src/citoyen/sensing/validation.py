"""Checks on what SensorThings clients send, before anything reaches the database.

Every refusal is a ValueError whose message the caller turns into a 400 in SensorThings' error format
(HTTP) or a logged, dropped message (MQTT): bad input must never become a server error, and nothing
of a refused request is stored.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import orjson
import shapely
from shapely.geometry import shape
from shapely.validation import explain_validity

from citoyen.config import Settings

# The largest id either database can hold (BIGINT); ids beyond it name nothing.
MAX_ID = 2**63 - 1
# A lone surrogate cannot be encoded in UTF-8 (PostgreSQL and SQLite both refuse it); NUL cannot be stored
# in PostgreSQL's text or jsonb at all, so it is refused everywhere for one behaviour on both databases.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# Integers of 19 digits or more, which orjson reads as floats past 64 bits (the standard library keeps them whole).
_LONG_DIGITS = re.compile(r"\d{19}")
# Bytes with every digit made "0" and anything else " ": a run of 19 digits is then a plain substring search, in a
# tenth of the regular expression's time over a CreateObservations body.
_DIGITS_AS_ZEROS = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_NINETEEN_DIGITS = b"0" * 19


@dataclass(frozen=True)
class Limits:
    """Sizes a client may send (from Settings: `sta_max_*`)."""

    name_chars: int = 300
    text_chars: int = 10_000
    json_bytes: int = 65_536

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(settings.sta_max_name_chars, settings.sta_max_text_chars, settings.sta_max_json_bytes)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text} is too large to be stored")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def load_json(raw: bytes | str) -> Any:
    """JSON as RFC 8259 has it: no NaN or Infinity, numbers a double can hold, nesting Python can follow,
    strings that can be stored (no NUL, no lone surrogate). ValueError says what is wrong.

    orjson reads the usual document (a CreateObservations batch) in a fraction of the standard library's time,
    and refuses what RFC 8259 does not allow; anything it refuses, or may read differently (integers past 64 bits),
    goes through the standard library, whose answers and messages stay the reference. NUL and lone surrogates
    can only come as `\\u` escapes in valid UTF-8 JSON: a document without any needs no walk over its strings."""
    if isinstance(raw, str):
        fast, escaped = _LONG_DIGITS.search(raw) is None, "\\u" in raw
    else:
        raw = bytes(raw)
        fast, escaped = _NINETEEN_DIGITS not in raw.translate(_DIGITS_AS_ZEROS), b"\\u" in raw
    if fast:
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
        else:
            if not escaped:
                return document
            try:
                _check_storable(document)
            except RecursionError:
                raise ValueError("the JSON is nested too deeply") from None
            return document
    try:
        document = json.loads(raw, parse_float=_finite_float, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None
    except UnicodeDecodeError:
        raise ValueError("the body is not UTF-8") from None
    try:
        _check_storable(document)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None
    return document


def _check_storable(value: Any) -> None:
    if isinstance(value, str):
        if _UNSTORABLE.search(value):
            raise ValueError("text cannot hold NUL characters or lone UTF-16 surrogates (such as \\ud800)")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_storable(key)
            _check_storable(item)
    elif isinstance(value, list):
        for item in value:
            _check_storable(item)


def id_in_range(value: int) -> bool:
    return -MAX_ID - 1 <= value <= MAX_ID


def check_text(value: str, label: str, limit: int, *, multiline: bool) -> None:
    """Names and descriptions: a length cap, and no control characters (a description may hold tabs and
    line breaks)."""
    if len(value) > limit:
        raise ValueError(f"{label} is longer than {limit:,} characters ({len(value):,})")
    allowed = "\t\n\r" if multiline else ""
    for char in value:
        if char not in allowed and unicodedata.category(char) == "Cc":
            raise ValueError(f"{label} contains a control character (U+{ord(char):04X})")


def check_json_size(value: Any, label: str, limit: int) -> None:
    size = len(json.dumps(value, ensure_ascii=False).encode())
    if size > limit:
        raise ValueError(f"{label} is larger than {limit:,} bytes of JSON ({size:,})")


# --- GeoJSON (RFC 7946) ----------------------------------------------------------------------------------------

_DEPTH = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3}


def check_geometry(value: Any, label: str) -> Any:
    """The shapely geometry of a GeoJSON geometry or Feature, refused unless RFC 7946 allows it: known type,
    coordinates present, longitude in [-180, 180], latitude in [-90, 90], closed rings of four positions or
    more, and valid as a simple feature (shapely's `explain_validity` says why not)."""
    if not isinstance(value, dict):
        raise ValueError(f"{label} must be a GeoJSON object")
    geometry = value.get("geometry") if value.get("type") == "Feature" else value
    if not isinstance(geometry, dict):
        raise ValueError(f"{label}: a Feature needs a geometry object")
    _check_geometry_object(geometry, label)
    try:
        geom = shape(geometry)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, shapely.errors.GEOSException) as error:
        raise ValueError(f"{label} is not a valid GeoJSON geometry: {error}") from None
    if geom.is_empty:
        raise ValueError(f"{label} is an empty geometry")
    if not geom.is_valid:
        raise ValueError(f"{label} is not a valid geometry: {explain_validity(geom)}")
    return geom


def _check_geometry_object(geometry: dict[str, Any], label: str) -> None:
    kind = geometry.get("type")
    if kind == "GeometryCollection":
        members = geometry.get("geometries")
        if not isinstance(members, list) or not members:
            raise ValueError(f"{label}: a GeometryCollection needs a non-empty geometries array")
        for member in members:
            if not isinstance(member, dict):
                raise ValueError(f"{label}: each member of a GeometryCollection must be a geometry object")
            _check_geometry_object(member, label)
        return
    if kind not in _DEPTH:
        known = ", ".join([*_DEPTH, "GeometryCollection", "Feature"])
        raise ValueError(f"{label}: {kind!r} is not a GeoJSON geometry type (known: {known})")
    coordinates = geometry.get("coordinates")
    if coordinates is None:
        raise ValueError(f"{label}: a {kind} needs coordinates")
    _check_positions(coordinates, _DEPTH[kind], label, kind)


def _check_positions(value: Any, depth: int, label: str, kind: str) -> None:
    if depth == 0:
        _check_position(value, label)
        return
    if not isinstance(value, list) or not value:
        raise ValueError(f"{label}: the coordinates of a {kind} must be non-empty arrays")
    for item in value:
        _check_positions(item, depth - 1, label, kind)
    # A Polygon's coordinates are rings (depth 1 below a polygon): closed, four positions at least.
    if kind in ("Polygon", "MultiPolygon") and depth == 1:
        if len(value) < 4:
            raise ValueError(f"{label}: a {kind} ring needs at least four positions")
        if value[0][:2] != value[-1][:2]:
            raise ValueError(f"{label}: a {kind} ring must be closed (its last position equal to its first)")
    if kind in ("LineString", "MultiLineString") and depth == 1 and len(value) < 2:
        raise ValueError(f"{label}: a line needs at least two positions")


def _check_position(value: Any, label: str) -> None:
    if not isinstance(value, list) or not 2 <= len(value) <= 3:
        raise ValueError(f"{label}: a position is an array [longitude, latitude] (and optionally altitude)")
    for number in value:
        if not isinstance(number, int | float) or isinstance(number, bool) or not math.isfinite(number):
            raise ValueError(f"{label}: coordinates must be finite numbers")
    lon, lat = value[0], value[1]
    if not -180 <= lon <= 180:
        raise ValueError(f"{label}: longitude {lon} is outside [-180, 180]")
    if not -90 <= lat <= 90:
        raise ValueError(f"{label}: latitude {lat} is outside [-90, 90]")
