"""Downloads: a resource's stored file (its current version, or `?version=N`) with ETag, Last-Modified and Range,
the same file in other formats (`?format=csv|geojson|parquet`, converted as it streams), and the full history of
the public sensors' readings streamed live from the database (`/data/capteurs/history.csv|geojson|parquet`,
`?kind=air` or `?datastream=N`).

Every answer is compressed with gzip on the fly when the client accepts it (but a Parquet file, already
compressed, and a Range request, which addresses the stored file's own bytes: Range applies to the stored file
only). ETags: the version's SHA-256 (then the format, for a conversion), weak when compressed on the fly.
Errors: an unknown resource, version or format is 404; a conversion the file cannot take (a table
without coordinates as GeoJSON, a PDF as CSV) is 415; both as `{"error": {"status", "message"}}`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from email.utils import format_datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse

from citoyen.db import DbSession
from citoyen.opendata import conversions, history
from citoyen.opendata import service as opendata
from citoyen.opendata.ckan_api import token_may_write
from citoyen.opendata.errors import OpendataError
from citoyen.opendata.models import ResourceVersion
from citoyen.web.params import MAX_ID, has_forbidden_characters

router = APIRouter(tags=["open data (CKAN)"])
FormatName = Annotated[str | None, Query(max_length=20)]
# What a stored format is called in `?format=` (asking a file for its own format gives the file).
OWN_FORMAT = {"CSV": "csv", "GEOJSON": "geojson", "PARQUET": "parquet"}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"status": status, "message": message}}, status_code=status)


def accepts_gzip(request: Request) -> bool:
    """Whether the client accepts gzip (`Accept-Encoding: gzip`, not refused with `q=0`)."""
    for part in request.headers.get("accept-encoding", "").lower().split(","):
        name, _, params = part.strip().partition(";")
        if name.strip() in ("gzip", "*"):
            quality = params.strip().removeprefix("q=")
            return not (params.strip().startswith("q=") and quality.replace("0", "").strip(".") == "")
    return False


def etag(sha256: str, wanted: str | None, compressed: bool) -> str:
    """The ETag of a representation: the version's SHA-256 (and the format of a conversion), weak when
    compressed on the fly (its bytes depend on the compressor; what it decodes to is the same), as web servers
    mark the ETags of what they gzip."""
    tag = f'"{sha256}-{wanted}"' if wanted else f'"{sha256}"'
    return f"W/{tag}" if compressed else tag


def _matches(request: Request, tag: str) -> bool:
    """If-None-Match, compared weakly as HTTP says: a client holding either encoding's ETag has the content."""
    wanted = tag.removeprefix("W/")
    header = request.headers.get("if-none-match", "")
    return header.strip() == "*" or wanted in [part.strip().removeprefix("W/") for part in header.split(",")]


def _filename(stored: ResourceVersion, extension: str) -> str:
    return f"{Path(stored.filename).stem or 'resource'}.{extension}"


def _disposition(filename: str) -> str:
    return f'attachment; filename="{filename}"'


@router.get("/data/{dataset}/resources/{resource_id}/download/{filename}")
async def download(
    dataset: str,
    resource_id: str,
    filename: str,
    request: Request,
    session: DbSession,
    version: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    format: FormatName = None,
) -> Response:
    """An uploaded file: its current version, or an earlier one (`?version=N`), with ETag, Last-Modified and
    Range support; `?format=` gives it converted (a table as GeoJSON or Parquet, GeoJSON as CSV). A draft's file
    (the `url` the CKAN API gives publishers) downloads with a publisher's API token, kept out of shared caches;
    for anyone else it is not found, as an unknown file."""
    draft = False
    try:
        if has_forbidden_characters(dataset + resource_id):
            raise OpendataError("Not found: Resource", "not_found")
        try:
            resource, stored = await opendata.downloadable(session, dataset, resource_id, version)
        except OpendataError:
            if not await token_may_write(request, session):
                raise
            resource, stored = await opendata.downloadable(session, dataset, resource_id, version, include_private=True)
            draft = True
    except OpendataError:
        return _error(404, "not found")
    wanted = (format or "").strip().lower() or None
    if wanted is not None and wanted not in conversions.MEDIA_TYPES:
        return _error(404, f"Unknown format {wanted!r}: ask for csv, geojson or parquet")
    headers = {
        "Last-Modified": format_datetime(stored.created_at, usegmt=True),
        "Cache-Control": "private, no-store"
        if draft
        else ("no-cache" if version is None else "public, max-age=31536000, immutable"),
        "Vary": "Accept-Encoding",
    }
    path = request.app.state.settings.opendata_path / stored.path
    if wanted is None or wanted == OWN_FORMAT.get(resource.format):
        return _stored_file(request, path, stored, resource.format, headers)
    try:
        chunks = await asyncio.to_thread(conversions.converter, path, resource.format, wanted, stored.table_schema)
    except conversions.ConversionError as error:
        return _error(415, str(error))
    compress = wanted != "parquet" and accepts_gzip(request)
    headers["ETag"] = etag(stored.sha256, wanted, compress)
    if _matches(request, headers["ETag"]):
        _close(chunks)
        return Response(status_code=304, headers=headers)
    headers["Content-Disposition"] = _disposition(_filename(stored, wanted))
    headers["Accept-Ranges"] = "none"
    if compress:
        headers["Content-Encoding"] = "gzip"
        chunks = conversions.gzipped(chunks)
    return StreamingResponse(chunks, media_type=conversions.MEDIA_TYPES[wanted], headers=headers)


def _close(chunks: Iterator[bytes]) -> None:
    close = getattr(chunks, "close", None)
    if close is not None:
        close()


def _stored_file(request: Request, path: Path, stored: ResourceVersion, code: str, headers: dict[str, str]) -> Response:
    """The stored file as it is: ranges of it when asked (never compressed), else compressed when accepted."""
    compress = code in conversions.COMPRESSIBLE and accepts_gzip(request) and "range" not in request.headers
    headers["ETag"] = etag(stored.sha256, None, compress)
    if _matches(request, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    if not compress:
        return FileResponse(path, media_type=stored.mimetype or None, filename=stored.filename, headers=headers)
    headers["Content-Encoding"] = "gzip"
    headers["Content-Disposition"] = _disposition(stored.filename)
    body = conversions.gzipped(conversions.text_chunks(path.open("rb")))
    return StreamingResponse(body, media_type=stored.mimetype or None, headers=headers)


# The full history of the sensors' readings


@router.get("/data/{dataset}/history.{extension}")
async def full_history(
    dataset: str,
    extension: str,
    request: Request,
    session: DbSession,
    kind: Annotated[str | None, Query(max_length=20)] = None,
    datastream: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Response:
    """Every reading of the city's public sensors (`?kind=air`: of one kind; `?datastream=N`: of one
    Datastream), oldest first per Datastream, streamed from the database as CSV, GeoJSON or Parquet."""
    if dataset != history.SENSORS_DATASET or has_forbidden_characters(dataset):
        return _error(404, "not found")
    if extension not in history.FORMATS:
        return _error(404, f"Unknown format {extension!r}: ask for history.csv, history.geojson or history.parquet")
    if kind is not None and kind not in history.KINDS:
        return _error(404, f"Unknown kind of sensor {kind!r}")
    try:
        await opendata.find_dataset(session, dataset)
    except OpendataError:
        return _error(404, "not found")
    selection = history.Selection(kind, datastream)
    if datastream is not None and not await history.streams(session, selection):
        return _error(404, "No public Datastream has this id")
    compress = extension != "parquet" and accepts_gzip(request)
    headers = {
        "Cache-Control": "no-cache",
        "Vary": "Accept-Encoding",
        "Content-Disposition": _disposition(f"{selection.name}.{extension}"),
    }
    body = _live(request, selection, extension)
    if compress:
        headers["Content-Encoding"] = "gzip"
        body = conversions.gzipped_async(body)
    return StreamingResponse(body, media_type=conversions.MEDIA_TYPES[extension], headers=headers)


async def _live(request: Request, selection: history.Selection, extension: str) -> AsyncIterator[bytes]:
    """The export read in a session of its own, opened when the response starts and closed when it ends
    (the request's session has committed by then)."""
    async with request.app.state.sessionmaker() as session:
        try:
            async for chunk in history.export(session, selection, extension):
                yield chunk
        finally:
            await session.rollback()  # read only: nothing to keep
