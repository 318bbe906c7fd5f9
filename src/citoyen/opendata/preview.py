"""Previews of a resource's file for its dataset's page, read from the stored file (no network): the first rows of
a table with its column types (from the version's Table Schema), its time series (a datetime column and a numeric
one) for a chart, the places of a GeoJSON file or of a table with longitude and latitude columns for a map. A
workbook (XLSX) previews its first sheet as a table.

A preview reads a bounded part of the file, however big the file is."""

from __future__ import annotations

import csv
import itertools
import json
import math
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from citoyen.opendata.models import Resource, ResourceVersion

PREVIEW_ROWS = 100
# A chart and a map draw more than the table shows, still within bounds.
CHART_POINTS = 2000
MAP_FEATURES = 1000
# What a place's popup shows: its first properties, shortened.
POPUP_FIELDS = 8
POPUP_TEXT = 80
# A GeoJSON file is parsed whole to be drawn: bigger files are only offered for download.
MAX_GEOJSON_BYTES = 10 * 1024 * 1024
TABULAR = ("CSV", "TSV")
NUMERIC = ("integer", "number")
TEMPORAL = ("datetime", "date")
LONGITUDES = ("lon", "lng", "long", "longitude", "x")
LATITUDES = ("lat", "latitude", "y")


@dataclass(frozen=True)
class PreviewColumn:
    name: str
    type: str  # a Table Schema type: string, integer, number, datetime, ...
    title: str = ""


@dataclass(frozen=True)
class TablePreview:
    columns: tuple[PreviewColumn, ...]
    rows: tuple[tuple[str, ...], ...]
    total_rows: int | None  # as counted when the file was stored


@dataclass(frozen=True)
class ChartPreview:
    """A time series: `times` in seconds since 1970 (UTC), ascending, and the values at those times."""

    time_column: str
    value_column: str
    times: tuple[float, ...]
    values: tuple[float, ...]


@dataclass(frozen=True)
class MapPreview:
    """Places to draw: a GeoJSON FeatureCollection of at most MAP_FEATURES features, and how many the file has."""

    collection: dict[str, Any]
    shown: int
    total: int


@dataclass(frozen=True)
class Preview:
    table: TablePreview | None = None
    chart: ChartPreview | None = None
    map: MapPreview | None = None
    # Why there is no preview, when there is none: "format" (not previewable), "size" (too big), "unreadable".
    missing: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def empty(self) -> bool:
        return self.table is None and self.chart is None and self.map is None

    @property
    def chart_json(self) -> str:
        """The chart's series as the page's script reads it (`[times, values]`), or "" without a chart."""
        return json.dumps([self.chart.times, self.chart.values]) if self.chart else ""

    @property
    def map_json(self) -> str:
        """The map's places as compact GeoJSON for the page's script, or "" without a map."""
        return json.dumps(self.map.collection, separators=(",", ":")) if self.map else ""


def preview(directory: Path, resource: Resource, version: ResourceVersion | None) -> Preview:
    """The preview of a resource's current file (blocking file reads: call it in a thread)."""
    if version is None:
        return Preview(missing="format")
    path = directory / version.path
    code = resource.format.upper()
    try:
        if code in TABULAR:
            return _table_preview(_rows(path, "\t" if code == "TSV" else ","), version)
        if code == "XLSX":
            return _table_preview(_sheet_rows(path), version)
        if code in ("GEOJSON", "JSON"):
            if version.size > MAX_GEOJSON_BYTES:
                return Preview(missing="size")
            found = _geojson_preview(path)
            return Preview(map=found) if found else Preview(missing="format")
    except (OSError, UnicodeDecodeError, csv.Error, ValueError, KeyError, zipfile.BadZipFile):
        return Preview(missing="unreadable")
    return Preview(missing="format")


# Tables


def _schema_columns(header: list[str], schema: dict[str, Any] | None) -> tuple[PreviewColumn, ...]:
    fields = {item.get("name"): item for item in (schema or {}).get("fields", []) if isinstance(item, dict)}
    described = [(name, fields.get(name, {})) for name in header]
    return tuple(
        PreviewColumn(name, str(item.get("type") or "string"), str(item.get("title") or "")) for name, item in described
    )


def _rows(path: Path, delimiter: str) -> Iterator[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as file:
        yield from csv.reader(file, delimiter=delimiter)


def _sheet_rows(path: Path) -> Iterator[list[str]]:
    """The rows of a workbook's first sheet as text (dates in ISO 8601), read as a stream."""
    import openpyxl  # here, not with the module: only a workbook's preview needs it

    with path.open("rb") as file:  # a stream: openpyxl would refuse a path without the .xlsx extension
        workbook = openpyxl.load_workbook(file, read_only=True, data_only=True)
        try:
            for row in workbook.worksheets[0].iter_rows(values_only=True):
                yield [_cell_text(value) for value in row]
        finally:
            workbook.close()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _table_preview(rows: Iterator[list[str]], version: ResourceVersion) -> Preview:
    header = next(rows, None)
    if not header:
        return Preview(missing="unreadable")
    columns = _schema_columns(header, version.table_schema)
    sample = list(itertools.islice(rows, max(CHART_POINTS, MAP_FEATURES)))
    width = len(columns)
    shown = tuple(tuple((row + [""] * width)[:width]) for row in sample[:PREVIEW_ROWS])
    table = TablePreview(columns, shown, version.row_count)
    primary = (version.table_schema or {}).get("primaryKey") or []
    primary_key = {primary} if isinstance(primary, str) else set(primary)
    points = _points(columns, sample, version.row_count or len(sample))
    return Preview(table=table, chart=_chart(columns, sample, primary_key), map=points)


def _moment(text: str, kind: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        if kind == "date":
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _chart(columns: tuple[PreviewColumn, ...], sample: list[list[str]], primary_key: set[str]) -> ChartPreview | None:
    """A time series, when the table has a date or datetime column and a numeric one (not an identifier nor a
    coordinate) filled on most rows, and its times do not repeat: one value per time, drawn in time order."""
    time_at = next((i for i, column in enumerate(columns) if column.type in TEMPORAL), None)
    numeric = [
        i
        for i, column in enumerate(columns)
        if column.type in NUMERIC
        and column.name not in primary_key
        and not _identifier(column.name)
        and not _coordinate(column.name)
    ]
    numeric.sort(key=lambda i: columns[i].type != "number")  # measures before counts
    if time_at is None or not numeric or not sample:
        return None
    value_at = numeric[0]
    kind = columns[time_at].type
    points = []
    for row in sample[:CHART_POINTS]:
        if len(row) <= max(time_at, value_at):
            continue
        moment, value = _moment(row[time_at], kind), _number(row[value_at])
        if moment is not None and value is not None:
            points.append((moment, value))
    points.sort()
    # A series has a value on most rows (not a few dates of a mostly empty column) and one value per time.
    if len(points) < 2 or len(points) * 2 < len(sample) or len({moment for moment, _ in points}) != len(points):
        return None
    return ChartPreview(
        columns[time_at].name,
        columns[value_at].name,
        tuple(moment for moment, _ in points),
        tuple(value for _, value in points),
    )


def _identifier(name: str) -> bool:
    """Whether a column names rows (its own or another table's): numbers to look up, not to chart."""
    lowered = name.lower()
    return lowered == "id" or lowered.endswith("_id")


def _coordinate(name: str) -> bool:
    """Whether a column holds a longitude or a latitude (a place, not a measure to chart)."""
    lowered = name.lower()
    return lowered in LONGITUDES + LATITUDES or lowered.endswith(("_lon", "_lng", "_lat", "_longitude", "_latitude"))


def _points(columns: tuple[PreviewColumn, ...], sample: list[list[str]], total: int) -> MapPreview | None:
    """The rows of a table with longitude and latitude columns, as points."""
    names = [column.name.lower() for column in columns]
    lon_at = next((names.index(name) for name in LONGITUDES if name in names), None)
    lat_at = next((names.index(name) for name in LATITUDES if name in names), None)
    if lon_at is None or lat_at is None:
        return None
    features = []
    for row in sample[:MAP_FEATURES]:
        if len(row) <= max(lon_at, lat_at):
            continue
        lon, lat = _number(row[lon_at]), _number(row[lat_at])
        if lon is None or lat is None or not (-180 <= lon <= 180 and -90 <= lat <= 90):
            continue
        shown = [i for i in range(len(columns)) if i not in (lon_at, lat_at)][:POPUP_FIELDS]
        properties = {columns[i].name: _short(row[i]) for i in shown}
        point = {"type": "Point", "coordinates": [lon, lat]}
        features.append({"type": "Feature", "geometry": point, "properties": properties})
    if not features:
        return None
    return MapPreview({"type": "FeatureCollection", "features": features}, len(features), total)


# GeoJSON

_GEOMETRIES = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"}


def _geojson_preview(path: Path) -> MapPreview | None:
    document = json.loads(path.read_bytes())
    if not isinstance(document, dict):
        return None
    kind = document.get("type")
    if kind == "FeatureCollection" and isinstance(document.get("features"), list):
        features = [item for item in document["features"] if isinstance(item, dict)]
    elif kind == "Feature":
        features = [document]
    elif kind in _GEOMETRIES:
        features = [{"type": "Feature", "geometry": document, "properties": {}}]
    else:
        return None
    shown = [_plain_feature(item) for item in features[:MAP_FEATURES]]
    return MapPreview({"type": "FeatureCollection", "features": shown}, len(shown), len(features))


def _plain_feature(feature: dict[str, Any]) -> dict[str, Any]:
    """A feature with its geometry and its properties as short texts (what a popup shows)."""
    properties = feature.get("properties") if isinstance(feature.get("properties"), dict) else {}
    assert isinstance(properties, dict)
    shown = {str(key): _short(value) for key, value in list(properties.items())[:POPUP_FIELDS]}
    return {"type": "Feature", "geometry": feature.get("geometry"), "properties": shown}


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= POPUP_TEXT else text[: POPUP_TEXT - 1] + "…"
