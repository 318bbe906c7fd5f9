"""The typed views of the publishers' pages: a dataset's form with its choices (publishers, licences, themes,
frequencies) and its problems by field, a resource's page with every version, an upload's form with its problems
row by row or its preview before publishing, and the drafts of the catalogue."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.i18n import N_, localized
from citoyen.opendata import catalog, service
from citoyen.opendata import vocabularies as voc
from citoyen.opendata.editing import BBOX_PROBLEM
from citoyen.opendata.models import Dataset, Resource, ResourceVersion
from citoyen.opendata.preview import Preview, preview
from citoyen.opendata.views import COLUMN_TYPES, download_url

# A field's problem as CKAN says it -> what the form says next to the field.
KNOWN_PROBLEMS = {
    "Missing value": N_("Please fill in this field."),
    "That URL is already in use.": N_("Another dataset already has this name."),
    catalog.NAME_MESSAGE: N_("Use 2 to 100 lower-case letters without accents, digits, - or _."),
    "Must be at least 2 characters long": N_("Use 2 to 100 lower-case letters without accents, digits, - or _."),
    "Name must be a maximum of 100 characters long": N_(
        "Use 2 to 100 lower-case letters without accents, digits, - or _."
    ),
    "A organization must be supplied": N_("Choose a publisher."),
    "Organization does not exist": N_("This publisher does not exist."),
    "Date format incorrect: use YYYY-MM-DD": N_("Give a date as YYYY-MM-DD."),
    "Must not be before temporal_start": N_("The end cannot be before the start."),
    "Please provide a link (http:// or https://) or upload a file": N_(
        "Choose a file, or give a link starting with http:// or https://."
    ),
    "The file is empty": N_("The file is empty."),
    "This upload is no longer kept: send the file again.": N_("This upload is no longer kept: send the file again."),
    BBOX_PROBLEM: N_("Give four numbers: west, south, east, north (longitudes and latitudes in degrees)."),
}
# Otherwise, what each field expects.
FIELD_PROBLEMS = {
    "name": N_("Use 2 to 100 lower-case letters without accents, digits, - or _."),
    "license_id": N_("Choose a licence from the list."),
    "frequency": N_("Choose a frequency from the list."),
    "groups": N_("Choose themes from the list."),
    "tags": N_("Keywords are separated by commas; each has 2 to 100 letters, digits, spaces, - _ or ."),
    "upload": N_("This file cannot be published: it is not of the format it says, or is damaged."),
    "format": N_("Upload a CSV, TSV, GeoJSON, JSON, XLSX, Parquet, ZIP or PDF file."),
    "spatial": N_("Give four numbers: west, south, east, north (longitudes and latitudes in degrees)."),
}
TOO_LONG = N_("This text is too long.")
NOT_ACCEPTED = N_("This value is not accepted.")
# A cell that is not of its column's type, by type.
TYPE_PROBLEMS = {
    "date": N_("Line %(row)d, column “%(column)s”: “%(cell)s” is not a date"),
    "datetime": N_("Line %(row)d, column “%(column)s”: “%(cell)s” is not a date and time"),
    "time": N_("Line %(row)d, column “%(column)s”: “%(cell)s” is not a time of day"),
    "integer": N_("Line %(row)d, column “%(column)s”: “%(cell)s” is not a whole number"),
    "number": N_("Line %(row)d, column “%(column)s”: “%(cell)s” is not a number"),
    "boolean": N_("Line %(row)d, column “%(column)s”: “%(cell)s” is not yes or no (true or false)"),
    "year": N_("Line %(row)d, column “%(column)s”: “%(cell)s” is not a year"),
}
ROW_PROBLEMS = {
    "type-error": N_("Line %(row)d, column “%(column)s”: “%(cell)s” is not of the column’s type (%(type)s)"),
    "constraint-error": N_("Line %(row)d, column “%(column)s”: “%(cell)s” breaks a rule of the column"),
    "missing-cell": N_("Line %(row)d: the cell of column “%(column)s” is missing"),
    "extra-cell": N_("Line %(row)d has more cells than the header has columns"),
    "row-width": N_("Line %(row)d has %(cell)s cells, not as many as the header has columns"),
    "blank-row": N_("Line %(row)d is empty"),
    "primary-key": N_("Line %(row)d: this row’s key is already used by another row"),
    "unique-error": N_("Line %(row)d, column “%(column)s”: “%(cell)s” is already in another row"),
}
OTHER_ROW_PROBLEM = N_("Line %(row)d, column “%(column)s”: %(note)s")
TABLE_PROBLEM = N_("The header: %(note)s")


@dataclass(frozen=True)
class Problem:
    """A msgid and its values, for `_(message, **values)`."""

    message: str
    values: dict[str, Any] = field(default_factory=dict)


def field_problems(error: service.OpendataError) -> dict[str, list[Problem]]:
    """A refusal's problems by the form field they concern, in words a publisher reads (msgids)."""
    problems: dict[str, list[Problem]] = {}
    for key, messages in (error.fields or {error.field or "form": [str(error)]}).items():
        for message in messages:
            if message in KNOWN_PROBLEMS:
                said = KNOWN_PROBLEMS[message]
            elif message.startswith("Must be at most"):
                said = TOO_LONG
            else:
                said = FIELD_PROBLEMS.get(key, NOT_ACCEPTED)
            if Problem(said) not in problems.get(key, []):
                problems.setdefault(key, []).append(Problem(said))
    return problems


def row_problem(problem: service.RowProblem) -> Problem:
    """One problem of an uploaded table, said row by row: « Ligne 12, colonne « date » : « 31/02/2026 » n’est
    pas une date »."""
    values: dict[str, Any] = {"row": problem.row or 0, "column": problem.field, "cell": problem.cell}
    if problem.row is None:
        return Problem(TABLE_PROBLEM, {"note": problem.note})
    if problem.kind == "type-error" and problem.field_type in TYPE_PROBLEMS:
        return Problem(TYPE_PROBLEMS[problem.field_type], values)
    if problem.kind in ROW_PROBLEMS:
        kind = COLUMN_TYPES.get(problem.field_type, problem.field_type)
        return Problem(ROW_PROBLEMS[problem.kind], {**values, "type": kind})
    return Problem(OTHER_ROW_PROBLEM, {**values, "note": problem.note})


def upload_problems(error: service.OpendataError) -> tuple[tuple[Problem, ...], dict[str, list[Problem]]]:
    """An upload's refusal: its rows' problems (a table), and the other problems by field."""
    if isinstance(error, service.TableProblems):
        return tuple(row_problem(item) for item in error.problems), {}
    return (), field_problems(error)


# A dataset's form


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class DatasetFormPage:
    form: service.DatasetForm
    problems: dict[str, list[Problem]]
    publishers: tuple[Choice, ...]
    licences: tuple[Choice, ...]
    themes: tuple[Choice, ...]
    frequencies: tuple[Choice, ...]
    dataset: Dataset | None = None  # None for a new one


async def dataset_form_page(
    session: AsyncSession,
    locale: str,
    form: service.DatasetForm,
    problems: dict[str, list[Problem]] | None = None,
    dataset: Dataset | None = None,
) -> DatasetFormPage:
    """A dataset's form with the catalogue's publishers, licences, themes and frequencies to choose from."""
    publishers = tuple(
        Choice(item.name, localized(locale, item.title, item.title_en))
        for item in await service.list_organizations(session)
    )
    themes = tuple(
        Choice(item.name, localized(locale, item.title, item.title_en)) for item in await service.list_groups(session)
    )
    licences = tuple(Choice(key, localized(locale, item.title.fr, item.title.en)) for key, item in voc.LICENCES.items())
    frequencies = tuple(Choice(key, localized(locale, item.fr, item.en)) for key, item in voc.FREQUENCIES.items())
    return DatasetFormPage(form, problems or {}, publishers, licences, themes, frequencies, dataset)


# A resource and its uploads


@dataclass(frozen=True)
class ResourcePage:
    dataset: Dataset
    view: service.ResourceView
    versions: tuple[ResourceVersion, ...]  # latest first
    download_url: str

    def version_url(self, version: ResourceVersion) -> str:
        return f"{self.download_url.rsplit('/', 1)[0]}/{quote(version.filename)}?version={version.number}"

    @property
    def current_schema(self) -> dict[str, Any] | None:
        """The Table Schema of the current version, which a new version may be checked against."""
        return self.view.version.table_schema if self.view.version else None


async def resource_page(
    session: AsyncSession, dataset_name: str, resource_uuid: str, include_private: bool = False
) -> ResourcePage:
    """A resource of a dataset (a draft's only for who may see drafts) with every version of its file."""
    view = await service.load_view(
        session, await service.find_dataset(session, dataset_name, include_private=include_private)
    )
    for item in view.resources:
        if item.resource.uuid == resource_uuid:
            versions = await service.versions(session, item.resource) if item.version else []
            link = download_url(item, draft=view.dataset.private)
            return ResourcePage(view.dataset, item, tuple(reversed(versions)), link)
    raise service.OpendataError("Not found: Resource", "not_found")


@dataclass(frozen=True)
class StagedPreview:
    """A checked upload before it is published: its file, format, rows and detected Table Schema, its preview,
    and what the publish form sends back."""

    staged: service.StagedUpload
    preview: Preview
    columns: tuple[tuple[str, str], ...]  # (name, Table Schema type)

    @property
    def schema_json(self) -> str:
        return json.dumps(self.staged.stored.table_schema or {}, ensure_ascii=False, indent=2)


async def staged_preview(directory: Path, staged: service.StagedUpload) -> StagedPreview:
    """The preview of a checked upload, read from its stored file as a published one's is."""
    stored = staged.stored
    resource = Resource(format=staged.format)
    version = ResourceVersion(
        path=stored.path,
        size=stored.size,
        row_count=stored.row_count,
        table_schema=stored.table_schema,
        filename=staged.filename,
    )
    shown = await asyncio.to_thread(preview, directory, resource, version)
    fields = (stored.table_schema or {}).get("fields", [])
    columns = tuple((str(item.get("name", "")), str(item.get("type", "string"))) for item in fields)
    return StagedPreview(staged, shown, columns)


@dataclass(frozen=True)
class UploadPage:
    dataset: Dataset
    resource: ResourcePage | None  # a new version of this resource; None for a new resource
    details: dict[str, str]  # what was typed: name, name_en, description, description_en, url, format
    row_problems: tuple[Problem, ...] = ()
    problems: dict[str, list[Problem]] = field(default_factory=dict)
    staged: StagedPreview | None = None
    keep_schema: bool = True
    max_bytes: int = 0


def with_problems(page: UploadPage, rows: tuple[Problem, ...], problems: dict[str, list[Problem]]) -> UploadPage:
    return replace(page, row_problems=rows, problems=problems, staged=None)


def replace_problems(page: UploadPage, problems: dict[str, list[Problem]]) -> UploadPage:
    return with_problems(page, (), problems)


def with_staged(page: UploadPage, staged: StagedPreview) -> UploadPage:
    return replace(page, row_problems=(), problems={}, staged=staged)
