"""Writers of published tables: CSV (UTF-8, RFC 4180), GeoJSON (RFC 7946) and the Frictionless Table Schema of
each table, streamed batch by batch into a file or stream the caller gives, so memory stays flat however many rows.

Values are written as Table Schema reads them back by default: datetimes in ISO 8601 UTC with a `Z`, booleans
`true`/`false`, missing values empty (`missingValues: [""]`).
"""

from __future__ import annotations

import csv
import math
from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import IO, Any, Literal

import orjson

FieldType = Literal["string", "integer", "number", "boolean", "datetime", "date"]
MISSING_VALUES = [""]


@dataclass(frozen=True)
class Column:
    """One column of a published table: its name, Table Schema type, French and English titles and the
    optional explanations and constraints (`required`, allowed values)."""

    name: str
    type: FieldType
    title: str
    title_en: str
    description: str = ""
    description_en: str = ""
    required: bool = False
    allowed: tuple[str, ...] | None = None

    def descriptor(self) -> dict[str, Any]:
        french = f"{self.title}. {self.description}".strip() if self.description else self.title
        english = f"{self.title_en}. {self.description_en}".strip() if self.description_en else self.title_en
        field: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "title": self.title,
            "description": f"FR : {french}\nEN: {english}",
        }
        constraints: dict[str, Any] = {}
        if self.required:
            constraints["required"] = True
        if self.allowed is not None:
            constraints["enum"] = list(self.allowed)
        if constraints:
            field["constraints"] = constraints
        return field


def table_schema(columns: Sequence[Column], primary_key: Sequence[str] = ()) -> dict[str, Any]:
    """The Frictionless Table Schema of a table."""
    schema: dict[str, Any] = {"fields": [column.descriptor() for column in columns], "missingValues": MISSING_VALUES}
    if primary_key:
        schema["primaryKey"] = list(primary_key)
    return schema


def _moment(value: datetime) -> str:
    if value.tzinfo is not UTC:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat()[:-6] + "Z"  # "+00:00" written as Table Schema's default "Z"


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _integer(value: Any) -> str:
    return "" if value is None else str(int(value))


def _number(value: Any) -> str:
    if value is None:
        return ""
    number = float(value)
    return repr(number) if math.isfinite(number) else ""


def _boolean(value: Any) -> str:
    return "" if value is None else ("true" if value else "false")


def _datetime(value: Any) -> str:
    if value is None:
        return ""
    return _moment(value) if isinstance(value, datetime) else str(value)


def _date(value: Any) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else str(value)


FORMATTERS = {
    "string": _text,
    "integer": _integer,
    "number": _number,
    "boolean": _boolean,
    "datetime": _datetime,
    "date": _date,
}


def cell(value: Any, kind: FieldType) -> str:
    """A value as written in a CSV cell of type `kind` ("" for missing)."""
    return FORMATTERS[kind](value)


def _json_value(value: Any, kind: FieldType) -> Any:
    if value is None:
        return None
    if kind == "datetime" and isinstance(value, datetime):
        return _moment(value)
    if kind == "date" and isinstance(value, date):
        return value.isoformat()
    if kind == "number":
        number = float(value)
        return number if math.isfinite(number) else None
    return value


class SchemaViolation(ValueError):
    """A row the writer was given breaks its table's Table Schema (a required cell empty, a value not allowed)."""


def check_row(columns: Sequence[Column], row: dict[str, Any], number: int) -> None:
    """The constraints of the Table Schema a written row must meet (its types hold by construction: each value
    is formatted by its column's type), checked as it is written rather than by reading the file back."""
    for column in columns:
        value = row.get(column.name)
        if value is None or value == "":
            if column.required:
                raise SchemaViolation(f"row {number}, field {column.name}: required, but empty (Table Schema)")
        elif column.allowed is not None and str(value) not in column.allowed:
            raise SchemaViolation(f"row {number}, field {column.name}: {value!r} is not allowed (Table Schema)")


def _constrained(columns: Sequence[Column]) -> list[Column]:
    return [column for column in columns if column.required or column.allowed is not None]


async def write_csv(columns: Sequence[Column], batches: AsyncIterable[list[dict[str, Any]]], stream: IO[str]) -> int:
    """Write a header and every row (RFC 4180: CRLF line ends, fields quoted when needed); the caller opens
    `stream` as UTF-8 text with `newline=""`. Returns the number of rows; raises `SchemaViolation` on a row
    that breaks a column's constraint."""
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow([column.name for column in columns])
    formats = [(column.name, FORMATTERS[column.type]) for column in columns]
    constrained = _constrained(columns)
    count = 0
    async for rows in batches:
        if constrained:
            for number, row in enumerate(rows, start=count + 2):  # row 1 is the header
                check_row(constrained, row, number)
        writer.writerows([write(row.get(name)) for name, write in formats] for row in rows)
        count += len(rows)
    return count


def _geometry(row: dict[str, Any]) -> dict[str, Any] | None:
    geometry = row.get("geometry")
    if isinstance(geometry, dict):
        return geometry
    lon, lat = row.get("lon"), row.get("lat")
    if lon is None or lat is None:
        return None
    return {"type": "Point", "coordinates": [float(lon), float(lat)]}


async def write_geojson(
    columns: Sequence[Column], batches: AsyncIterable[list[dict[str, Any]]], stream: IO[str], id_column: str = "id"
) -> int:
    """Write a GeoJSON FeatureCollection: each row a Feature whose geometry is its `geometry` (a GeoJSON
    geometry) or the point (`lon`, `lat`), null when it has neither, and whose properties are `columns`."""
    stream.write('{"type":"FeatureCollection","features":[')
    count = 0
    async for rows in batches:
        for row in rows:
            feature: dict[str, Any] = {"type": "Feature"}
            if row.get(id_column) is not None:
                feature["id"] = row[id_column]
            feature["geometry"] = _geometry(row)
            feature["properties"] = {column.name: _json_value(row.get(column.name), column.type) for column in columns}
            stream.write(("," if count else "") + "\n" + orjson.dumps(feature).decode())
            count += 1
    stream.write("\n]}\n")
    return count
