"""The DCAT-AP catalogue on the web: ``/catalog.ttl``, ``/catalog.jsonld``, ``/catalog.rdf`` (and ``/catalog``
negotiated), in pages of public datasets, and each public dataset at its own address ``/data/<name>`` for a
client that asks for RDF (``Accept: text/turtle``, ``application/ld+json`` or ``application/rdf+xml``), or at
``/data/<name>.ttl|.jsonld|.rdf``. Browsers asking ``/data/<name>`` for HTML go on to the catalogue's pages.

The catalogue's datasets (``opendata.service``) are described with ``dcat``'s dataclasses here; their addresses
follow the public address of the platform (``citoyen.addresses.base_url``), which is what harvesters keep.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from shapely.geometry import shape
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.routing import Match
from starlette.types import Scope

from citoyen.addresses import base_url
from citoyen.config import Settings
from citoyen.db import DbSession
from citoyen.opendata import service
from citoyen.opendata import vocabularies as voc
from citoyen.opendata.dcat import (
    FORMAT_MEDIA_TYPES,
    DcatCatalog,
    DcatDataService,
    DcatDataset,
    DcatDistribution,
    DcatPage,
    DcatPublisher,
    RdfFormat,
    catalog_graph,
    dataset_graph,
    negotiate,
    serialize,
)
from citoyen.web.forms import AppSettings
from citoyen.web.params import parse_id

PAGE_SIZE = 100
EXTENSIONS: dict[str, RdfFormat] = {"ttl": "turtle", "jsonld": "json-ld", "rdf": "xml"}
_FORMAT_EXTENSIONS = {fmt: extension for extension, fmt in EXTENSIONS.items()}


# Describing the catalogue


def _base(settings: Settings) -> str:
    return base_url(settings)


def city_publisher(settings: Settings) -> DcatPublisher:
    """The city, which publishes the catalogue (and the datasets no department publishes)."""
    base = _base(settings)
    return DcatPublisher(
        uri=f"{base}/#city",
        name={"fr": f"Ville de {settings.city_name}", "en": f"City of {settings.city_name}"},
        homepage=f"{base}/",
    )


def _publisher(view: service.DatasetView, settings: Settings) -> DcatPublisher:
    organization = view.organization
    if organization is None:
        return city_publisher(settings)
    return DcatPublisher(
        uri=f"{_base(settings)}/organization/{organization.name}",
        name={"fr": organization.title, "en": organization.title_en},
    )


def ckan_service(settings: Settings, serves: tuple[str, ...]) -> DcatDataService:
    """The catalogue's CKAN Action API (``opendata.ckan_api``), which serves every public dataset."""
    base = _base(settings)
    return DcatDataService(
        uri=f"{base}/api/3/action/",
        title={"fr": "API Action de CKAN (v3)", "en": "CKAN Action API (v3)"},
        description={
            "fr": "Recherche et lecture du catalogue comme CKAN les offre (package_search, package_show…).",
            "en": "Searching and reading the catalogue as CKAN offers them (package_search, package_show…).",
        },
        endpoint_url=f"{base}/api/3/action/",
        endpoint_description=f"{base}/openapi.json",
        conforms_to=("https://docs.ckan.org/en/2.11/api/",),
        publisher=city_publisher(settings),
        keywords=("CKAN",),
        serves=serves,
    )


def _theme_code(group: Any) -> str | None:
    """The EU data-theme code a theme (CKAN group) stands for, if it stands for one."""
    code = str(group.theme_uri or "").rstrip("/").rsplit("/", 1)[-1] if group.theme_uri else group.name.upper()
    return code if code in voc.DATA_THEMES else None


def _bbox(spatial: str) -> tuple[float, float, float, float] | None:
    """The bounding box of a dataset's GeoJSON extent (a geometry or a feature); None if there is none to read."""
    if not spatial:
        return None
    try:
        geometry = json.loads(spatial)
        if geometry.get("type") == "Feature":
            geometry = geometry.get("geometry")
        west, south, east, north = shape(geometry).bounds
    except (ValueError, TypeError, AttributeError, KeyError):  # not GeoJSON shapely can read: no extent to tell
        return None
    if any(value != value for value in (west, south, east, north)):  # an empty geometry's bounds are NaN
        return None
    return (west, south, east, north)


def _distribution(view: service.ResourceView, dataset_uri: str) -> DcatDistribution:
    resource, version = view.resource, view.version
    uri = f"{dataset_uri}/resources/{resource.uuid}"
    common: dict[str, Any] = {
        "uri": uri,
        "title": {"fr": resource.name, "en": resource.name_en},
        "description": {"fr": resource.description, "en": resource.description_en},
        "file_type": voc.file_type_for(resource.format),
        "issued": resource.created_at,
        "modified": resource.modified_at,
    }
    if version is None:  # a link to elsewhere: where to reach it, without promising a file
        return DcatDistribution(access_url=resource.url, media_type=resource.mimetype or None, **common)
    download = f"{uri}/download/{quote(version.filename)}"
    return DcatDistribution(
        access_url=download,
        download_url=download,
        media_type=version.mimetype or resource.mimetype or None,
        byte_size=version.size,
        checksum_sha256=version.sha256,
        **{**common, "modified": version.created_at},
    )


def describe_dataset(view: service.DatasetView, settings: Settings) -> DcatDataset:
    """A public dataset of the catalogue as DCAT describes it. A dataset without a description in any language
    is described by its title, as DCAT-AP requires a description."""
    dataset = view.dataset
    uri = f"{_base(settings)}/data/{dataset.name}"
    title = {"fr": dataset.title, "en": dataset.title_en}
    description = {"fr": dataset.notes, "en": dataset.notes_en}
    if not any(text.strip() for text in description.values()):
        description = title
    return DcatDataset(
        uri=uri,
        identifier=dataset.uuid,
        title=title,
        description=description,
        publisher=_publisher(view, settings),
        keywords=tuple(tag.name for tag in view.tags),
        themes=tuple(code for code in (_theme_code(group) for group in view.groups) if code),
        licence=dataset.license_id if dataset.license_id in voc.LICENCES else None,
        frequency=dataset.frequency if dataset.frequency in voc.FREQUENCIES else None,
        temporal_start=dataset.temporal_start,
        temporal_end=dataset.temporal_end,
        spatial_bbox=_bbox(dataset.spatial),
        issued=dataset.created_at,
        modified=dataset.modified_at,
        access_rights="PUBLIC",
        version=dataset.version or None,
        distributions=tuple(_distribution(resource, uri) for resource in view.resources if _reachable(resource)),
    )


def _reachable(view: service.ResourceView) -> bool:
    """A resource that can be reached: an uploaded file with a current version, or a link."""
    return view.version is not None or bool(view.resource.url)


@dataclass(frozen=True)
class CatalogPage:
    catalog: DcatCatalog
    page: DcatPage


async def catalog_page(session: AsyncSession, settings: Settings, page: int, fmt: RdfFormat) -> CatalogPage:
    """One page of the public catalogue (last modified first) and where the others are."""
    total = len(await service.dataset_names(session, None, 0))
    last = max(1, -(-total // PAGE_SIZE))
    views = await service.recent_datasets(session, PAGE_SIZE, (page - 1) * PAGE_SIZE) if page <= last else []
    # The catalogue changed when its last modified dataset did: the first of the first page.
    first = views if page == 1 else await service.recent_datasets(session, 1, 0)
    latest = first[0] if first else None
    base = _base(settings)
    datasets = tuple(describe_dataset(view, settings) for view in views)
    catalog = DcatCatalog(
        uri=f"{base}/catalog",
        title={"fr": f"Données ouvertes de {settings.city_name}", "en": f"{settings.city_name} open data"},
        description={
            "fr": f"Les jeux de données publiés par la ville de {settings.city_name} sur sa plateforme citoyenne.",
            "en": f"The datasets the city of {settings.city_name} publishes on its citizen platform.",
        },
        publisher=city_publisher(settings),
        homepage=f"{base}/",
        licence="etalab-2.0",
        country="FRA",
        modified=latest.dataset.modified_at if latest else None,
        datasets=datasets,
        services=(ckan_service(settings, tuple(dataset.uri for dataset in datasets)),),
    )
    address = f"{base}/catalog.{_FORMAT_EXTENSIONS[fmt]}"
    paging = DcatPage(
        uri=f"{address}?page={page}",
        first=f"{address}?page=1",
        last=f"{address}?page={last}",
        next=f"{address}?page={page + 1}" if page < last else None,
        previous=f"{address}?page={page - 1}" if page > 1 else None,
        total_items=total,
        items_per_page=PAGE_SIZE,
    )
    return CatalogPage(catalog, paging)


# Routes


def _rdf(body: bytes, fmt: RdfFormat) -> Response:
    return Response(body, media_type=f"{FORMAT_MEDIA_TYPES[fmt]}; charset=utf-8", headers={"Vary": "Accept"})


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"status": status, "message": message}}, status_code=status)


async def _catalog(session: AsyncSession, settings: Settings, page_text: str, fmt: RdfFormat) -> Response:
    page = parse_id(page_text)
    if page is None:
        return _error(400, "page must be a whole number from 1")
    described = await catalog_page(session, settings, page, fmt)
    if page > 1 and not described.catalog.datasets:
        return _error(404, f"the catalogue has no page {page}")
    # Building and writing a page of 100 datasets takes rdflib about a second of pure Python: in a thread, so
    # that the event loop goes on serving the other requests meanwhile.
    body = await run_in_threadpool(lambda: serialize(catalog_graph(described.catalog, described.page), fmt))
    return _rdf(body, fmt)


async def _dataset(session: AsyncSession, settings: Settings, name: str, fmt: RdfFormat) -> Response:
    try:
        dataset = await service.find_dataset(session, name)
    except service.OpendataError:  # unknown, deleted or private: nothing to say about it
        return _error(404, "dataset not found")
    described = describe_dataset(await service.load_view(session, dataset), settings)
    catalog_uri = f"{_base(settings)}/catalog"
    body = await run_in_threadpool(lambda: serialize(dataset_graph(described, catalog_uri=catalog_uri), fmt))
    return _rdf(body, fmt)


# Read by the route, so that a bad page gets this API's JSON error rather than the pages' error page.
Page = Annotated[str, Query(description="The page of the catalogue, from 1")]

_ERROR = {"content": {"application/json": {"schema": {"type": "object", "properties": {"error": {"type": "object"}}}}}}
RDF_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "DCAT-AP 3.0.1", "content": {media_type: {} for media_type in FORMAT_MEDIA_TYPES.values()}},
    404: {"description": "No such page, dataset or format", **_ERROR},
}

router = APIRouter(tags=["open data"], default_response_class=Response, responses=RDF_RESPONSES)


@router.get(
    "/catalog.{extension}",
    summary="The DCAT-AP catalogue (ttl, jsonld or rdf), in pages",
    responses={400: {"description": "A page that is not a whole number from 1", **_ERROR}},
)
async def catalog_file(extension: str, session: DbSession, settings: AppSettings, page: Page = "1") -> Response:
    fmt = EXTENSIONS.get(extension)
    if fmt is None:
        return _error(404, "the catalogue is served as catalog.ttl, catalog.jsonld and catalog.rdf")
    return await _catalog(session, settings, page, fmt)


@router.get(
    "/catalog",
    summary="The DCAT-AP catalogue, in the RDF format the Accept header asks (Turtle by default)",
    responses={400: {"description": "A page that is not a whole number from 1", **_ERROR}},
)
async def catalog_negotiated(request: Request, session: DbSession, settings: AppSettings, page: Page = "1") -> Response:
    return await _catalog(session, settings, page, negotiate(request.headers.get("accept")) or "turtle")


@router.get(
    "/data/{name}.{extension}",
    summary="One public dataset as DCAT-AP (ttl, jsonld or rdf); also at /data/{name} with an RDF Accept header",
)
async def dataset_file(name: str, extension: str, session: DbSession, settings: AppSettings) -> Response:
    fmt = EXTENSIONS.get(extension)
    if fmt is None:
        return _error(404, "a dataset is served as .ttl, .jsonld and .rdf")
    return await _dataset(session, settings, name, fmt)


class RdfRequestRoute(APIRoute):
    """A route that matches only a request whose ``Accept`` header asks for RDF, so that the same address
    (a dataset's) answers RDF clients here and browsers on the catalogue's pages."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match == Match.NONE or negotiate(Headers(scope=scope).get("accept")) is None:
            return Match.NONE, {}
        return match, child_scope


negotiated = APIRouter(route_class=RdfRequestRoute)


# Left out of the OpenAPI document, which cannot say "only when Accept asks for RDF": the same answers are
# documented at /data/{name}.{extension}.
@negotiated.get("/data/{name}", include_in_schema=False)
async def dataset_negotiated(name: str, request: Request, session: DbSession, settings: AppSettings) -> Response:
    fmt = negotiate(request.headers.get("accept")) or "turtle"
    return await _dataset(session, settings, name, fmt)


router.include_router(negotiated)
