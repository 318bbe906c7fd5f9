"""A stored file in other formats, converted as it is read so that memory stays flat whatever its size: a table
(CSV, TSV) as CSV, as GeoJSON when it is geolocated (longitude and latitude columns, or a geometry column in WKT
or GeoJSON, found through its Table Schema) and as Parquet (one row group per batch of rows); a GeoJSON file as
CSV (its properties, and the point's `lon`/`lat` or any geometry as WKT), read feature by feature.

Each conversion is a generator of byte chunks, for a streamed response (which runs it in a worker thread);
`gzipped` compresses any such stream on the fly. Types follow the Table Schema the file was checked against."""

from __future__ import annotations

import csv
import io
import json
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import ijson  # type: ignore[import-untyped]
import orjson
import shapely
from shapely.geometry import mapping, shape

if TYPE_CHECKING:  # pyarrow is imported where a Parquet file is written (see `pyarrow_module`)
    import pyarrow as pa  # type: ignore[import-untyped]

ROWS_PER_CHUNK = 2000
ROWS_PER_ROW_GROUP = 50_000
TABULAR = ("CSV", "TSV")
# What a resource of each stored format downloads as, besides itself.
CONVERSIONS: dict[str, tuple[str, ...]] = {
    "CSV": ("csv", "geojson", "parquet"),
    "TSV": ("csv", "geojson", "parquet"),
    "GEOJSON": ("geojson", "csv"),
}
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "geojson": "application/geo+json",
    "parquet": "application/vnd.apache.parquet",
}
# Text compresses well; a Parquet file or an archive is already compressed.
COMPRESSIBLE = ("CSV", "TSV", "JSON", "GEOJSON")
LONGITUDES = ("lon", "lng", "long", "longitude", "x_wgs84")
LATITUDES = ("lat", "latitude", "y_wgs84")
GEOMETRY_NAMES = ("geometry", "geom", "the_geom", "wkt", "geo_shape", "geojson", "geometrie", "géométrie")
TRUE_VALUES = ("true", "True", "TRUE", "1")
FALSE_VALUES = ("false", "False", "FALSE", "0")


class ConversionError(Exception):
    """The file cannot be given in the format asked (a table without coordinates as GeoJSON...)."""


def pyarrow_module() -> Any:
    # Imported on the first Parquet download only: pyarrow adds about 40 MB to a process, which every worker of
    # the app would otherwise carry for a format few ask for.
    import pyarrow
    import pyarrow.csv  # type: ignore[import-untyped]
    import pyarrow.parquet  # type: ignore[import-untyped]

    return pyarrow


# --- tables -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableShape:
    """A table's columns, their Table Schema types, and where its geometry is."""

    names: tuple[str, ...]
    types: tuple[str, ...]
    lon: int | None = None
    lat: int | None = None
    geometry: int | None = None  # a column holding WKT, GeoJSON or a "lon, lat" geopoint

    @property
    def geolocated(self) -> bool:
        return self.geometry is not None or (self.lon is not None and self.lat is not None)

    @property
    def geometry_columns(self) -> set[int]:
        return {index for index in (self.lon, self.lat, self.geometry) if index is not None}


def table_shape(header: list[str], schema: dict[str, Any] | None) -> TableShape:
    """The shape of a table from its header and Table Schema (fields without a type are text)."""
    fields = {field.get("name"): field for field in (schema or {}).get("fields", []) if isinstance(field, dict)}
    types = tuple(str(fields.get(name, {}).get("type") or "string") for name in header)
    lowered = [name.strip().lower() for name in header]

    def first(names: Iterable[str], kinds: tuple[str, ...] = ("number", "integer", "string", "any")) -> int | None:
        for candidate in names:
            if candidate in lowered and types[lowered.index(candidate)] in kinds:
                return lowered.index(candidate)
        return None

    geometry = next((index for index, kind in enumerate(types) if kind in ("geojson", "geopoint")), None)
    if geometry is None:
        geometry = first(GEOMETRY_NAMES, ("string", "object", "any"))
    return TableShape(tuple(header), types, first(LONGITUDES), first(LATITUDES), geometry)


def _delimiter(code: str) -> str:
    return "\t" if code == "TSV" else ","


def read_table(path: Path, code: str, schema: dict[str, Any] | None) -> tuple[TableShape, Iterator[list[str]]]:
    """The shape of a stored table and an iterator over its rows (as text), read line by line."""
    with path.open(encoding="utf-8-sig", newline="") as file:
        header = next(csv.reader(file, delimiter=_delimiter(code)), None) or []

    def body() -> Iterator[list[str]]:
        with path.open(encoding="utf-8-sig", newline="") as file:
            rows = csv.reader(file, delimiter=_delimiter(code))
            next(rows, None)
            yield from rows

    return table_shape(header, schema), body()


def _typed(value: str, kind: str) -> Any:
    """A table's cell as its Table Schema type says (None when empty)."""
    if value == "":
        return None
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
    except ValueError:
        return value
    if kind == "boolean":
        return True if value in TRUE_VALUES else False if value in FALSE_VALUES else value
    if kind == "object" or kind == "array":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _cell_geometry(value: str, kind: str) -> dict[str, Any] | None:
    """A geometry written in a cell: GeoJSON, WKT or a "lon, lat" geopoint; None when it is none of them."""
    text = value.strip()
    if not text:
        return None
    try:
        if text.startswith("{"):
            found = json.loads(text)
            return found if isinstance(found, dict) and "type" in found else None
        if kind == "geopoint" and text[0] not in "[{":
            lon, lat = (float(part) for part in text.split(","))
            return {"type": "Point", "coordinates": [lon, lat]}
        if text.startswith("["):
            lon, lat = json.loads(text)
            return {"type": "Point", "coordinates": [float(lon), float(lat)]}
        return dict(mapping(shapely.from_wkt(text)))
    except (ValueError, TypeError, shapely.errors.GEOSException):
        return None


def _row_geometry(row: list[str], table: TableShape) -> dict[str, Any] | None:
    if table.geometry is not None:
        return _cell_geometry(row[table.geometry], table.types[table.geometry])
    assert table.lon is not None and table.lat is not None
    try:
        lon, lat = float(row[table.lon]), float(row[table.lat])
    except ValueError:
        return None
    return {"type": "Point", "coordinates": [lon, lat]}


def table_to_geojson(path: Path, code: str, schema: dict[str, Any] | None) -> Iterator[bytes]:
    """A geolocated table as a GeoJSON FeatureCollection: one Feature per row, its other columns as
    properties (typed), its geometry from its coordinates (null where a row has none)."""
    table, rows = read_table(path, code, schema)
    if not table.geolocated:
        raise ConversionError("This table has no coordinates (longitude and latitude, or a geometry column)")
    return _geojson_chunks(table, rows)


def _geojson_chunks(table: TableShape, rows: Iterator[list[str]]) -> Iterator[bytes]:
    skip = table.geometry_columns
    properties = [(index, name, table.types[index]) for index, name in enumerate(table.names) if index not in skip]
    yield b'{"type":"FeatureCollection","features":['
    first = True
    chunk: list[bytes] = []
    for row in rows:
        if len(row) < len(table.names):
            continue
        feature = {
            "type": "Feature",
            "geometry": _row_geometry(row, table),
            "properties": {name: _typed(row[index], kind) for index, name, kind in properties},
        }
        chunk.append((b"\n" if first else b",\n") + orjson.dumps(feature))
        first = False
        if len(chunk) >= ROWS_PER_CHUNK:
            yield b"".join(chunk)
            chunk = []
    chunk.append(b"\n]}\n")
    yield b"".join(chunk)


def table_to_csv(path: Path, code: str) -> Iterator[bytes]:
    """A TSV table as CSV (a CSV file is served as it is stored)."""
    table, rows = read_table(path, code, None)
    return _csv_chunks(list(table.names), rows)


def _csv_chunks(header: list[str], rows: Iterable[list[Any]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for count, row in enumerate(rows, 1):
        writer.writerow(row)
        if count % ROWS_PER_CHUNK == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


# --- Parquet ------------------------------------------------------------------------------------------------


class _Drain(io.RawIOBase):
    """Where the Parquet writer writes: it keeps what was written since it was last emptied, for the response.
    (A Parquet file is written front to back; only its footer, written last, points back into it.)"""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._position

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts = []
        return out


def arrow_type(kind: str) -> pa.DataType:
    """The Arrow type of a Table Schema type: numbers and booleans typed, the rest as text (as in the CSV)."""
    pa = pyarrow_module()
    return {"integer": pa.int64(), "number": pa.float64(), "boolean": pa.bool_()}.get(kind, pa.string())


def _arrow_value(value: str, kind: str) -> Any:
    if value == "":
        return None
    if kind == "integer":
        return int(value)
    if kind == "number":
        return float(value)
    if kind == "boolean":
        return value in TRUE_VALUES
    return value


class ParquetStream:
    """A Parquet file written batch by batch (each batch a row group) and handed out as it grows."""

    def __init__(self, schema: pa.Schema, dictionary: bool = True, memory_pool: Any = None) -> None:
        """`dictionary` false writes plain pages: for columns of numbers and times, which dictionaries do not
        shrink, it spares the writer a dictionary per column and row group (tens of MB on a long stream)."""
        self._pa = pyarrow_module()
        self._drain = _Drain()
        self._schema = schema
        self._writer = self._pa.parquet.ParquetWriter(
            self._drain, schema, compression="zstd", use_dictionary=dictionary, memory_pool=memory_pool
        )

    def write(self, columns: list[list[Any]]) -> bytes:
        """Add a row group of `columns` (one list of values per column of the schema); the bytes written."""
        arrays = [self._pa.array(values, type=field.type) for values, field in zip(columns, self._schema, strict=True)]
        self._writer.write_table(self._pa.Table.from_arrays(arrays, schema=self._schema))
        return self._drain.take()

    def write_batches(self, batches: list[Any]) -> bytes:
        """Add the Arrow record batches `batches` as one row group; the bytes written."""
        table = self._pa.Table.from_batches(batches, schema=self._schema)
        self._writer.write_table(table, row_group_size=max(1, table.num_rows))
        return self._drain.take()

    def close(self) -> bytes:
        """End the file (its footer); the last bytes."""
        self._writer.close()
        return self._drain.take()


def table_to_parquet(path: Path, code: str, schema: dict[str, Any] | None) -> Iterator[bytes]:
    """A table as Parquet: its columns typed by the Table Schema (integers, numbers, booleans; text otherwise),
    written one row group per ROWS_PER_ROW_GROUP rows."""
    pa = pyarrow_module()
    table, rows = read_table(path, code, schema)
    arrow = pa.schema([(name, arrow_type(kind)) for name, kind in zip(table.names, table.types, strict=True)])
    return _parquet_chunks(table, rows, ParquetStream(arrow))


def _parquet_chunks(table: TableShape, rows: Iterator[list[str]], out: ParquetStream) -> Iterator[bytes]:
    width = len(table.names)
    columns: list[list[Any]] = [[] for _ in range(width)]
    count = 0
    for row in rows:
        if len(row) < width:
            continue
        for index in range(width):
            columns[index].append(_arrow_value(row[index], table.types[index]))
        count += 1
        if count == ROWS_PER_ROW_GROUP:
            yield out.write(columns)
            columns = [[] for _ in range(width)]
            count = 0
    if count:
        yield out.write(columns)
    yield out.close()


# --- GeoJSON ------------------------------------------------------------------------------------------------


def _features(path: Path) -> Iterator[dict[str, Any]]:
    """The Features of a GeoJSON file, parsed one at a time (a lone Feature or geometry counts as one)."""
    with path.open("rb") as file:
        kind = next((value for prefix, event, value in ijson.parse(file) if prefix == "type"), None)
    with path.open("rb") as file:
        if kind == "FeatureCollection":
            yield from ijson.items(file, "features.item", use_float=True)
        elif kind == "Feature":
            yield from ijson.items(file, "", use_float=True)
        else:
            for geometry in ijson.items(file, "", use_float=True):
                yield {"type": "Feature", "geometry": geometry, "properties": {}}


def _property_cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return "" if value is None else value


def geojson_to_csv(path: Path) -> Iterator[bytes]:
    """A GeoJSON file as CSV: one row per Feature, a column per property (in order of appearance), then the
    point's `lon` and `lat` when every geometry is a point, else `geometry` as WKT. Read twice, feature by
    feature: once for the columns, once for the rows."""
    names: dict[str, None] = {}
    points = True
    for feature in _features(path):
        for name in feature.get("properties") or {}:
            names.setdefault(str(name), None)
        geometry = feature.get("geometry")
        points = points and (geometry is None or geometry.get("type") == "Point")
    columns = list(names)
    header = [*columns, *(("lon", "lat") if points else ("geometry",))]
    return _csv_chunks(header, _feature_rows(path, columns, points))


def _feature_rows(path: Path, columns: list[str], points: bool) -> Iterator[list[Any]]:
    for feature in _features(path):
        properties = feature.get("properties") or {}
        row = [_property_cell(properties.get(name)) for name in columns]
        geometry = feature.get("geometry")
        if points:
            coordinates = (geometry or {}).get("coordinates") or ["", ""]
            row += [coordinates[0], coordinates[1]]
        else:
            row.append(shape(geometry).wkt if geometry else "")
        yield row


# --- choosing and compressing --------------------------------------------------------------------------------


def available_formats(code: str, schema: dict[str, Any] | None) -> tuple[str, ...]:
    """The `?format=` values a stored file of format `code` downloads as, besides itself (a table as GeoJSON
    only when its Table Schema shows coordinates): for the pages' download links."""
    if code in TABULAR:
        names = [str(field.get("name", "")) for field in (schema or {}).get("fields", []) if isinstance(field, dict)]
        geolocated = table_shape(names, schema).geolocated
        return tuple(
            wanted
            for wanted in CONVERSIONS[code]
            if (wanted != "csv" or code != "CSV") and (wanted != "geojson" or geolocated)
        )
    return tuple(wanted for wanted in CONVERSIONS.get(code, ()) if wanted != code.lower())


def converter(path: Path, stored: str, wanted: str, schema: dict[str, Any] | None) -> Iterator[bytes]:
    """The chunks of the stored file `path` (format code `stored`, e.g. "CSV") converted to `wanted` (csv,
    geojson, parquet); ConversionError when that conversion does not exist or the file cannot take it."""
    if wanted not in CONVERSIONS.get(stored, ()):
        raise ConversionError(f"A {stored} resource does not download as {wanted}")
    if stored in TABULAR:
        if wanted == "geojson":
            return table_to_geojson(path, stored, schema)
        if wanted == "parquet":
            return table_to_parquet(path, stored, schema)
        return table_to_csv(path, stored)
    return geojson_to_csv(path)


def gzipped(chunks: Iterable[bytes], level: int = 1) -> Iterator[bytes]:
    """A stream compressed with gzip as it goes (level 1: the fastest, as CSV compresses well anyway)."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
    for chunk in chunks:
        if out := compressor.compress(chunk):
            yield out
    yield compressor.flush()


async def gzipped_async(chunks: AsyncIterable[bytes], level: int = 1) -> AsyncIterator[bytes]:
    """`gzipped` for a stream that comes asynchronously."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
    async for chunk in chunks:
        if out := compressor.compress(chunk):
            yield out
    yield compressor.flush()


def text_chunks(file: IO[bytes], size: int = 256 * 1024) -> Iterator[bytes]:
    """A stored file's bytes in chunks (for compressing it on the fly)."""
    with file:
        while chunk := file.read(size):
            yield chunk
