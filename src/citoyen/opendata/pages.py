"""The open-data catalogue's pages, in French and English: the catalogue (search, facets, sort, pages), a dataset
(its description, coverage, resources with their versions, downloads and previews) and the public privacy ledger.

`/data/<name>` answers browsers here; RDF clients asking the same address get DCAT from `dcat_routes`, whose
router comes first and matches only their requests. Drafts are shown to publishers and administrators only."""

from __future__ import annotations

from typing import Annotated

from babel.numbers import format_decimal
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from citoyen.db import DbSession
from citoyen.opendata import editor_pages, service, views
from citoyen.opendata.search import catalogue_cache
from citoyen.people.service import Person, Role
from citoyen.web.forms import AppSettings
from citoyen.web.params import PageNumber, QueryText, QueryTexts
from citoyen.web.security import CurrentPerson
from citoyen.web.templating import gettext_for, locale_of, render

router = APIRouter(include_in_schema=False)
# The publishers' pages first: /data/new must not be taken for a dataset's name.
router.include_router(editor_pages.router)

FacetValues = Annotated[QueryTexts, Query()]


def sees_drafts(person: Person | None) -> bool:
    """Publishers and administrators see the catalogue's drafts (private datasets)."""
    return person is not None and person.role in (Role.PUBLISHER, Role.ADMIN)


def labels(request: Request) -> dict[str, object]:
    """The labels the open-data templates need (msgids, translated where shown) and the size of a file in the
    reader's language."""
    gettext = gettext_for(request)
    locale = locale_of(request)

    def size_label(size: int) -> str:
        value, unit = views.file_size(size)
        return gettext(unit, size=format_decimal(value, "#,##0.#", locale=locale))

    return {
        "opendata_sorts": {key: label for key, (_sort, label) in views.SORTS.items()},
        "opendata_mechanisms": {mechanism.value: label for mechanism, label in views.MECHANISM_LABELS.items()},
        "opendata_types": views.COLUMN_TYPES,
        "size_label": size_label,
        "plain_text": views.plain_text,
    }


@router.get("/data")
async def catalogue(
    request: Request,
    session: DbSession,
    person: CurrentPerson,
    q: QueryText = "",
    sort: QueryText = "relevance",
    page: PageNumber = 1,
    groups: FacetValues = None,
    organization: FacetValues = None,
    res_format: FacetValues = None,
    license_id: FacetValues = None,
    tags: FacetValues = None,
) -> Response:
    chosen = {
        "groups": groups,
        "organization": organization,
        "res_format": res_format,
        "license_id": license_id,
        "tags": tags,
    }
    filters = tuple(
        service.Filter(name, value)
        for name in views.FACET_FIELDS
        for value in dict.fromkeys(chosen[name] or [])
        if value.strip()
    )
    view = await views.catalogue(
        session,
        locale_of(request),
        q.strip(),
        filters,
        sort,
        page,
        include_private=sees_drafts(person),
        cache=catalogue_cache(request.app.state),
    )
    drafts = await service.drafts(session) if sees_drafts(person) else []
    return render(request, "opendata/catalogue.html", {"page": view, "drafts": drafts, **labels(request)})


@router.get("/data/privacy")
async def privacy_ledger(request: Request, session: DbSession) -> Response:
    view = await views.ledger_page(session, locale_of(request))
    return render(request, "opendata/privacy.html", {"page": view, **labels(request)})


@router.get("/data/{name}")
async def dataset(
    request: Request, name: str, session: DbSession, person: CurrentPerson, settings: AppSettings
) -> Response:
    view = await views.dataset_page(
        session, settings.opendata_path, locale_of(request), name, include_private=sees_drafts(person)
    )
    context = {"page": view, "can_publish": sees_drafts(person), **labels(request)}
    return render(request, "opendata/dataset.html", context)
