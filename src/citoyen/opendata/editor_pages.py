"""The publishers' pages of the catalogue (role publisher, or administrators), in French and English: a dataset's
form (new and edit), publishing a draft, deleting a dataset, adding a resource (an upload checked row by row and
previewed before "Publish", or a link), a new version of a resource's file, and a resource's page with its versions.

The forms reach the same service functions as the CKAN API's writes (`editing` calls check_dataset, save_dataset,
store_upload, create_resource, update_resource), so a dataset made here is the API's and DCAT's at once."""

from __future__ import annotations

from typing import Annotated

from babel.numbers import format_decimal
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, Response
from starlette.datastructures import FormData, UploadFile

from citoyen.db import DbSession
from citoyen.errors import Kind, Refusal
from citoyen.i18n import N_
from citoyen.opendata import editor_views as views
from citoyen.opendata import service
from citoyen.opendata.views import COLUMN_TYPES, file_size
from citoyen.people.service import Person
from citoyen.web.forms import AppSettings, field, see_other
from citoyen.web.params import FORBIDDEN_TEXT, MAX_ID, form_has_forbidden_characters
from citoyen.web.security import CurrentPerson, Form, SignedInPerson, TypedForm
from citoyen.web.templating import flash, gettext_for, locale_of, render

router = APIRouter(include_in_schema=False)

UNKNOWN_DATASET = N_("Unknown dataset.")
UNKNOWN_RESOURCE = N_("Unknown resource.")
TOO_LARGE = N_("The file is larger than the limit of %(limit)s.")


async def require_publisher(person: SignedInPerson) -> Person:
    """Publishers and administrators; anyone else signed in is refused (403), anyone signed out sent to log in."""
    if not person.can_publish:
        raise HTTPException(403, "Publishers only.")
    return person


PublisherPerson = Annotated[Person, Depends(require_publisher)]


def _size_label(request: Request, size: int) -> str:
    """A size in bytes as the reader's language says it (kB, MB...)."""
    value, unit = file_size(size)
    return gettext_for(request)(unit, size=format_decimal(value, "#,##0.#", locale=locale_of(request)))


def _labels(request: Request) -> dict[str, object]:
    return {"size_label": lambda size: _size_label(request, size), "opendata_types": COLUMN_TYPES}


def _not_found(error: service.OpendataError, message: str) -> Refusal:
    return Refusal(message, Kind.NOT_FOUND) if error.kind == Kind.NOT_FOUND else error


def _forbidden_characters(form: FormData) -> dict[str, list[views.Problem]] | None:
    if form_has_forbidden_characters(form):
        return {"form": [views.Problem(FORBIDDEN_TEXT)]}
    return None


# A dataset's form


def _dataset_form(form: FormData) -> service.DatasetForm:
    texts = {key: field(form, key) for key in service.DATASET_TEXTS}
    texts["notes"] = field(form, "notes", strip=False)
    texts["notes_en"] = field(form, "notes_en", strip=False)
    groups = tuple(value for value in form.getlist("groups") if isinstance(value, str) and value)
    return service.DatasetForm(texts, groups, field(form, "private") == "on")


async def _render_dataset_form(
    request: Request,
    session: DbSession,
    form: service.DatasetForm,
    problems: dict[str, list[views.Problem]] | None = None,
    dataset: service.DatasetView | None = None,
    status_code: int = 200,
) -> Response:
    page = await views.dataset_form_page(
        session, locale_of(request), form, problems, dataset.dataset if dataset else None
    )
    return render(request, "opendata/dataset_form.html", {"page": page}, status_code)


@router.get("/data/new")
async def new_dataset(request: Request, session: DbSession, _person: PublisherPerson) -> Response:
    form = service.DatasetForm({"license_id": "etalab-2.0"}, (), True)
    return await _render_dataset_form(request, session, form)


@router.post("/data/new")
async def create_dataset(request: Request, session: DbSession, _person: PublisherPerson, form: TypedForm) -> Response:
    typed = _dataset_form(form)
    if problems := _forbidden_characters(form):
        return await _render_dataset_form(request, session, typed, problems, status_code=400)
    try:
        dataset = await service.create_from_form(session, typed)
    except service.OpendataError as error:
        return await _render_dataset_form(request, session, typed, views.field_problems(error), status_code=400)
    flash(request, N_("The dataset is saved. Add its files now."), "success")
    return see_other(f"/data/{dataset.name}")


async def _editable(session: DbSession, name: str) -> service.DatasetView:
    try:
        return await service.dataset_for_editing(session, name)
    except service.OpendataError as error:
        raise _not_found(error, UNKNOWN_DATASET) from None


@router.get("/data/{name}/edit")
async def edit_dataset(request: Request, name: str, session: DbSession, _person: PublisherPerson) -> Response:
    view = await _editable(session, name)
    return await _render_dataset_form(request, session, service.dataset_form(view), dataset=view)


@router.post("/data/{name}/edit")
async def update_dataset(
    request: Request, name: str, session: DbSession, _person: PublisherPerson, form: TypedForm
) -> Response:
    view = await _editable(session, name)
    typed = _dataset_form(form)
    if problems := _forbidden_characters(form):
        return await _render_dataset_form(request, session, typed, problems, view, 400)
    try:
        dataset = await service.update_from_form(session, name, typed)
    except service.OpendataError as error:
        return await _render_dataset_form(request, session, typed, views.field_problems(error), view, 400)
    flash(request, N_("The dataset is saved."), "success")
    return see_other(f"/data/{dataset.name}")


@router.post("/data/{name}/publish")
async def publish_dataset(
    request: Request, name: str, session: DbSession, _person: PublisherPerson, _form: Form
) -> Response:
    await _editable(session, name)
    dataset = await service.publish_dataset(session, name)
    flash(request, N_("The dataset is published: everyone can see it and download its files."), "success")
    return see_other(f"/data/{dataset.name}")


@router.post("/data/{name}/delete")
async def delete_dataset(
    request: Request, name: str, session: DbSession, _person: PublisherPerson, _form: Form
) -> Response:
    await _editable(session, name)
    await service.delete_dataset(session, name)
    flash(request, N_("The dataset is deleted from the catalogue."), "success")
    return see_other("/data")


# Resources: a page with its versions, a new one, a new version


async def _resource(session: DbSession, name: str, resource_id: str, include_private: bool) -> views.ResourcePage:
    try:
        return await views.resource_page(session, name, resource_id, include_private)
    except service.OpendataError as error:
        raise _not_found(error, UNKNOWN_RESOURCE) from None


def _details(form: FormData) -> dict[str, str]:
    details = {key: field(form, key) for key in service.RESOURCE_TEXTS}
    details["description"] = field(form, "description", strip=False)
    details["description_en"] = field(form, "description_en", strip=False)
    return details


def _render_upload(request: Request, page: views.UploadPage, status_code: int = 200) -> Response:
    return render(request, "opendata/resource_form.html", {"page": page, **_labels(request)}, status_code)


async def _upload_page(session: DbSession, settings: AppSettings, name: str, resource_id: str = "") -> views.UploadPage:
    view = await _editable(session, name)
    current = await _resource(session, name, resource_id, True) if resource_id else None
    details: dict[str, str] = {}
    if current is not None:
        described = current.view.resource
        details = {
            "name": described.name,
            "name_en": described.name_en,
            "description": described.description,
            "description_en": described.description_en,
        }
    return views.UploadPage(view.dataset, current, details, max_bytes=settings.opendata_max_upload_bytes)


@router.get("/data/{name}/resources/new")
async def new_resource(
    request: Request, name: str, session: DbSession, settings: AppSettings, _person: PublisherPerson
) -> Response:
    return _render_upload(request, await _upload_page(session, settings, name))


@router.get("/data/{name}/resources/{resource_id}")
async def resource(
    request: Request, name: str, resource_id: str, session: DbSession, person: CurrentPerson
) -> Response:
    page = await _resource(session, name, resource_id, person is not None and person.can_publish)
    return render(request, "opendata/resource.html", {"page": page, **_labels(request)})


@router.get("/data/{name}/resources/{resource_id}/upload")
async def new_version(
    request: Request, name: str, resource_id: str, session: DbSession, settings: AppSettings, _person: PublisherPerson
) -> Response:
    return _render_upload(request, await _upload_page(session, settings, name, resource_id))


async def _check_upload(
    request: Request, session: DbSession, settings: AppSettings, name: str, resource_id: str, form: FormData
) -> Response:
    """Check the file sent (stored, unpublished) and show its rows' problems, or its preview and "Publish"; a
    link (no file, a new resource only) is added at once."""
    page = await _upload_page(session, settings, name, resource_id)
    details = _details(form)
    keep_schema = page.resource is not None and field(form, "keep_schema") == "on"
    typed = views.UploadPage(page.dataset, page.resource, details, keep_schema=keep_schema, max_bytes=page.max_bytes)
    if problems := _forbidden_characters(form):
        return _render_upload(request, views.replace_problems(typed, problems), 400)
    upload = form.get("upload")
    has_file = isinstance(upload, UploadFile) and bool(upload.filename or upload.size)
    try:
        if not has_file and page.resource is None and details.get("url"):
            await service.add_link(session, name, details)
            flash(request, N_("The link is added to the dataset."), "success")
            return see_other(f"/data/{name}")
        if not isinstance(upload, UploadFile) or not has_file:
            raise service.OpendataError("upload: Missing value", "invalid", {"upload": ["Missing value"]})
        schema = page.resource.current_schema if keep_schema and page.resource else None
        file = service.Upload(upload.filename or "file", upload.file, upload.content_type or "")
        staged = await service.stage_upload(
            settings.opendata_path, settings.opendata_max_upload_bytes, file, details, schema
        )
    except service.OpendataError as error:
        if error.reason == "too_large":
            limit = _size_label(request, settings.opendata_max_upload_bytes)
            problems = {"upload": [views.Problem(TOO_LARGE, {"limit": limit})]}
            return _render_upload(request, views.replace_problems(typed, problems), 413)
        rows, by_field = views.upload_problems(error)
        return _render_upload(request, views.with_problems(typed, rows, by_field), 400)
    preview = await views.staged_preview(settings.opendata_path, staged)
    return _render_upload(request, views.with_staged(typed, preview))


@router.post("/data/{name}/resources/new")
async def check_new_resource(
    request: Request, name: str, session: DbSession, settings: AppSettings, _person: PublisherPerson, form: TypedForm
) -> Response:
    return await _check_upload(request, session, settings, name, "", form)


@router.post("/data/{name}/resources/{resource_id}/upload")
async def check_new_version(
    request: Request,
    name: str,
    resource_id: str,
    session: DbSession,
    settings: AppSettings,
    _person: PublisherPerson,
    form: TypedForm,
) -> Response:
    return await _check_upload(request, session, settings, name, resource_id, form)


@router.post("/data/{name}/resources/publish")
async def publish_upload(
    request: Request, name: str, session: DbSession, settings: AppSettings, _person: PublisherPerson, form: Form
) -> Response:
    """Publish a checked upload: a new resource, or the next version of the resource named in the form."""
    resource_id = field(form, "resource")
    page = await _upload_page(session, settings, name, resource_id)
    details = _details(form)
    keep_schema = page.resource is not None and field(form, "keep_schema") == "on"
    try:
        published = await service.publish_upload(
            session,
            settings.opendata_path,
            settings.opendata_max_upload_bytes,
            name,
            field(form, "sha256"),
            field(form, "filename"),
            details,
            resource_id,
            page.resource.current_schema if keep_schema and page.resource else None,
        )
    except service.OpendataError as error:
        rows, by_field = views.upload_problems(error)
        typed = views.UploadPage(
            page.dataset, page.resource, details, keep_schema=keep_schema, max_bytes=page.max_bytes
        )
        return _render_upload(request, views.with_problems(typed, rows, by_field), 400)
    if resource_id:
        flash(request, N_("The new version is published; the earlier ones stay downloadable."), "success")
    else:
        flash(request, N_("The file is published in the dataset."), "success")
    return see_other(f"/data/{name}/resources/{published.uuid}")


@router.get("/data/{name}/resources/{resource_id}/draft/{filename}")
async def draft_download(
    name: str,
    resource_id: str,
    filename: str,
    session: DbSession,
    settings: AppSettings,
    _person: PublisherPerson,
    version: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """A file of a draft's resource (its current version, or `?version=N`), for publishers: kept out of every
    shared cache. Once the dataset is published its files download by the public route."""
    try:
        _resource, stored = await service.downloadable(session, name, resource_id, version, include_private=True)
    except service.OpendataError as error:
        raise _not_found(error, UNKNOWN_RESOURCE) from None
    headers = {"Cache-Control": "private, no-store"}
    path = settings.opendata_path / stored.path
    return FileResponse(path, media_type=stored.mimetype or None, filename=stored.filename, headers=headers)
