"""The full history of the city's public sensor readings, streamed live from the database in CSV, GeoJSON or
Parquet: every Observation of the public Datastreams (all of them, one kind of sensor, or one Datastream), read
through sensing's export (`sensing.service.observation_csv` / `observation_rows`), never its tables.

The CSV is sensing's as it comes (PostgreSQL's own COPY there); GeoJSON and Parquet are written here batch by
batch, each batch encoded in a worker thread so that the event loop keeps serving others meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.opendata.conversions import ParquetStream, pyarrow_module
from citoyen.sensing import service as sensing

# The sensors dataset the platform publishes (feeds.sensors_feed's slug): its page offers the full history.
SENSORS_DATASET = "capteurs"
FORMATS = ("csv", "geojson", "parquet")
# The kinds of sensors a full history can be limited to (sensing's ThingKind values; the page names them).
KINDS = ("air", "water", "energy", "mobility", "other")
# Rows per Parquet row group: Arrow batches are gathered up to it (a few MB), then written.
ROW_GROUP_ROWS = 100_000


@dataclass(frozen=True)
class Selection:
    """Which public Datastreams a full history covers: all, those of one kind of Thing, or one."""

    kind: str | None = None
    datastream_id: int | None = None

    @property
    def name(self) -> str:
        if self.datastream_id is not None:
            return f"mesures-flux-{self.datastream_id}"
        return f"mesures-{self.kind}" if self.kind else "mesures"


async def streams(session: AsyncSession, selection: Selection) -> list[sensing.ExportedStream]:
    return await sensing.exported_datastreams(session, selection.kind, selection.datastream_id)


def _feature_chunk(rows: Sequence[sensing.ObservationRow], places: dict[int, Any], first: bool) -> bytes:
    out = []
    for identifier, datastream, start, end, result_at, number, text in rows:
        feature = {
            "type": "Feature",
            "id": identifier,
            "geometry": places.get(datastream),
            "properties": {
                "id": identifier,
                "datastream_id": datastream,
                "phenomenon_time": start,
                "phenomenon_time_end": end,
                "result_time": result_at,
                "result": number,
                "result_text": text,
            },
        }
        out.append((b"\n" if first else b",\n") + orjson.dumps(feature, option=orjson.OPT_UTC_Z))
        first = False
    return b"".join(out)


async def geojson(session: AsyncSession, chosen: Sequence[sensing.ExportedStream]) -> AsyncIterator[bytes]:
    """The readings as a GeoJSON FeatureCollection, each at the place of its sensor (null when it has none)."""
    places = {
        stream.id: {"type": "Point", "coordinates": [stream.lon, stream.lat]}
        for stream in chosen
        if stream.lon is not None and stream.lat is not None
    }
    yield b'{"type":"FeatureCollection","features":['
    first = True
    async for rows in sensing.observation_rows(session, chosen):
        if rows:
            yield await asyncio.to_thread(_feature_chunk, rows, places, first)
            first = False
    yield b"\n]}\n"


def _parquet_schema() -> Any:
    pa = pyarrow_module()
    moment = pa.timestamp("us", tz="UTC")
    return pa.schema(
        [
            ("id", pa.int64()),
            ("datastream_id", pa.int64()),
            ("phenomenon_time", moment),
            ("phenomenon_time_end", moment),
            ("result_time", moment),
            ("result", pa.float64()),
            ("result_text", pa.string()),
        ]
    )


def _record_batch(schema: Any, rows: Sequence[sensing.ObservationRow]) -> Any:
    pa = pyarrow_module()
    columns = list(zip(*rows, strict=True))
    return pa.RecordBatch.from_arrays(
        [pa.array(values, type=field.type) for values, field in zip(columns, schema, strict=True)], schema=schema
    )


async def parquet(session: AsyncSession, chosen: Sequence[sensing.ExportedStream]) -> AsyncIterator[bytes]:
    """The readings as a Parquet file (times as UTC timestamps), one row group per ROW_GROUP_ROWS rows."""
    schema = await asyncio.to_thread(_parquet_schema)
    out = ParquetStream(schema)
    pending: list[Any] = []
    count = 0

    def flush(batches: list[Any]) -> bytes:
        return out.write_batches(batches)

    async for rows in sensing.observation_rows(session, chosen):
        if not rows:
            continue
        pending.append(await asyncio.to_thread(_record_batch, schema, rows))
        count += len(rows)
        if count >= ROW_GROUP_ROWS:
            yield await asyncio.to_thread(flush, pending)
            pending, count = [], 0
    if pending:
        yield await asyncio.to_thread(flush, pending)
    yield await asyncio.to_thread(out.close)


async def export(session: AsyncSession, selection: Selection, wanted: str) -> AsyncIterator[bytes]:
    """The full history of `selection` in `wanted` (csv, geojson, parquet), read through `session` (whose
    transaction the caller ends)."""
    chosen = await streams(session, selection)
    if wanted == "csv":
        body = sensing.observation_csv(session, chosen)
    elif wanted == "geojson":
        body = geojson(session, chosen)
    else:
        body = parquet(session, chosen)
    async for chunk in body:
        yield chunk
