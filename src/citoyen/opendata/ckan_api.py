"""The CKAN Action API v3 (`/api/3/action/<action>`, and `/api/action/<action>` where ckanapi calls it); the
files' download routes are in `downloads`. Answers are CKAN's: `{"help", "success", "result"}`, or `"error"` with
CKAN's `__type` and HTTP status (Not Found 404, Authorization 403, Validation 409). Reads are open; writes need
an API token with the `opendata:write` scope in the `Authorization` (or `X-CKAN-API-Key`) header, as CKAN's.
Uploads come as multipart forms with the file in `upload`. `datastore_search` and `datastore_info` answer
from the DataStore (`opendata.datastore`)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from citoyen.addresses import base_url
from citoyen.db import DbSession, reads_when
from citoyen.opendata import ckan_format, datastore, vocabularies
from citoyen.opendata import service as opendata
from citoyen.opendata.catalog import EXTRA_KEYS, as_bool
from citoyen.opendata.errors import OpendataError, invalid
from citoyen.opendata.models import Dataset, DatasetGroup, Group, Organization
from citoyen.opendata.search import catalogue_cache
from citoyen.web.params import MAX_ID, MAX_OFFSET, has_forbidden_characters

router = APIRouter(tags=["open data (CKAN)"])
WRITE_SCOPE = "opendata:write"
ERROR_TYPES = {
    "invalid": ("Validation Error", 409),
    "not_found": ("Not Found Error", 404),
    "forbidden": ("Authorization Error", 403),
    "too_large": ("Validation Error", 413),
}


class Call:
    """One action call: its parameters, the request and session, and whether its token may write."""

    def __init__(self, request: Request, session: Any, params: dict[str, Any], upload: UploadFile | None) -> None:
        self.request = request
        self.session = session
        self.params = params
        self.upload = upload
        self.can_write = False

    @property
    def base_url(self) -> str:
        return base_url(self.request.app.state.settings, self.request)

    def text(self, key: str, default: str = "") -> str:
        value = self.params.get(key, default)
        if value is None:
            return default
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise invalid(key, "Must be a string")
        return str(value)

    def integer(self, key: str, default: int | None, low: int = 0, high: int = MAX_OFFSET) -> int | None:
        value = self.params.get(key)
        if value in (None, ""):
            return default
        try:
            number = int(value) if not isinstance(value, bool | float) else None
        except (TypeError, ValueError):
            number = None
        if number is None:
            raise invalid(key, "Invalid integer")
        if number < low or number > high:
            raise invalid(key, f"Must be between {low} and {high}")
        return number

    def flag(self, key: str) -> bool:
        return as_bool(self.params.get(key, False), key)


Action = Callable[[Call], Awaitable[Any]]
READ_ACTIONS: dict[str, Action] = {}
WRITE_ACTIONS: dict[str, Action] = {}


def action(name: str, write: bool = False) -> Callable[[Action], Action]:
    def register(function: Action) -> Action:
        (WRITE_ACTIONS if write else READ_ACTIONS)[name] = function
        return function

    return register


def _answer(call_help: str, result: Any) -> JSONResponse:
    return JSONResponse({"help": call_help, "success": True, "result": result})


def error_answer(
    call_help: str, error_type: str, message: str, status: int, fields: dict[str, Any] | None = None
) -> JSONResponse:
    error: dict[str, Any] = {"__type": error_type, "message": message}
    if fields:
        error.update(fields)
    return JSONResponse({"help": call_help, "success": False, "error": error}, status_code=status)


def _refuse_control_characters(key: str, value: Any) -> None:
    """No text a client sends may hold NUL, other control characters or lone surrogates (nothing can store them)."""
    if isinstance(value, str):
        if has_forbidden_characters(value):
            raise invalid(key, "Must not contain control characters")
    elif isinstance(value, list):
        for item in value:
            _refuse_control_characters(key, item)
    elif isinstance(value, dict):
        for inner_key, item in value.items():
            _refuse_control_characters(key, inner_key)
            _refuse_control_characters(key, item)


async def _parameters(request: Request) -> tuple[dict[str, Any], UploadFile | None]:
    params, upload = await _read_parameters(request)
    for key, value in params.items():
        _refuse_control_characters(str(key), value)
    return params, upload


async def _read_parameters(request: Request) -> tuple[dict[str, Any], UploadFile | None]:
    if request.method == "GET":
        return dict(request.query_params), None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        max_bytes: int = request.app.state.settings.opendata_max_upload_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes + 1024 * 1024:
            raise OpendataError(
                "upload: the request is larger than the upload limit",
                "too_large",
                {"upload": [f"File too large: at most {max_bytes} bytes"]},
            )
        form = await request.form()
        params: dict[str, Any] = {}
        upload = None
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if key == "upload":
                    upload = value
            else:
                params[key] = value
        return params, upload
    body = await request.body()
    if not body.strip():
        return {}, None
    try:
        params = json.loads(body)
    except ValueError:
        raise OpendataError("Bad request - JSON Error: could not read the JSON body", "bad_request") from None
    if not isinstance(params, dict):
        raise OpendataError("Bad request - JSON Error: the body must be a JSON object", "bad_request")
    return params, None


async def token_may_write(request: Request, session: Any) -> bool | None:
    """True for a token with the write scope, False for one without it (or unknown), None for no token."""
    secret = request.headers.get("authorization") or request.headers.get("x-ckan-api-key") or ""
    secret = secret.strip()
    if secret.lower().startswith("bearer "):
        secret = secret[7:].strip()
    if not secret:
        return None
    token = await request.app.state.api_tokens.verify(session, secret, WRITE_SCOPE)
    return token is not None


@router.get("/api/3/action/{name}")
@router.get("/api/action/{name}", include_in_schema=False)
async def read_action(name: str, request: Request, session: DbSession) -> Response:
    """Run a CKAN action with its parameters in the query string (reads only)."""
    return await _run_action(name, request, session)


def _is_read_action(request: Request) -> bool:
    return request.path_params.get("name") in READ_ACTIONS


@router.post("/api/3/action/{name}")
@router.post("/api/action/{name}", include_in_schema=False)
@reads_when(_is_read_action)  # ckanapi sends its reads as POST: they must not wait for SQLite's write turn
async def post_action(name: str, request: Request, session: DbSession) -> Response:
    """Run a CKAN action with its parameters in a JSON body or a form (multipart with the file in `upload`)."""
    return await _run_action(name, request, session)


async def _run_action(name: str, request: Request, session: Any) -> Response:
    call_help = f"{base_url(request.app.state.settings, request)}/api/3/action/help_show?name={name}"
    function = READ_ACTIONS.get(name) or WRITE_ACTIONS.get(name)
    if function is None:
        return error_answer(call_help, "Bad Request", f"Bad request - Action name not known: {name[:100]}", 400)
    try:
        params, upload = await _parameters(request)
        call = Call(request, session, params, upload)
        may_write = await token_may_write(request, session)
        call.can_write = bool(may_write)
        if name in WRITE_ACTIONS:
            if request.method != "POST":
                raise OpendataError(f"Bad request - Action {name} requires a POST request", "bad_request")
            if may_write is None:
                raise OpendataError(f"Action {name} requires an authenticated user (an API token)", "forbidden")
            if not may_write:
                raise OpendataError(
                    f"Action {name}: this API token is unknown, revoked or lacks the {WRITE_SCOPE} scope", "forbidden"
                )
        result = await function(call)
    except OpendataError as error:
        if error.reason == "bad_request":
            return error_answer(call_help, "Bad Request", error.message, 400)
        error_type, status = ERROR_TYPES.get(error.reason, ("Validation Error", 409))
        return error_answer(call_help, error_type, error.message, status, error.fields or None)
    return _answer(call_help, result)


# Reads


@action("help_show")
async def help_show(call: Call) -> str:
    name = call.text("name")
    function = READ_ACTIONS.get(name) or WRITE_ACTIONS.get(name)
    if function is None:
        raise OpendataError(f"Action function not found: {name[:100]}", "not_found")
    return function.__doc__ or ""


@action("status_show")
async def status_show(call: Call) -> dict[str, Any]:
    """The site and the CKAN version it speaks."""
    settings = call.request.app.state.settings
    return {
        "ckan_version": ckan_format.CKAN_VERSION,
        "site_title": f"Citoyen — {settings.city_name}",
        "site_description": "Open data of the city (Citoyen platform)",
        "site_url": call.base_url,
        "locale_default": settings.default_locale,
        "error_emails_to": None,
        "extensions": [],
    }


@action("site_read")
async def site_read(call: Call) -> bool:
    """Whether the catalogue may be read (always)."""
    return True


@action("package_list")
async def package_list(call: Call) -> list[str]:
    """Names of the public datasets (limit, offset)."""
    limit = call.integer("limit", None, 0, opendata.MAX_ROWS * 100)
    return await opendata.dataset_names(call.session, limit, call.integer("offset", 0) or 0)


@action("current_package_list_with_resources")
async def current_package_list_with_resources(call: Call) -> list[dict[str, Any]]:
    """Public datasets with their resources, last modified first (limit, offset)."""
    limit = call.integer("limit", 10, 0, opendata.MAX_ROWS) or 0
    views = await opendata.recent_datasets(call.session, limit, call.integer("offset", 0) or 0)
    return [ckan_format.package_dict(view, call.base_url) for view in views]


@action("package_show")
async def package_show(call: Call) -> dict[str, Any]:
    """One dataset by id or name (id)."""
    dataset = await opendata.find_dataset(call.session, call.text("id"), include_private=call.can_write)
    return ckan_format.package_dict(await opendata.load_view(call.session, dataset), call.base_url)


@action("package_search")
async def package_search(call: Call) -> dict[str, Any]:
    """Search: q, fq, rows, start, sort, facet.field, facet.limit, facet.mincount, include_private."""
    query = opendata.SearchQuery(
        q=call.text("q"),
        fq=opendata.parse_fq(call.text("fq")),
        rows=min(call.integer("rows", 10, 0, 10**9) or 0, opendata.MAX_ROWS),
        start=call.integer("start", 0) or 0,
        sort=opendata.parse_sort(call.text("sort")),
        facet_fields=opendata.parse_facet_fields(call.params.get("facet.field"))
        if str(call.params.get("facet", "true")).lower() != "false"
        else (),
        facet_limit=call.integer("facet.limit", 50, 1, 1000) or 50,
        facet_mincount=call.integer("facet.mincount", 1, 0, MAX_ID) or 0,
        include_private=call.flag("include_private") and call.can_write,
    )
    result = await opendata.search(call.session, query, catalogue_cache(call.request.app.state))
    search_facets = {
        name: {
            "title": name,
            "items": [{"name": item.name, "display_name": item.display_name, "count": item.count} for item in items],
        }
        for name, items in result.facets.items()
    }
    return {
        "count": result.count,
        "sort": call.text("sort") or "score desc, metadata_modified desc",
        "results": [ckan_format.package_dict(view, call.base_url) for view in result.datasets],
        "facets": {name: {item.name: item.count for item in items} for name, items in result.facets.items()},
        "search_facets": search_facets,
    }


@action("resource_show")
async def resource_show(call: Call) -> dict[str, Any]:
    """One resource by id (id)."""
    resource, dataset = await opendata.find_resource(call.session, call.text("id"), include_private=call.can_write)
    view = await opendata.resource_view(call.session, resource, dataset)
    return ckan_format.resource_dict(view, dataset.uuid, call.base_url)


@action("datastore_search")
async def datastore_search(call: Call) -> dict[str, Any]:
    """Rows of a tabular resource (resource_id, q, filters, limit, offset, sort, fields, include_total, distinct,
    records_format, total_estimation_threshold), as CKAN's DataStore answers."""
    query = datastore.parse_query(call.params)
    resource, _dataset = await opendata.find_resource(call.session, query.resource_id, include_private=call.can_write)
    version = await opendata.current_version(call.session, resource)
    return await datastore.search(call.session, _storage(call)[0], resource, version, query)


@action("datastore_info")
async def datastore_info(call: Call) -> dict[str, Any]:
    """The fields and row count of a tabular resource's DataStore table (id or resource_id)."""
    key = call.text("resource_id") or call.text("id")
    resource, _dataset = await opendata.find_resource(call.session, key, include_private=call.can_write)
    version = await opendata.current_version(call.session, resource)
    return await datastore.info(call.session, _storage(call)[0], resource, version)


@dataclass(frozen=True)
class _Collections:
    """Publishers (CKAN organizations) or themes (CKAN groups), which CKAN lists and shows alike."""

    label: str
    find: Callable[[Any, str], Awaitable[Organization | Group | None]]
    everything: Callable[[Any], Awaitable[Sequence[Organization | Group]]]
    counted_by: Any  # the column datasets are counted by
    datasets_key: str  # `datasets_of`'s argument


ORGANIZATIONS = _Collections(
    "Organization",
    opendata.find_organization,
    opendata.list_organizations,
    Dataset.organization_id,
    "organization_id",
)
GROUPS = _Collections("Group", opendata.find_group, opendata.list_groups, DatasetGroup.group_id, "group_id")


async def _collection_list(call: Call, kind: _Collections) -> list[Any]:
    items = await kind.everything(call.session)
    if not call.flag("all_fields"):
        return [item.name for item in items]
    counts = await opendata.dataset_counts(call.session, kind.counted_by)
    return [ckan_format.collection_dict(item, counts.get(item.id, 0)) for item in items]


async def _collection_show(call: Call, kind: _Collections) -> dict[str, Any]:
    item = await kind.find(call.session, call.text("id"))
    if item is None:
        raise OpendataError(f"Not found: {kind.label}", "not_found")
    counts = await opendata.dataset_counts(call.session, kind.counted_by)
    result = ckan_format.collection_dict(item, counts.get(item.id, 0))
    if call.flag("include_datasets"):
        views = await opendata.datasets_of(call.session, **{kind.datasets_key: item.id})
        result["packages"] = [ckan_format.package_dict(view, call.base_url) for view in views]
    return result


@action("organization_list")
async def organization_list(call: Call) -> list[Any]:
    """Publishers' names, or whole (all_fields)."""
    return await _collection_list(call, ORGANIZATIONS)


@action("organization_show")
async def organization_show(call: Call) -> dict[str, Any]:
    """One publisher by id or name (id, include_datasets)."""
    return await _collection_show(call, ORGANIZATIONS)


@action("group_list")
async def group_list(call: Call) -> list[Any]:
    """Themes' names, or whole (all_fields)."""
    return await _collection_list(call, GROUPS)


@action("group_show")
async def group_show(call: Call) -> dict[str, Any]:
    """One theme by id or name (id, include_datasets)."""
    return await _collection_show(call, GROUPS)


@action("tag_list")
async def tag_list(call: Call) -> list[str]:
    """Tags of public datasets (query: those containing it)."""
    return await opendata.tag_names(call.session, call.text("query"))


@action("license_list")
async def license_list(call: Call) -> list[dict[str, Any]]:
    """The licences a dataset may have."""
    return [ckan_format.licence_dict(license_id) for license_id in vocabularies.LICENCES]


# Writes


@action("organization_create", write=True)
async def organization_create(call: Call) -> dict[str, Any]:
    """A new publisher (name, title, title_en, description, description_en, department_code)."""
    organization = await opendata.create_organization(
        call.session,
        name=call.text("name"),
        title=call.text("title"),
        title_en=call.text("title_en"),
        description=call.text("description"),
        description_en=call.text("description_en"),
        department_code=call.text("department_code")[:40] or None,
    )
    return ckan_format.collection_dict(organization, 0)


@action("package_create", write=True)
async def package_create(call: Call) -> dict[str, Any]:
    """A new dataset (name, title, notes, owner_org, license_id, tags, groups, private, extras, resources...)."""
    checked = await opendata.check_dataset(call.session, call.params)
    dataset = await opendata.save_dataset(call.session, checked)
    await _sync_resources(call, dataset)
    return await _package(call, dataset)


@action("package_update", write=True)
async def package_update(call: Call) -> dict[str, Any]:
    """Replace a dataset's fields (id); its resources too when `resources` is given."""
    dataset = await opendata.find_dataset(call.session, call.text("id") or call.text("name"), include_private=True)
    checked = await opendata.check_dataset(call.session, call.params, dataset)
    await opendata.save_dataset(call.session, checked, dataset)
    await _sync_resources(call, dataset)
    return await _package(call, dataset)


@action("package_patch", write=True)
async def package_patch(call: Call) -> dict[str, Any]:
    """Change only the given fields of a dataset (id)."""
    dataset = await opendata.find_dataset(call.session, call.text("id"), include_private=True)
    view = await opendata.load_view(call.session, dataset)
    current = ckan_format.package_dict(view, call.base_url)
    merged = {**current, **{key: value for key, value in call.params.items() if key != "id"}}
    if "extras" in call.params:  # the extras given say the DCAT fields, unless given at the top too
        for key in EXTRA_KEYS:
            if key not in call.params:
                merged.pop(key, None)
    if "resources" not in call.params:
        merged.pop("resources", None)
    checked = await opendata.check_dataset(call.session, merged, dataset)
    await opendata.save_dataset(call.session, checked, dataset)
    call.params = merged
    await _sync_resources(call, dataset)
    return await _package(call, dataset)


@action("package_delete", write=True)
async def package_delete(call: Call) -> None:
    """Remove a dataset from the catalogue (id)."""
    await opendata.delete_dataset(call.session, call.text("id"))


@action("resource_create", write=True)
async def resource_create(call: Call) -> dict[str, Any]:
    """A new resource of a dataset (package_id; url for a link, or the file in `upload`; name, format...)."""
    view = await opendata.create_resource(call.session, *_storage(call), call.params, _upload(call))
    dataset = await opendata.find_dataset(call.session, view.dataset_name, include_private=True)
    return ckan_format.resource_dict(view, dataset.uuid, call.base_url)


@action("resource_update", write=True)
async def resource_update(call: Call) -> dict[str, Any]:
    """Change a resource (id); a new file in `upload` becomes its next version."""
    view = await opendata.update_resource(call.session, *_storage(call), call.params, _upload(call))
    dataset = await opendata.find_dataset(call.session, view.dataset_name, include_private=True)
    return ckan_format.resource_dict(view, dataset.uuid, call.base_url)


@action("resource_delete", write=True)
async def resource_delete(call: Call) -> None:
    """Remove a resource (id)."""
    await opendata.delete_resource(call.session, call.text("id"))


def _storage(call: Call) -> tuple[Any, int]:
    settings = call.request.app.state.settings
    return settings.opendata_path, settings.opendata_max_upload_bytes


def _upload(call: Call) -> opendata.Upload | None:
    if call.upload is None:
        return None
    return opendata.Upload(call.upload.filename or "file", call.upload.file, call.upload.content_type or "")


async def _package(call: Call, dataset: Dataset) -> dict[str, Any]:
    return ckan_format.package_dict(await opendata.load_view(call.session, dataset), call.base_url)


async def _sync_resources(call: Call, dataset: Dataset) -> None:
    """`resources`, when given, say the dataset's resources (absent: they stay as they are)."""
    items = call.params.get("resources")
    if items is not None:
        await opendata.sync_resources(call.session, *_storage(call), dataset, items)
