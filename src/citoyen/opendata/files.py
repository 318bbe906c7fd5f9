"""Resources and their files: links, uploads checked for their type and size, stored once by SHA-256 under the
open-data directory, and versions (a new upload adds one; earlier ones stay downloadable). A refused upload
stores nothing and changes nothing already published."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.opendata import datastore, vocabularies
from citoyen.opendata.catalog import ResourceView, find_dataset, load_view, new_uuid, text_field, touch
from citoyen.opendata.errors import OpendataError, invalid, not_found
from citoyen.opendata.models import Dataset, DatasetState, Resource, ResourceVersion

if TYPE_CHECKING:
    from frictionless import Resource as TableResource

# frictionless is imported where a file is checked, not with this module: it is tens of megabytes resident in
# every app process, and only uploads and publication runs need it.

# The formats an upload may have, and what its bytes must look like.
UPLOAD_FORMATS = ("CSV", "TSV", "GEOJSON", "JSON", "XLSX", "PARQUET", "ZIP", "PDF")
TABULAR = ("CSV", "TSV")
_CHUNK = 1024 * 1024
_GEOJSON_TYPES = {
    "FeatureCollection", "Feature", "Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
    "MultiPolygon", "GeometryCollection",
}  # fmt: skip


@dataclass(frozen=True)
class Upload:
    """A file a client sends: its name and an open binary stream."""

    filename: str
    stream: IO[bytes]
    content_type: str = ""


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    path: str  # relative to the open-data directory
    row_count: int | None
    table_schema: dict[str, Any] | None


def format_of(declared: str, filename: str = "", media_type: str = "") -> str:
    """The format code (CSV, GEOJSON, ...) from what the client declared, else the file name or media type."""
    for candidate in (declared, Path(filename).suffix, media_type):
        code = vocabularies.file_type_for(candidate) if candidate else None
        if code:
            return code
    return declared.strip().upper()[:20]


def media_type_of(code: str) -> str:
    file_type = vocabularies.FILE_TYPES.get(code)
    return file_type.media_type if file_type else "application/octet-stream"


async def store_upload(
    directory: Path, upload: Upload, code: str, max_bytes: int, schema: dict[str, Any] | None
) -> StoredFile:
    """Copy an upload to the open-data directory, refusing it (and keeping nothing) if it is too big, not the
    declared type, or (tabular) fails its Table Schema. The copying and checking run in a thread."""
    if code not in UPLOAD_FORMATS:
        raise invalid("format", f"Uploads must be one of {', '.join(UPLOAD_FORMATS)} (got {code or 'nothing'})")
    return await asyncio.to_thread(_store, directory, upload.stream, code, max_bytes, schema)


def _store(directory: Path, stream: IO[bytes], code: str, max_bytes: int, schema: dict[str, Any] | None) -> StoredFile:
    incoming = directory / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=incoming)
    temporary = Path(name)
    try:
        digest = hashlib.sha256()
        size = 0
        with os.fdopen(handle, "wb") as out:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise OpendataError(
                        f"upload: the file is larger than the limit of {max_bytes} bytes",
                        "too_large",
                        {"upload": [f"File too large: at most {max_bytes} bytes"]},
                    )
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise invalid("upload", "The file is empty")
        row_count, table_schema = check_content(temporary, code, schema)
        sha256 = digest.hexdigest()
        relative = f"{sha256[:2]}/{sha256}"
        final = directory / relative
        final.parent.mkdir(exist_ok=True)
        if final.exists():
            # Kept as new: the upkeep (opendata.tasks) leaves files this recent alone until the version commits.
            os.utime(final)
        else:
            temporary.replace(final)
        return StoredFile(sha256, size, relative, row_count, table_schema)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def check_content(path: Path, code: str, schema: dict[str, Any] | None) -> tuple[int | None, dict[str, Any] | None]:
    """Whether the file is what its format says; for a table, its row count and Table Schema (the one given,
    which it must pass, or one inferred)."""
    with path.open("rb") as file:
        head = file.read(8)
    if code in TABULAR:
        return _check_table(path, code, schema)
    if code in ("JSON", "GEOJSON"):
        try:
            document = json.loads(path.read_bytes())
        except (ValueError, UnicodeDecodeError):
            raise invalid("upload", f"The file is not valid {code}") from None
        if code == "GEOJSON" and (not isinstance(document, dict) or document.get("type") not in _GEOJSON_TYPES):
            raise invalid("upload", "The file is not GeoJSON: it needs a top-level object with a GeoJSON type")
        features = document.get("features") if isinstance(document, dict) else None
        return (len(features) if isinstance(features, list) else None), None
    if code in ("XLSX", "ZIP"):
        if not zipfile.is_zipfile(path):
            raise invalid("upload", f"The file is not a {code} file")
        if code == "XLSX":
            with zipfile.ZipFile(path) as archive:
                if "xl/workbook.xml" not in archive.namelist():
                    raise invalid("upload", "The file is not an XLSX workbook")
            return _check_workbook(path, schema)
        return None, None
    if code == "PARQUET":
        with path.open("rb") as file:
            file.seek(-4, os.SEEK_END)
            tail = file.read(4)
        if head[:4] != b"PAR1" or tail != b"PAR1":
            raise invalid("upload", "The file is not a Parquet file")
        return None, None
    if code == "PDF" and not head.startswith(b"%PDF-"):
        raise invalid("upload", "The file is not a PDF document")
    return None, None


# A column's type is the first of frictionless' candidates that nearly all its sampled cells fit, text ("string")
# when none does: a date column with one mistyped date stays a date column, and the mistake is reported on its row
# (with "string" among the candidates, one such cell made the whole column text).
def _type_candidates() -> list[dict[str, Any]]:
    from frictionless import settings

    return [item for item in settings.DEFAULT_FIELD_CANDIDATES if item["type"] != "string"]


def _sample_rows() -> int:
    from frictionless import settings

    return int(settings.DEFAULT_SAMPLE_SIZE)


MAX_PROBLEMS = 100


@dataclass(frozen=True)
class RowProblem:
    """One problem of an uploaded table: its row (the header is row 1), column and cell, the kind of error
    (frictionless' type: type-error, constraint-error, missing-cell, extra-cell...; "row-width" for a row whose
    number of cells differs from the header's), the column's Table Schema type and frictionless' English note."""

    row: int | None
    field: str = ""
    cell: str = ""
    kind: str = ""
    field_type: str = ""
    note: str = ""

    def text(self) -> str:
        """The problem in English, as the CKAN API lists it."""
        if self.row is None:
            return self.note
        return f"row {self.row}, field {self.field}: {self.note}" if self.field else f"row {self.row}: {self.note}"


class TableProblems(OpendataError):
    """A table refused for its rows: each problem (at most MAX_PROBLEMS) for the pages to show row by row, and
    their English text in the CKAN Validation Error's `upload` field."""

    def __init__(self, problems: list[RowProblem]) -> None:
        shown = problems[:MAX_PROBLEMS]
        super().__init__("The file does not pass its Table Schema", "invalid", {"upload": [p.text() for p in shown]})
        self.problems = tuple(shown)


def _check_table(path: Path, code: str, schema: dict[str, Any] | None) -> tuple[int, dict[str, Any]]:
    from frictionless import Resource as TableResource
    from frictionless import Schema

    sample_rows = _sample_rows()
    widths: list[RowProblem] = []
    sample: list[list[str]] = []
    try:
        with path.open(encoding="utf-8", newline="") as file:
            rows = csv.reader(file, delimiter="\t" if code == "TSV" else ",")
            header = next(rows, None)
            for number, row in enumerate(rows, start=2):
                if len(sample) < sample_rows and row:
                    sample.append(row)
                if row and header and len(row) != len(header) and len(widths) < MAX_PROBLEMS:
                    note = f"{len(row)} cells where the header has {len(header)}"
                    widths.append(RowProblem(number, cell=str(len(row)), kind="row-width", note=note))
    except (UnicodeDecodeError, csv.Error):
        raise invalid("upload", f"The file is not {code} text in UTF-8") from None
    if not header:
        raise invalid("upload", f"The file is not a {code} table: it has no header row")
    if widths:
        raise TableProblems(widths)
    if schema is None:
        schema = _inferred_schema(header, sample)
    try:
        checked = Schema.from_descriptor(schema)
    except Exception as error:  # frictionless raises its own FrictionlessException on any bad descriptor
        raise invalid("schema", f"Not a valid Table Schema: {error}") from None
    table = TableResource(path=path.name, basepath=str(path.parent), format=code.lower(), schema=checked)
    report = table.validate(limit_errors=MAX_PROBLEMS)
    _raise_problems(table, report)
    rows_seen = report.tasks[0].stats.get("rows")
    return int(rows_seen or 0), table.schema.to_descriptor()


def _check_workbook(path: Path, schema: dict[str, Any] | None) -> tuple[int, dict[str, Any]]:
    """An XLSX workbook's first sheet checked as a table: its cells keep their own types (a date is a date), so
    frictionless' own inference finds each column's type, and a cell that does not fit is reported on its row."""
    from frictionless import Resource as TableResource
    from frictionless import Schema

    options: dict[str, Any] = {"format": "xlsx"}
    if schema is not None:
        try:
            options["schema"] = Schema.from_descriptor(schema)
        except Exception as error:  # frictionless raises its own FrictionlessException on any bad descriptor
            raise invalid("schema", f"Not a valid Table Schema: {error}") from None
    table = TableResource(path=path.name, basepath=str(path.parent), **options)
    report = table.validate(limit_errors=MAX_PROBLEMS)
    _raise_problems(table, report)
    descriptor = table.schema.to_descriptor()
    for item in descriptor.get("fields", []):
        if item.get("type") == "any":  # an empty column
            item["type"] = "string"
    return int(report.tasks[0].stats.get("rows") or 0), descriptor


def _raise_problems(table: TableResource, report: Any) -> None:
    """Refuse a table whose validation found problems, each with its row, column and cell."""
    types = {item.name: item.type for item in table.schema.fields}
    problems = [
        RowProblem(
            getattr(error, "row_number", None),
            str(getattr(error, "field_name", "") or ""),
            str(getattr(error, "cell", "") or ""),
            error.type,
            types.get(str(getattr(error, "field_name", "")), ""),
            error.message,
        )
        for error in report.tasks[0].errors
    ]
    if problems:
        raise TableProblems(problems)


def _inferred_schema(header: list[str], sample: list[list[str]]) -> dict[str, Any]:
    """The Table Schema of a table given without one, from its first rows: each column's type is the first of
    frictionless' candidates nearly all its cells fit, text when none does."""
    from frictionless import Detector

    detected = Detector().detect_schema(sample, labels=header, field_candidates=_type_candidates())
    descriptor = detected.to_descriptor()
    for item in descriptor.get("fields", []):
        if item.get("type") == "any":
            item["type"] = "string"
    return descriptor


# Resources


async def find_resource(session: AsyncSession, key: str, *, include_private: bool = False) -> tuple[Resource, Dataset]:
    """A resource of an active dataset, by id; of a private dataset only for who may see drafts."""
    if not isinstance(key, str) or not key:
        raise invalid("id", "Missing value")
    row = (
        await session.execute(
            select(Resource, Dataset)
            .join(Dataset, Dataset.id == Resource.dataset_id)
            .where(Resource.uuid == key, Dataset.state == DatasetState.ACTIVE)
        )
    ).one_or_none()
    if row is None:
        raise not_found("Resource")
    resource, dataset = row
    if dataset.private and not include_private:
        raise OpendataError(f"User not authorized to read resource {key}", "forbidden")
    return resource, dataset


async def resource_view(session: AsyncSession, resource: Resource, dataset: Dataset) -> ResourceView:
    version = await current_version(session, resource)
    return ResourceView(resource, dataset.name, version)


async def current_version(session: AsyncSession, resource: Resource) -> ResourceVersion | None:
    if resource.current_version is None:
        return None
    return await version_of(session, resource, resource.current_version)


async def version_of(session: AsyncSession, resource: Resource, number: int) -> ResourceVersion | None:
    query = select(ResourceVersion).where(ResourceVersion.resource_id == resource.id, ResourceVersion.number == number)
    return (await session.execute(query)).scalar_one_or_none()


async def versions(session: AsyncSession, resource: Resource) -> list[ResourceVersion]:
    query = select(ResourceVersion).where(ResourceVersion.resource_id == resource.id).order_by(ResourceVersion.number)
    return list((await session.execute(query)).scalars())


def _schema(data: dict[str, Any]) -> dict[str, Any] | None:
    value = data.get("schema")
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise invalid("schema", "Must be a Table Schema as JSON") from None
    if not isinstance(value, dict):
        raise invalid("schema", "Must be a Table Schema as JSON")
    return value


def _describe(resource: Resource, data: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    resource.name = text_field(data, "name", 300, errors).strip()
    resource.name_en = text_field(data, "name_en", 300, errors).strip()
    resource.description = text_field(data, "description", 100_000, errors)
    resource.description_en = text_field(data, "description_en", 100_000, errors)
    if errors:
        raise OpendataError("Validation Error", "invalid", errors)


def _link(data: dict[str, Any]) -> str:
    url = text_field(data, "url", 2000).strip()
    if not url.startswith(("http://", "https://")):
        raise invalid("url", "Please provide a link (http:// or https://) or upload a file")
    return url


async def create_resource(
    session: AsyncSession,
    directory: Path,
    max_bytes: int,
    data: dict[str, Any],
    upload: Upload | None,
    stored: StoredFile | None = None,
) -> ResourceView:
    """A new resource of a dataset: a link (`url`) or an uploaded file (its first version). `stored` is the
    upload's file when `store_upload` already stored it, outside the transaction (the platform's publication)."""
    package = data.get("package_id")
    if not isinstance(package, str) or not package:
        raise invalid("package_id", "Missing value")
    dataset = await find_dataset(session, package, include_private=True)
    resource = Resource(uuid=new_uuid(), dataset_id=dataset.id)
    _describe(resource, data)
    declared = text_field(data, "format", 40)
    if upload is None:
        resource.url = _link(data)
        resource.format = format_of(declared, resource.url)
        resource.mimetype = text_field(data, "mimetype", 100) or (
            media_type_of(resource.format) if resource.format in vocabularies.FILE_TYPES else ""
        )
    else:
        resource.format = format_of(declared, upload.filename, upload.content_type)
        if stored is None:
            stored = await store_upload(directory, upload, resource.format, max_bytes, _schema(data))
        resource.mimetype = media_type_of(resource.format)
        resource.name = resource.name or upload.filename[:300]
    position = await session.scalar(select(func.count()).where(Resource.dataset_id == dataset.id))
    resource.position = int(position or 0)
    session.add(resource)
    await session.flush()
    version = None
    if upload is not None and stored is not None:
        version = _add_version(session, resource, 1, stored, upload.filename)
        resource.current_version = 1
        await session.flush()
        await _load_rows(session, directory, resource, version)
    await touch(session, dataset.id)
    return ResourceView(resource, dataset.name, version)


async def update_resource(
    session: AsyncSession,
    directory: Path,
    max_bytes: int,
    data: dict[str, Any],
    upload: Upload | None,
    stored: StoredFile | None = None,
) -> ResourceView:
    """Change a resource's description; with an upload, a new version of its file becomes the current one
    (`stored`: the upload's file, already stored by `store_upload`)."""
    key = data.get("id")
    resource, dataset = await find_resource(session, key if isinstance(key, str) else "", include_private=True)
    _describe(resource, data)
    declared = text_field(data, "format", 40)
    if upload is not None:
        code = format_of(declared, upload.filename, upload.content_type)
        if stored is None:
            stored = await store_upload(directory, upload, code, max_bytes, _schema(data))
        last = await session.scalar(
            select(func.max(ResourceVersion.number)).where(ResourceVersion.resource_id == resource.id)
        )
        number = int(last or 0) + 1
        version = _add_version(session, resource, number, stored, upload.filename)
        resource.current_version = number
        resource.format = code
        resource.mimetype = media_type_of(code)
        resource.url = ""
        await session.flush()
        await _load_rows(session, directory, resource, version)
    elif resource.current_version is None:
        resource.url = _link(data)
        resource.format = format_of(declared, resource.url)
        resource.mimetype = text_field(data, "mimetype", 100) or resource.mimetype
    resource.modified_at = utcnow()
    await session.flush()
    await touch(session, dataset.id)
    return await resource_view(session, resource, dataset)


async def _load_rows(session: AsyncSession, directory: Path, resource: Resource, version: ResourceVersion) -> None:
    """A table's rows go to the DataStore with the version (same transaction), for datastore_search."""
    if resource.format in datastore.TABULAR:
        await datastore.load_version(session, directory, resource, version)


def _add_version(
    session: AsyncSession, resource: Resource, number: int, stored: StoredFile, filename: str
) -> ResourceVersion:
    version = ResourceVersion(
        resource_id=resource.id,
        number=number,
        sha256=stored.sha256,
        size=stored.size,
        path=stored.path,
        filename=safe_filename(filename),
        mimetype=media_type_of(resource.format),
        row_count=stored.row_count,
        table_schema=stored.table_schema,
    )
    session.add(version)
    return version


def safe_filename(filename: str) -> str:
    """The last part of a client's file name, without characters a URL path or a header would trip on."""
    name = Path(filename.replace("\\", "/")).name
    cleaned = "".join(char if char.isalnum() or char in "-_." else "-" for char in name).strip(".-")
    return cleaned[:200] or "file"


async def sync_resources(session: AsyncSession, directory: Path, max_bytes: int, dataset: Dataset, items: Any) -> None:
    """The `resources` of a package_create or package_update: listed ones are kept (and described anew), new
    links created, unlisted ones removed."""
    if isinstance(items, str):
        try:
            items = json.loads(items)
        except ValueError:
            items = None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise invalid("resources", "Must be a list of resource dictionaries")
    view = await load_view(session, dataset)
    existing = {resource.resource.uuid for resource in view.resources}
    listed = set()
    for item in items:
        key = item.get("id")
        if isinstance(key, str) and key in existing:
            listed.add(key)
            await update_resource(session, directory, max_bytes, {**item, "id": key}, None)
        else:
            await create_resource(session, directory, max_bytes, {**item, "package_id": dataset.uuid}, None)
    for key in existing - listed:
        await delete_resource(session, key)


async def delete_resource(session: AsyncSession, key: str) -> None:
    """Remove a resource and its versions from the catalogue, and its DataStore rows (the stored files stay: others
    may share them)."""
    resource, dataset = await find_resource(session, key, include_private=True)
    await session.execute(delete(Resource).where(Resource.id == resource.id))
    await datastore.drop_resource(session, resource.uuid)
    await touch(session, dataset.id)


async def downloadable(
    session: AsyncSession, dataset_key: str, resource_key: str, number: int | None, *, include_private: bool = False
) -> tuple[Resource, ResourceVersion]:
    """The file of a public resource (its current version, or version `number`) for the download route; of a
    draft's resource too for who may see drafts."""
    row = (
        await session.execute(
            select(Resource, Dataset)
            .join(Dataset, Dataset.id == Resource.dataset_id)
            .where(
                Resource.uuid == resource_key,
                or_(Dataset.name == dataset_key, Dataset.uuid == dataset_key),
                Dataset.state == DatasetState.ACTIVE,
                *([] if include_private else [Dataset.private.is_(False)]),
            )
        )
    ).one_or_none()
    if row is None:
        raise not_found("Resource")
    resource = row[0]
    version_number = number if number is not None else resource.current_version
    version = await version_of(session, resource, version_number) if version_number is not None else None
    if version is None:
        raise not_found("Resource version")
    return resource, version
