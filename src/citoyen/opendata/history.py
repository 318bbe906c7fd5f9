"""The full history of the city's public sensor readings, streamed live from the database in CSV, GeoJSON or
Parquet: every Observation of the public Datastreams (all of them, one kind of sensor, or one Datastream), read
through sensing's export (`sensing.service.observation_csv` / `observation_rows`), never its tables.

The CSV is sensing's as it comes (PostgreSQL's own COPY there); GeoJSON and Parquet are written here batch by
batch, each batch encoded in a worker thread so that the event loop keeps serving others meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import io
import queue
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.opendata.conversions import ParquetStream, pyarrow_module
from citoyen.sensing import service as sensing

# The sensors dataset the platform publishes (feeds.sensors_feed's slug): its page offers the full history.
SENSORS_DATASET = "capteurs"
FORMATS = ("csv", "geojson", "parquet")
# The kinds of sensors a full history can be limited to (sensing's ThingKind values; the page names them).
KINDS = ("air", "water", "energy", "mobility", "other")
# Rows per Parquet row group: Arrow batches are gathered up to it (a few MB), then written. Half of the 100,000
# it was, with plain pages (no dictionary), the server's working memory during a download went from about 70 to
# about 40 MB, flat from 2 to 4 million readings (the file is smaller too: readings and times do not repeat).
ROW_GROUP_ROWS = 50_000
# CSV chunks (asyncpg's, up to about 240 kB each) waiting for the Parquet writer, which is the slower side: in
# the pipe to its thread, and in sensing's COPY queue before it (32 there by default: 8 MB held all along).
PIPE_CHUNKS = 2
COPY_CHUNKS = 4


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


class _Pipe(io.RawIOBase):
    """Bytes handed over from the event loop to a reader in a worker thread, a few chunks at most in between."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks: queue.Queue[bytes | None] = queue.Queue(PIPE_CHUNKS)
        self._current = b""
        self._ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._current and not self._ended:
            chunk = self.chunks.get()
            if chunk is None:
                self._ended = True
            else:
                self._current = chunk
        size = min(len(buffer), len(self._current))
        buffer[:size] = self._current[:size]
        self._current = self._current[size:]
        return size

    def end(self) -> None:
        """No more bytes (also when the writer gave up): the reader sees the end of the file."""
        with contextlib.suppress(queue.Full):
            while True:
                self.chunks.put_nowait(None)


_END = object()


def _csv_to_parquet(pipe: _Pipe, emit: Callable[[Any], None]) -> None:
    """Read the export's CSV from `pipe` with Arrow's streaming CSV reader and emit the Parquet file's bytes, one
    row group per ROW_GROUP_ROWS rows (runs in a worker thread)."""
    pa = pyarrow_module()
    arrow_csv = pa.csv
    schema = _parquet_schema()
    # The C library's allocator rather than Arrow's default (mimalloc), which kept what a row group had used: at 10
    # million readings the server's peak went from 285 to 250 MB, and to 241 MB with the trim after each group.
    pool = pa.system_memory_pool()
    reader = arrow_csv.open_csv(
        pipe,
        # One block of 1 MB at a time, in this thread: Arrow's read-ahead threads would hold several.
        read_options=arrow_csv.ReadOptions(block_size=1 << 20, use_threads=False),
        convert_options=arrow_csv.ConvertOptions(
            column_types={field.name: field.type for field in schema},
            strings_can_be_null=True,
            timestamp_parsers=[arrow_csv.ISO8601],
        ),
        memory_pool=pool,
    )
    out = ParquetStream(schema, dictionary=False, memory_pool=pool)
    pending: list[Any] = []
    count = 0
    try:
        for batch in reader:
            pending.append(batch)
            count += batch.num_rows
            if count >= ROW_GROUP_ROWS:
                emit(out.write_batches(pending))
                pending, count = [], 0
                release_free_memory()
        if pending:
            emit(out.write_batches(pending))
        emit(out.close())
    finally:
        release_free_memory()


@functools.cache
def _malloc_trim() -> Callable[[int], object] | None:
    try:  # the symbols the process has loaded (the C library's among them): a look-up, nothing is loaded
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not the GNU C library
        return None


def release_free_memory() -> None:
    """Give the memory the C library holds free back to the system (glibc's `malloc_trim`; nothing elsewhere): a
    row group's buffers, freed, would otherwise stay in the process's resident memory between groups and after
    the download."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


async def parquet(session: AsyncSession, chosen: Sequence[sensing.ExportedStream]) -> AsyncIterator[bytes]:
    """The readings as a Parquet file (times as UTC timestamps): sensing's CSV, as it comes, read by Arrow's
    streaming CSV reader in a worker thread and written one row group per ROW_GROUP_ROWS rows."""
    loop = asyncio.get_running_loop()
    pipe = _Pipe()
    written: asyncio.Queue[Any] = asyncio.Queue(4)
    stopped = threading.Event()

    def emit(item: Any) -> None:  # in the worker thread: waits while the client reads slowly
        if not stopped.is_set():
            asyncio.run_coroutine_threadsafe(written.put(item), loop).result()

    def work() -> None:
        try:
            _csv_to_parquet(pipe, emit)
        except BaseException as error:  # handed to the response, which ends with it
            emit(error)
        finally:
            emit(_END)

    async def feed() -> None:
        try:
            async for chunk in sensing.observation_csv(session, chosen, COPY_CHUNKS):
                await asyncio.to_thread(pipe.chunks.put, chunk)
        finally:
            pipe.end()

    feeder = asyncio.create_task(feed())
    worker = asyncio.create_task(asyncio.to_thread(work))
    try:
        while (item := await written.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
        await feeder
    finally:
        stopped.set()
        feeder.cancel()
        pipe.end()
        while not worker.done():  # the worker may be waiting for room: make some until it has ended
            with contextlib.suppress(asyncio.QueueEmpty):
                written.get_nowait()
            await asyncio.sleep(0.01)
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await feeder


async def export(session: AsyncSession, selection: Selection, wanted: str) -> AsyncIterator[bytes]:
    """The full history of `selection` in `wanted` (csv, geojson, parquet), read through `session` (whose
    transaction the caller ends)."""
    chosen = await streams(session, selection)
    if wanted == "csv":
        body = sensing.observation_csv(session, chosen)
    elif wanted == "geojson":
        body = sensing.observation_geojson(session, chosen)
    else:
        body = parquet(session, chosen)
    async for chunk in body:
        yield chunk
