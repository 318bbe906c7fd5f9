"""What a resource's preview shows of its file: a table's first rows with their types, a chart only for a real
time series, places on a map for GeoJSON and for tables with coordinates, and nothing (with the reason) for
files it cannot or should not read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from citoyen.opendata.models import Resource, ResourceVersion
from citoyen.opendata.preview import MAX_GEOJSON_BYTES, PREVIEW_ROWS, preview


def _stored(
    directory: Path, fmt: str, body: bytes, schema: dict[str, Any] | None = None, rows: int | None = None
) -> tuple[Resource, ResourceVersion]:
    (directory / "file").write_bytes(body)
    resource = Resource(format=fmt)
    version = ResourceVersion(path="file", size=len(body), table_schema=schema, row_count=rows, filename="f")
    return resource, version


def _schema(**types: str) -> dict[str, Any]:
    return {"fields": [{"name": name, "type": kind} for name, kind in types.items()], "primaryKey": ["id"]}


def test_a_table_shows_its_first_rows_and_types_and_a_time_series_its_chart(tmp_path: Path) -> None:
    lines = "".join(f"{n},2026-12-01T{n % 24:02d}:{n // 24:02d}:00Z,{n * 1.5},{n % 7}\n" for n in range(1, 151))
    body = ("id,time,level,station_id\n" + lines).encode()
    schema = _schema(id="integer", time="datetime", level="number", station_id="integer")

    shown = preview(tmp_path, *_stored(tmp_path, "CSV", body, schema, 150))

    assert shown.table is not None and len(shown.table.rows) == PREVIEW_ROWS and shown.table.total_rows == 150
    assert [(column.name, column.type) for column in shown.table.columns] == [
        ("id", "integer"),
        ("time", "datetime"),
        ("level", "number"),
        ("station_id", "integer"),
    ]
    assert shown.table.rows[0] == ("1", "2026-12-01T01:00:00Z", "1.5", "1")
    # The measure is charted, not the identifiers; in time order.
    assert shown.chart is not None and shown.chart.value_column == "level" and len(shown.chart.times) == 150
    assert list(shown.chart.times) == sorted(shown.chart.times)
    assert shown.map is None


def test_no_chart_for_repeated_times_sparse_values_or_coordinates(tmp_path: Path) -> None:
    repeated = b"day,count\n2026-12-01,3\n2026-12-01,4\n2026-12-02,5\n"
    assert preview(tmp_path, *_stored(tmp_path, "CSV", repeated, _schema(day="date", count="integer"))).chart is None
    sparse = b"day,count\n2026-12-01,3\n2026-12-02,\n2026-12-03,\n2026-12-04,\n2026-12-05,4\n"
    assert preview(tmp_path, *_stored(tmp_path, "CSV", sparse, _schema(day="date", count="integer"))).chart is None
    placed = (
        b"created_at,lon,lat,name\n2026-12-01T10:00:00Z,2.35,48.85,Fontaine\n2026-12-02T10:00:00Z,2.36,48.86,Banc\n"
    )
    schema = _schema(created_at="datetime", lon="number", lat="number", name="string")

    shown = preview(tmp_path, *_stored(tmp_path, "CSV", placed, schema, 2))

    assert shown.chart is None  # longitude over time is no series
    assert shown.map is not None and shown.map.shown == 2
    first = shown.map.collection["features"][0]
    assert first["geometry"] == {"type": "Point", "coordinates": [2.35, 48.85]}
    assert first["properties"] == {"created_at": "2026-12-01T10:00:00Z", "name": "Fontaine"}


def test_geojson_is_drawn_and_what_cannot_be_previewed_says_why(tmp_path: Path) -> None:
    polygon = {"type": "Polygon", "coordinates": [[[2.3, 48.8], [2.4, 48.8], [2.4, 48.9], [2.3, 48.8]]]}
    shown = preview(tmp_path, *_stored(tmp_path, "GEOJSON", json.dumps(polygon).encode()))
    assert shown.map is not None and shown.map.collection["features"][0]["geometry"] == polygon

    resource, version = _stored(tmp_path, "GEOJSON", b"{}")
    version.size = MAX_GEOJSON_BYTES + 1
    assert preview(tmp_path, resource, version).missing == "size"
    assert preview(tmp_path, *_stored(tmp_path, "CSV", b"\xff\xfe\x00broken")).missing == "unreadable"
    assert preview(tmp_path, *_stored(tmp_path, "PDF", b"%PDF-1.7")).missing == "format"
    datapackage = json.dumps({"name": "x", "resources": []}).encode()
    assert preview(tmp_path, *_stored(tmp_path, "JSON", datapackage)).empty
    assert preview(tmp_path, Resource(format="CSV"), None).missing == "format"
