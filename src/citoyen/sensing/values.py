"""What a client writes, checked and turned into column values: times and intervals, typed results,
GeoJSON, Citoyen's access settings in a Thing's properties, and caps on sizes (with `validation.py`,
which holds the checks MQTT and bulk ingest share). Refusals are 400s naming the property.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.people import service as people
from citoyen.sensing.context import Context, StaError
from citoyen.sensing.entities import EntitySet, Property
from citoyen.sensing.models import ResultType, ThingAccess, ThingKind
from citoyen.sensing.validation import Limits, check_geometry, check_json_size, check_text, id_in_range
from citoyen.territory.service import locate_id


def parse_time(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise StaError(400, f"{name} must be an ISO 8601 date-time string")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise StaError(400, f"{name}: {value!r} is not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise StaError(400, f"{name}: {value!r} needs a time zone (such as Z or +01:00)")
    return parsed


def parse_time_or_interval(value: Any, name: str) -> tuple[datetime, datetime | None]:
    """An instant, or `start/end` (end after start)."""
    if isinstance(value, str) and "/" in value:
        start_text, _, end_text = value.partition("/")
        start, end = parse_time(start_text, name), parse_time(end_text, name)
        if end < start:
            raise StaError(400, f"{name}: the interval ends before it starts")
        return start, end
    return parse_time(value, name), None


def typed_result(value: Any) -> tuple[int, float | None, str | None, bool | None, Any]:
    """(result_type, number, string, boolean, json): one typed column per kind of JSON value."""
    if value is None:
        return ResultType.NULL, None, None, None, None
    if isinstance(value, bool):
        return ResultType.BOOLEAN, None, None, value, None
    if isinstance(value, int):
        if abs(value) <= 2**53:
            return ResultType.INTEGER, float(value), None, None, None
        return ResultType.JSON, None, None, None, value
    if isinstance(value, float):
        return ResultType.FLOAT, value, None, None, None
    if isinstance(value, str):
        return ResultType.STRING, None, value, None, None
    return ResultType.JSON, None, None, None, value


def _geojson(value: Any, name: str) -> tuple[str, float | None, float | None]:
    """The GeoJSON as stored (text) and a representative point; 400 when it is not GeoJSON."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise StaError(400, f"{name} must be a GeoJSON object") from None
    try:
        geom = check_geometry(value, name)
    except ValueError as error:
        raise StaError(400, str(error)) from None
    point = geom if geom.geom_type == "Point" else geom.representative_point()
    return json.dumps(value), float(point.x), float(point.y)


# Citoyen's settings of a Thing, beside its properties (never inside them): instance annotations of the Thing.
THING_SETTINGS = {"@citoyen.access": "access", "@citoyen.kind": "kind", "@citoyen.owner": "owner"}


async def _thing_settings(session: AsyncSession, settings: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """Columns for a Thing's access, kind and owner from `settings` ({"access": ...}); `prefix` names them."""
    columns: dict[str, Any] = {}
    if "access" in settings:
        try:
            columns["access"] = ThingAccess(settings["access"]).value
        except ValueError:
            allowed = ", ".join(access.value for access in ThingAccess)
            raise StaError(400, f"{prefix}access must be one of {allowed}") from None
    if "kind" in settings:
        try:
            columns["kind"] = ThingKind(settings["kind"]).value
        except ValueError:
            allowed = ", ".join(kind.value for kind in ThingKind)
            raise StaError(400, f"{prefix}kind must be one of {allowed}") from None
    if "owner" in settings:
        owner = settings["owner"]
        if owner is not None and (not isinstance(owner, int) or isinstance(owner, bool)):
            raise StaError(400, f"{prefix}owner must be a person's id")
        if owner is not None and (not id_in_range(owner) or await people.get_person(session, owner) is None):
            raise StaError(400, f"{prefix}owner: there is no person {owner}")
        columns["owner_person_id"] = owner
    return columns


async def _thing_columns(session: AsyncSession, value: Any) -> dict[str, Any]:
    """A Thing's properties as the client wrote them. The settings that older clients send inside them
    (`properties.citoyen`) are still understood, taken out and kept in their columns, never in the properties."""
    if value is None:
        return {"properties": None}
    if not isinstance(value, dict):
        raise StaError(400, "properties must be a JSON object")
    properties = dict(value)
    columns: dict[str, Any] = {}
    citoyen = properties.pop("citoyen", None)
    if citoyen is not None:
        if not isinstance(citoyen, dict):
            raise StaError(400, "properties.citoyen must be an object with access, kind and owner")
        columns.update(await _thing_settings(session, citoyen, "properties.citoyen."))
    columns["properties"] = properties
    return columns


def merge_patch(target: Any, patch: Any) -> Any:
    """JSON Merge Patch (RFC 7396): members of `patch` replace those of `target`, null removes one, objects merge."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


async def column_values(
    session: AsyncSession, ctx: Context, entity_set: EntitySet, body: Mapping[str, Any], *, creating: bool
) -> dict[str, Any]:
    """Column values for the plain properties in `body` (navigation properties are handled elsewhere)."""
    if creating:
        missing = [
            prop.name
            for prop in entity_set.properties
            if prop.required and body.get(prop.name) is None and not (prop.name == "result" and "result" in body)
        ]
        if missing:
            raise StaError(400, f"{entity_set.singular} is missing required properties: {', '.join(missing)}")
    columns: dict[str, Any] = {}
    for name, value in body.items():
        prop = entity_set.by_name.get(name)
        if prop is None or name in entity_set.navigation_by_name:
            continue
        if prop.read_only:
            continue  # computed by the server from the Observations (18-088 allows ignoring them)
        if value is None and prop.required and name != "result":
            raise StaError(400, f"{entity_set.singular}.{name} cannot be null")
        _check_size(entity_set, prop, value, ctx.limits)
        if name == "properties" and entity_set.name == "Things":
            columns.update(await _thing_columns(session, value))
        elif name == "properties" and value is not None and not isinstance(value, dict):
            raise StaError(400, "properties must be a JSON object")
        elif name == "result":
            kind, number, text, boolean, document = typed_result(value)
            columns.update(
                result_type=int(kind),
                result_number=number,
                result_string=text,
                result_boolean=boolean,
                result_json=document,
            )
        elif prop.interval_end and entity_set.name == "Observations":
            if value is None:
                if name == "phenomenonTime":
                    raise StaError(400, "phenomenonTime cannot be null")
                columns[prop.column], columns[prop.interval_end] = None, None
            else:
                columns[prop.column], columns[prop.interval_end] = parse_time_or_interval(value, name)
        elif prop.kind == "datetime":
            columns[prop.column] = None if value is None else parse_time(value, name)
        elif prop.kind == "geometry":
            text, lon, lat = _geojson(value, name)
            columns[prop.column] = text
            if entity_set.name in ("Locations", "FeaturesOfInterest"):
                columns["lon"], columns["lat"] = lon, lat
                if entity_set.name == "Locations":
                    columns["neighbourhood_id"] = (
                        await locate_id(session, ctx.territory, lon, lat)
                        if ctx.territory is not None and lon is not None and lat is not None
                        else None
                    )
        elif name == "unitOfMeasurement" and not isinstance(value, dict):
            raise StaError(400, "unitOfMeasurement must be an object with name, symbol and definition")
        elif prop.kind == "string" and not isinstance(value, str):
            raise StaError(400, f"{entity_set.singular}.{name} must be a string")
        else:
            columns[prop.column] = value
    if entity_set.name == "Things":
        settings = {column: body[key] for key, column in THING_SETTINGS.items() if key in body}
        columns.update(await _thing_settings(session, settings, "@citoyen."))
    if creating and entity_set.name == "Observations" and "phenomenon_time_start" not in columns:
        # 18-088: without a phenomenonTime the server uses the time it received the Observation.
        columns["phenomenon_time_start"] = utcnow()
    return columns


# Multi-line text may hold tabs and line breaks; every other string property is one line.
_MULTILINE = frozenset({"description", "metadata"})


def _check_size(entity_set: EntitySet, prop: Property, value: Any, limits: Limits) -> None:
    """Caps on what one property may hold (a 10 MB description would be served by every later page), and
    no control characters in text."""
    label = f"{entity_set.singular}.{prop.name}"
    try:
        if isinstance(value, str) and prop.kind in ("string", "json"):
            length = getattr(entity_set.table.c[prop.column].type, "length", None)
            if prop.name == "name":
                limit = min(limits.name_chars, length or limits.name_chars)
            else:
                limit = length or limits.text_chars
            if prop.name == "result":
                check_json_size(value, label, limits.json_bytes)
            else:
                check_text(value, label, limit, multiline=prop.name in _MULTILINE)
        elif value is not None and prop.kind in ("json", "number", "geometry"):
            check_json_size(value, label, limits.json_bytes)
    except ValueError as error:
        raise StaError(400, str(error)) from None


def check_keys(entity_set: EntitySet, body: Mapping[str, Any]) -> None:
    for key in body:
        if key in ("@iot.id", "@iot.selfLink") or key.endswith("@iot.navigationLink"):
            continue
        if entity_set.name == "Things" and key in THING_SETTINGS:
            continue
        if key not in entity_set.by_name and key not in entity_set.navigation_by_name:
            raise StaError(400, f"{entity_set.singular} has no property {key!r}")
