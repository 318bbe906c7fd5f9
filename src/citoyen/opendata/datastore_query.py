"""The parameters of a datastore_search call, read and checked as CKAN names them and with its defaults (the
search itself is in `datastore`): a Validation Error names the parameter; field names are checked against the
resource's fields when it is searched."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from citoyen.opendata.errors import invalid

DEFAULT_LIMIT = 100
MAX_LIMIT = 32_000  # CKAN's ckan.datastore.search.rows_max
# Counting exactly up to this many matches; above it the total is estimated (CKAN's total_estimation_threshold).
TOTAL_ESTIMATION_THRESHOLD = 100_000


@dataclass
class Query:
    """A datastore_search call, checked."""

    resource_id: str
    q: str | dict[str, str] = ""
    filters: dict[str, list[Any]] = field(default_factory=dict)
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    fields: list[str] | None = None
    include_total: bool = True
    distinct: bool = False
    records_format: str = "objects"
    total_estimation_threshold: int = TOTAL_ESTIMATION_THRESHOLD
    # What the client sent, for the _links (CKAN rebuilds them from the call's parameters).
    given: dict[str, Any] = field(default_factory=dict)


def _json_param(params: dict[str, Any], key: str) -> Any:
    value = params.get(key)
    if isinstance(value, str):
        stripped = value.strip()
        if stripped[:1] in ("{", "["):
            try:
                return json.loads(stripped)
            except ValueError:
                raise invalid(key, "Cannot parse JSON") from None
    return value


def _int_param(params: dict[str, Any], key: str, default: int, high: int) -> int:
    value = params.get(key)
    if value in (None, ""):
        return default
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise invalid(key, "Invalid integer")
    try:
        number = int(value)
    except ValueError:
        raise invalid(key, "Invalid integer") from None
    if number < 0:
        raise invalid(key, "Must be a natural number")
    return min(number, high)


def _bool_param(params: dict[str, Any], key: str, default: bool) -> bool:
    value = params.get(key, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on", "false", "0", "no", "off", ""):
        return value.lower() in ("true", "1", "yes", "on")
    raise invalid(key, "Must be a boolean (true or false)")


def _names(value: Any, key: str) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return [item.strip() for item in value]
    raise invalid(key, "Must be a list of field names or a comma-separated string")


def parse_query(params: dict[str, Any]) -> Query:
    """Check a datastore_search call's parameters (CKAN's names and defaults); a Validation Error names the
    parameter (field names are checked against the resource's fields by `search`)."""
    resource_id = params.get("resource_id", params.get("id"))
    if not isinstance(resource_id, str) or not resource_id.strip():
        raise invalid("resource_id", "Missing value")
    query = Query(resource_id.strip(), given={key: value for key, value in params.items() if key != "offset"})
    q = _json_param(params, "q")
    if isinstance(q, dict):
        if not all(isinstance(value, str | int | float) for value in q.values()):
            raise invalid("q", "Must be a text or a dictionary of field names and texts")
        query.q = {str(key): str(value) for key, value in q.items()}
    elif isinstance(q, str | int | float) and not isinstance(q, bool):
        query.q = str(q).strip()
    elif q is not None:
        raise invalid("q", "Must be a text or a dictionary of field names and texts")
    filters = _json_param(params, "filters")
    if filters not in (None, ""):
        if not isinstance(filters, dict):
            raise invalid("filters", "Must be a JSON dictionary of field names and values")
        for key, value in filters.items():
            values = value if isinstance(value, list) else [value]
            if not values or not all(isinstance(item, str | int | float | bool) for item in values):
                raise invalid("filters", f'field "{key}": a value or a list of values')
            query.filters[str(key)] = values
    query.limit = _int_param(params, "limit", DEFAULT_LIMIT, MAX_LIMIT)
    query.offset = _int_param(params, "offset", 0, 10**12)
    sort = params.get("sort")
    if sort not in (None, ""):
        for part in _names(sort, "sort"):
            words = part.split()
            direction = words[1].lower() if len(words) == 2 else "asc"
            if len(words) > 2 or direction not in ("asc", "desc"):
                raise invalid("sort", f'Cannot parse "{part}": a field name, then asc or desc')
            name = words[0].strip('"')
            query.sort.append((name, direction == "desc"))
    fields = _json_param(params, "fields")
    if fields not in (None, ""):
        query.fields = _names(fields, "fields")
    query.include_total = _bool_param(params, "include_total", True)
    query.distinct = _bool_param(params, "distinct", False)
    records_format = params.get("records_format", "objects")
    if records_format not in ("objects", "lists"):
        raise invalid("records_format", "Must be objects or lists")
    query.records_format = str(records_format)
    query.total_estimation_threshold = _int_param(
        params, "total_estimation_threshold", TOTAL_ESTIMATION_THRESHOLD, 10**12
    )
    return query
