"""What publishers do in the catalogue's pages: a dataset's form turned into the CKAN fields the API checks (the
same `check_dataset` and `save_dataset`), publishing a draft, and uploads in two steps: the file is checked and
stored first (`store_upload`, as the API does), its preview shown, and only "Publish" makes it a resource or a
resource's new version (`create_resource` / `update_resource` on the stored file, as the API does).

A checked upload waits under the open-data directory, named by its SHA-256, unreferenced: the files' upkeep
removes it after its grace period (an hour) if it was never published."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.opendata.catalog import (
    DatasetView,
    check_dataset,
    find_dataset,
    load_view,
    load_views,
    save_dataset,
)
from citoyen.opendata.errors import OpendataError, invalid
from citoyen.opendata.files import (
    StoredFile,
    Upload,
    create_resource,
    find_resource,
    format_of,
    store_upload,
    update_resource,
)
from citoyen.opendata.models import Dataset, DatasetState, Resource

# The text fields of a dataset's form, by their CKAN names (themes and the draft box are read apart).
DATASET_TEXTS = (
    "name", "title", "title_en", "notes", "notes_en", "owner_org", "license_id", "tags", "frequency",
    "temporal_start", "temporal_end", "bbox",
)  # fmt: skip
BBOX_PROBLEM = "Give four numbers: west, south, east, north (longitudes and latitudes in degrees)"
RESOURCE_TEXTS = ("name", "name_en", "description", "description_en", "url", "format")
SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class DatasetForm:
    """What a publisher typed in a dataset's form: its text fields, the themes ticked and the draft box."""

    texts: dict[str, str]
    groups: tuple[str, ...] = ()
    private: bool = True

    def ckan_fields(self) -> dict[str, Any]:
        """The form as a package_create / package_update would send it (the spatial coverage as a GeoJSON
        polygon of the box typed; refused on the field `bbox` when it is not one)."""
        fields: dict[str, Any] = {key: value for key, value in self.texts.items() if key not in ("tags", "bbox")}
        fields["tag_string"] = self.texts.get("tags", "")
        fields["groups"] = [{"name": name} for name in self.groups]
        fields["private"] = self.private
        fields["spatial"] = bbox_polygon(self.texts.get("bbox", ""))
        return fields


def bbox_polygon(text: str) -> str:
    """A box typed as "west, south, east, north" (WGS84 degrees) as a GeoJSON polygon; "" for nothing typed."""
    if not text.strip():
        return ""
    try:
        west, south, east, north = (float(part) for part in text.replace(";", ",").split(","))
    except ValueError:
        raise invalid("bbox", BBOX_PROBLEM) from None
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise invalid("bbox", BBOX_PROBLEM)
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return json.dumps({"type": "Polygon", "coordinates": [ring]}, separators=(",", ":"))


def bbox_text(spatial: str) -> str:
    """A dataset's spatial coverage as the box the form shows ("" when it has none or it is not a polygon)."""
    if not spatial:
        return ""
    try:
        geometry = json.loads(spatial)
        if geometry["type"] != "Polygon":
            return ""
        points = [point for ring in geometry["coordinates"] for point in ring]
        longitudes = [float(point[0]) for point in points]
        latitudes = [float(point[1]) for point in points]
    except (ValueError, TypeError, KeyError, IndexError):
        return ""
    if not points:
        return ""
    return ", ".join(f"{value:g}" for value in (min(longitudes), min(latitudes), max(longitudes), max(latitudes)))


def dataset_form(view: DatasetView) -> DatasetForm:
    """A dataset's current fields, to fill its edit form."""
    dataset = view.dataset
    texts = {
        "name": dataset.name,
        "title": dataset.title,
        "title_en": dataset.title_en,
        "notes": dataset.notes,
        "notes_en": dataset.notes_en,
        "owner_org": view.organization.name if view.organization else "",
        "license_id": dataset.license_id,
        "tags": ", ".join(tag.name for tag in view.tags),
        "frequency": dataset.frequency,
        "temporal_start": dataset.temporal_start.isoformat() if dataset.temporal_start else "",
        "temporal_end": dataset.temporal_end.isoformat() if dataset.temporal_end else "",
        "bbox": bbox_text(dataset.spatial),
    }
    return DatasetForm(texts, tuple(group.name for group in view.groups), dataset.private)


async def create_from_form(session: AsyncSession, form: DatasetForm) -> Dataset:
    """A new dataset from its form, checked as package_create checks it (every problem at once)."""
    return await save_dataset(session, await check_dataset(session, form.ckan_fields()))


async def update_from_form(session: AsyncSession, name: str, form: DatasetForm) -> Dataset:
    """A dataset's fields replaced by its edit form (its resources stay), checked as package_update checks them.
    The platform's own datasets keep what feeds them."""
    dataset = await find_dataset(session, name, include_private=True)
    fields = {**form.ckan_fields(), "source": dataset.source or ""}
    if not form.texts.get("bbox") and bbox_text(dataset.spatial) == "":
        fields["spatial"] = dataset.spatial  # a coverage the box cannot say (not a polygon) stays as it was
    fields["version"] = dataset.version
    return await save_dataset(session, await check_dataset(session, fields, dataset), dataset)


async def publish_dataset(session: AsyncSession, name: str) -> Dataset:
    """A draft becomes public: the catalogue, the APIs and DCAT show it and its files download for anyone."""
    dataset = await find_dataset(session, name, include_private=True)
    if dataset.private:
        dataset.private = False
        dataset.modified_at = utcnow()
        await session.flush()
    return dataset


async def dataset_for_editing(session: AsyncSession, name: str) -> DatasetView:
    """A dataset (a draft too) with its publisher, tags, themes and resources."""
    return await load_view(session, await find_dataset(session, name, include_private=True))


async def drafts(session: AsyncSession, limit: int = 50) -> list[DatasetView]:
    """The catalogue's drafts, last changed first (no row records who made them: publishers share them)."""
    query = (
        select(Dataset)
        .where(Dataset.state == DatasetState.ACTIVE, Dataset.private.is_(True))
        .order_by(Dataset.modified_at.desc(), Dataset.id.desc())
        .limit(limit)
    )
    return await load_views(session, list((await session.execute(query)).scalars()))


# Uploads in two steps


@dataclass(frozen=True)
class StagedUpload:
    """A checked upload waiting to be published: its stored file and what the publisher said of it."""

    stored: StoredFile
    filename: str
    format: str
    details: dict[str, str]  # the resource's name, name_en, description, description_en


async def stage_upload(
    directory: Path,
    max_bytes: int,
    upload: Upload,
    details: dict[str, str],
    schema: dict[str, Any] | None = None,
) -> StagedUpload:
    """Check an upload (type, size, Table Schema: row by row for a table) and store it, unpublished. Refused
    with the API's errors (`files.TableProblems` lists a table's rows)."""
    code = format_of(details.get("format", ""), upload.filename, upload.content_type)
    stored = await store_upload(directory, upload, code, max_bytes, schema)
    _check_record(directory, stored.sha256, code, schema).write_text(
        json.dumps({"size": stored.size, "row_count": stored.row_count, "table_schema": stored.table_schema})
    )
    return StagedUpload(stored, upload.filename, code, {key: details.get(key, "") for key in RESOURCE_TEXTS})


def _check_record(directory: Path, sha256: str, code: str, schema: dict[str, Any] | None) -> Path:
    """Where the check of a staged file is recorded, by its content, format and the schema it was checked
    against: publishing it then needs no second check (a big table takes minutes). Kept in `incoming/`, which the
    files' upkeep empties after its grace period."""
    checked_against = hashlib.sha256(json.dumps(schema, sort_keys=True).encode()).hexdigest()[:16]
    return directory / "incoming" / f"{sha256}-{code}-{checked_against}.checked.json"


def _checked_file(directory: Path, sha256: str, code: str, schema: dict[str, Any] | None) -> StoredFile | None:
    """The staged file as `store_upload` checked and stored it, when its check is recorded; None otherwise."""
    try:
        record = json.loads(_check_record(directory, sha256, code, schema).read_text())
        return StoredFile(
            sha256, int(record["size"]), f"{sha256[:2]}/{sha256}", record["row_count"], record["table_schema"]
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def staged_path(directory: Path, sha256: str) -> Path:
    """Where a staged upload waits; refused when the key is not a SHA-256 or the file is gone (pruned)."""
    if not SHA256.fullmatch(sha256):
        raise invalid("upload", "Unknown upload")
    path = directory / sha256[:2] / sha256
    if not path.is_file():
        raise OpendataError(
            "upload: this upload is no longer kept, send the file again",
            "invalid",
            {"upload": ["This upload is no longer kept: send the file again."]},
        )
    return path


async def publish_upload(
    session: AsyncSession,
    directory: Path,
    max_bytes: int,
    dataset_name: str,
    sha256: str,
    filename: str,
    details: dict[str, str],
    resource_uuid: str = "",
    schema: dict[str, Any] | None = None,
) -> Resource:
    """Publish a staged upload: a new resource of the dataset, or the next version of `resource_uuid`'s file.
    The file goes through `create_resource` / `update_resource` as an API upload does: with the check its staging
    recorded, or checked again when that record is gone."""
    dataset = await find_dataset(session, dataset_name, include_private=True)
    path = staged_path(directory, sha256)
    data: dict[str, Any] = {key: details.get(key, "") for key in RESOURCE_TEXTS if key != "url"}
    if schema is not None:
        data["schema"] = schema
    checked = _checked_file(directory, sha256, format_of(details.get("format", ""), filename), schema)
    with path.open("rb") as stream:
        upload = Upload(filename, stream)
        if resource_uuid:
            resource, owner = await find_resource(session, resource_uuid, include_private=True)
            if owner.id != dataset.id:
                raise invalid("id", "Not a resource of this dataset")
            data = {**data, "id": resource.uuid}
            view = await update_resource(session, directory, max_bytes, data, upload, stored=checked)
        else:
            data = {**data, "package_id": dataset.uuid}
            view = await create_resource(session, directory, max_bytes, data, upload, stored=checked)
    return view.resource


async def add_link(session: AsyncSession, dataset_name: str, details: dict[str, str]) -> Resource:
    """A new resource of a dataset that is a link to elsewhere."""
    dataset = await find_dataset(session, dataset_name, include_private=True)
    data = {key: details.get(key, "") for key in RESOURCE_TEXTS}
    view = await create_resource(session, Path(), 0, {**data, "package_id": dataset.uuid}, None)
    return view.resource
