"""The full history of public Observations, streamed live from the database for open data's "full history"
downloads: every Observation of the public Datastreams chosen (all of them, those of one kind of Thing, or one
Datastream), ordered by Datastream, then phenomenon time, then id.

Memory stays flat however many rows: on PostgreSQL the CSV is PostgreSQL's own `COPY (SELECT ...) TO STDOUT`
passed on chunk by chunk through a small bounded queue (when the client reads slowly, the queue fills, the copy's
writer waits, and PostgreSQL waits on its socket: backpressure all the way down); rows for other formats, and
everything on SQLite, come through a server-side cursor in batches.

Only Datastreams of public Things are ever read (`Thing.access == PUBLIC`, as `public_observations`): personal
Things (a household's meter) and restricted ones never give an Observation here.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import math
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import STATEMENT_TIMEOUT
from citoyen.sensing.models import Datastream, Location, ResultType, Thing, ThingAccess, ThingKind, ThingLocation

EXPORT_BATCH = 10_000
# Chunks of COPY output waiting for the client: asyncpg hands what it read at once, up to about 240 kB (mean 170 kB
# at 10 million rows), so at most about 8 MB.
_QUEUED_CHUNKS = 32
EXPORT_COLUMNS = (
    "id",
    "datastream_id",
    "phenomenon_time",
    "phenomenon_time_end",
    "result_time",
    "result",
    "result_text",
)
_NUMBERS = f"{int(ResultType.FLOAT)}, {int(ResultType.INTEGER)}"


@dataclass(frozen=True)
class ExportedStream:
    """A public Datastream the export covers, with the place of its Thing (its first Location) for GeoJSON."""

    id: int
    kind: str
    lon: float | None
    lat: float | None


async def exported_datastreams(
    session: AsyncSession, kind: str | None = None, datastream_id: int | None = None
) -> list[ExportedStream]:
    """The Datastreams of public Things (of `kind`, a `ThingKind` value, or only `datastream_id`), in id order,
    with their Thing's place; none for a Datastream that is not public, nor for an unknown kind."""
    if kind is not None and kind not in set(ThingKind):
        return []
    query = select(Datastream.id, Thing.kind, Thing.id).join(Thing, Thing.id == Datastream.thing_id)
    query = query.where(Thing.access == ThingAccess.PUBLIC)
    if kind is not None:
        query = query.where(Thing.kind == ThingKind(kind))
    if datastream_id is not None:
        query = query.where(Datastream.id == datastream_id)
    streams = (await session.execute(query.order_by(Datastream.id))).all()
    places: dict[int, tuple[float | None, float | None]] = {}
    things = sorted({thing_id for _id, _kind, thing_id in streams})
    if things:
        located = (
            select(ThingLocation.thing_id, Location.lon, Location.lat)
            .join(Location, Location.id == ThingLocation.location_id)
            .where(ThingLocation.thing_id.in_(things))
            .order_by(ThingLocation.thing_id, Location.id)
        )
        for thing_id, lon, lat in (await session.execute(located)).all():
            places.setdefault(thing_id, (lon, lat))
    return [
        ExportedStream(stream_id, stream_kind.value, *places.get(thing_id, (None, None)))
        for stream_id, stream_kind, thing_id in streams
    ]


def _moment_sql(column: str) -> str:
    # ISO 8601 in UTC with a Z, seconds' fraction only when there is one: what Python's isoformat() writes.
    utc = f"{column} AT TIME ZONE 'UTC'"
    return (
        f"CASE WHEN {column} = date_trunc('second', {column}) "
        f"""THEN to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') """
        f"""ELSE to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END"""
    )


def _columns_sql() -> list[tuple[str, str]]:
    """The export's columns as PostgreSQL expressions giving their text (times) or number, in order."""
    return [
        ("id", "o.id"),
        ("datastream_id", "o.datastream_id"),
        ("phenomenon_time", _moment_sql("o.phenomenon_time_start")),
        ("phenomenon_time_end", _moment_sql("o.phenomenon_time_end")),
        ("result_time", _moment_sql("o.result_time")),
        (
            "result",
            f"CASE WHEN o.result_type IN ({_NUMBERS}) "
            "AND o.result_number NOT IN ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8) "
            "THEN o.result_number END",
        ),
        (
            "result_text",
            f"CASE o.result_type WHEN {int(ResultType.STRING)} THEN o.result_string "
            f"WHEN {int(ResultType.BOOLEAN)} THEN CASE WHEN o.result_boolean THEN 'true' ELSE 'false' END "
            f"WHEN {int(ResultType.JSON)} THEN o.result_json::text END",
        ),
    ]


def _from_sql(datastream_ids: Sequence[int]) -> str:
    ids = ", ".join(str(int(item)) for item in datastream_ids) or "NULL"
    return (
        f" FROM sta_observations o WHERE o.datastream_id IN ({ids}) "
        "ORDER BY o.datastream_id, o.phenomenon_time_start, o.id"
    )


def observations_sql(datastream_ids: Sequence[int]) -> str:
    """The PostgreSQL SELECT of the export's CSV (its columns are `EXPORT_COLUMNS`, already as text), for
    `COPY (...) TO STDOUT WITH (FORMAT csv, HEADER)`. The ids are integers written into the statement, as COPY
    takes no parameters; the benchmark copies the very same statement to compare."""
    columns = ", ".join(f"{expression} AS {name}" for name, expression in _columns_sql())
    return "SELECT " + columns + _from_sql(datastream_ids)


def _json_text(expression: str) -> str:
    return f"coalesce('\"' || {expression} || '\"', 'null')"


def features_sql(streams: Sequence[ExportedStream]) -> str:
    """The PostgreSQL SELECT of the export's GeoJSON Features, one a row as JSON text: the export's columns as
    properties, at the point of the Datastream's Thing. The text is put together by concatenation (about twice
    as fast as json_build_object); times are ISO text without quotes or backslashes, results numbers or
    to_json's quoted text, and each place is looked up in a constant JSONB object of GeoJSON texts."""
    places = {
        str(stream.id): orjson.dumps({"type": "Point", "coordinates": [stream.lon, stream.lat]}).decode()
        for stream in streams
        if stream.lon is not None and stream.lat is not None
    }
    # Only numbers and this module's keys are in the object: no quote can end the literal.
    place = f"coalesce('{orjson.dumps(places).decode()}'::jsonb ->> o.datastream_id::text, 'null')"
    columns = dict(_columns_sql())
    parts = [
        """'{"type":"Feature","id":'""",
        "o.id",
        """',"geometry":'""",
        place,
        """',"properties":{"id":'""",
        "o.id",
        """',"datastream_id":'""",
        "o.datastream_id",
        *(
            part
            for name in ("phenomenon_time", "phenomenon_time_end", "result_time")
            for part in (f"""',"{name}":'""", _json_text(columns[name]))
        ),
        """',"result":'""",
        f"coalesce(({columns['result']})::text, 'null')",
        """',"result_text":'""",
        f"coalesce(to_json({columns['result_text']})::text, 'null')",
        "'}}'",
    ]
    return "SELECT " + " || ".join(parts) + _from_sql([stream.id for stream in streams])


_ROWS_SQL = (
    "SELECT id, datastream_id, phenomenon_time_start, phenomenon_time_end, result_time, result_type, "
    "result_number, result_string, result_boolean, result_json FROM sta_observations "
    "WHERE datastream_id = :datastream ORDER BY phenomenon_time_start, id"
)


async def _lift_timeout(session: AsyncSession) -> None:
    """A full history legitimately takes longer than the app's statement timeout (30 s): lift it for this
    transaction only."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SET LOCAL statement_timeout = 0"))


def _parse_moment(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def _result(kind: int, number: Any, string: Any, boolean: Any, value: Any) -> tuple[float | None, str | None]:
    if kind in (ResultType.FLOAT, ResultType.INTEGER):
        return (float(number), None) if number is not None and math.isfinite(number) else (None, None)
    if kind == ResultType.STRING:
        return None, string
    if kind == ResultType.BOOLEAN:
        return None, None if boolean is None else ("true" if boolean else "false")
    if kind == ResultType.JSON:
        loaded = orjson.loads(value) if isinstance(value, str | bytes) else value
        return None, orjson.dumps(loaded).decode()
    return None, None


ObservationRow = tuple[int, int, datetime, datetime | None, datetime | None, float | None, str | None]


async def observation_rows(
    session: AsyncSession, streams: Sequence[ExportedStream], batch: int = EXPORT_BATCH
) -> AsyncIterator[list[ObservationRow]]:
    """The Observations of `streams` (from `exported_datastreams`) in export order, in batches of tuples in the
    order of `EXPORT_COLUMNS` (times as UTC datetimes, `result` a number, `result_text` any other result),
    read through a server-side cursor, one Datastream after the other along its (datastream, time) index."""
    await _lift_timeout(session)
    options = {"yield_per": batch, STATEMENT_TIMEOUT: None}
    for stream in streams:
        result = await session.stream(text(_ROWS_SQL), {"datastream": stream.id}, execution_options=options)
        async for rows in result.partitions(batch):
            out: list[ObservationRow] = []
            for observation_id, datastream, start, end, result_at, kind, number, string, boolean, value in rows:
                number, rest = _result(kind, number, string, boolean, value)
                out.append(
                    (
                        observation_id,
                        datastream,
                        _parse_moment(start),  # type: ignore[arg-type]  # never null: a required column
                        _parse_moment(end),
                        _parse_moment(result_at),
                        number,
                        rest,
                    )
                )
            yield out


def _csv_moment(value: datetime | None) -> str:
    return "" if value is None else value.isoformat()[:-6] + "Z"


def _csv_number(value: float | None) -> str:
    return "" if value is None else repr(value)


async def observation_csv(
    session: AsyncSession, streams: Sequence[ExportedStream], queued: int = _QUEUED_CHUNKS
) -> AsyncIterator[bytes]:
    """The export as CSV (UTF-8, a header, `\\n` line ends): PostgreSQL's COPY passed on as it comes (at most
    `queued` chunks waiting for a slow reader), or, on SQLite, rows written batch by batch."""
    if session.get_bind().dialect.name == "postgresql":
        statement = observations_sql([stream.id for stream in streams])
        async for chunk in _copy(session, statement, queued, format="csv", header=True):
            yield chunk
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    async for rows in observation_rows(session, streams):
        writer.writerows(
            (
                identifier,
                datastream,
                _csv_moment(start),
                _csv_moment(end),
                _csv_moment(result_at),
                _csv_number(number),
                rest,
            )
            for identifier, datastream, start, end, result_at, number, rest in rows
        )
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


async def observation_geojson(session: AsyncSession, streams: Sequence[ExportedStream]) -> AsyncIterator[bytes]:
    """The export as a GeoJSON FeatureCollection, written as it is read: each reading a Feature at the place of
    its sensor (null when it has none), its columns as properties. On PostgreSQL the database writes each Feature
    (COPY of `features_sql`)."""
    yield b'{"type":"FeatureCollection","features":['
    if session.get_bind().dialect.name == "postgresql":
        # One Feature a line: JSON text holds no raw line break, nor these two control characters, so CSV with
        # them as delimiter and quote never quotes. Each line end becomes the separator of the next Feature.
        # A chunk may end inside a Feature: the separator after the last whole one waits for the next Feature.
        started = pending = False
        async for chunk in _copy(session, features_sql(streams), format="csv", delimiter="\x01", quote="\x02"):
            if not chunk:
                continue
            lines = (b",\n" if pending else b"" if started else b"\n") + chunk.replace(b"\n", b",\n")
            started, pending = True, lines.endswith(b",\n")
            yield lines[:-2] if pending else lines
    else:
        places = {
            stream.id: {"type": "Point", "coordinates": [stream.lon, stream.lat]}
            for stream in streams
            if stream.lon is not None and stream.lat is not None
        }
        first = True
        async for rows in observation_rows(session, streams):
            if rows:
                yield await asyncio.to_thread(_feature_chunk, rows, places, first)
                first = False
    yield b"\n]}\n"


def _feature_chunk(rows: Sequence[ObservationRow], places: dict[int, Any], first: bool) -> bytes:
    out = []
    for identifier, datastream, start, end, result_at, number, rest in rows:
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
                "result_text": rest,
            },
        }
        out.append((b"\n" if first else b",\n") + orjson.dumps(feature, option=orjson.OPT_UTC_Z))
        first = False
    return b"".join(out)


async def _copy(
    session: AsyncSession, statement: str, queued: int = _QUEUED_CHUNKS, **options: Any
) -> AsyncIterator[bytes]:
    """`COPY (statement) TO STDOUT` (with asyncpg's copy `options`), chunk by chunk through a bounded queue; the
    copy stops (and its transaction rolls back with the session) when the reader goes away."""
    await _lift_timeout(session)
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None, "a live connection"
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(queued)

    async def output(chunk: bytes) -> None:
        await queue.put(bytes(chunk))  # asyncpg may hand a bytearray it reuses

    async def copy() -> None:
        try:
            await raw.copy_from_query(statement, output=output, **options)
        finally:
            await queue.put(None)

    task = asyncio.create_task(copy())
    try:
        while (chunk := await queue.get()) is not None:
            yield chunk
        await task  # raises what the copy raised
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                # Let the cancelled copy finish unwinding; its `finally` may wait on a full queue: make room.
                while not task.done():
                    with contextlib.suppress(asyncio.QueueEmpty):
                        queue.get_nowait()
                    await asyncio.sleep(0)
                await task
