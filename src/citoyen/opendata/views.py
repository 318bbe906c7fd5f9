"""The open-data pages' typed views, each built by one call: the catalogue (search, facets, sort, pages), a dataset
with its resources' versions and previews, and the public privacy ledger. Built from the service's functions
(the same search as CKAN's package_search), so the pages and the APIs show the same catalogue."""

from __future__ import annotations

import asyncio
import html
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.errors import Kind, Refusal
from citoyen.i18n import N_, localized
from citoyen.opendata import service
from citoyen.opendata import vocabularies as voc
from citoyen.opendata.models import PrivacyMechanism, ResourceVersion
from citoyen.opendata.preview import Preview, preview

PAGE_SIZE = 20
# The catalogue's facets in the order the page shows them: (CKAN field, title).
FACETS: tuple[tuple[str, str], ...] = (
    ("groups", N_("Themes")),
    ("organization", N_("Publishers")),
    ("res_format", N_("Formats")),
    ("license_id", N_("Licences")),
    ("tags", N_("Keywords")),
)
FACET_FIELDS = tuple(name for name, _title in FACETS)
# The sorts a reader chooses: key in the address -> (CKAN sort, label).
SORTS: dict[str, tuple[str, str]] = {
    "relevance": ("score desc, metadata_modified desc", N_("Relevance")),
    "modified": ("metadata_modified desc", N_("Last modified")),
    "name": ("title_string asc", N_("Name")),
}
MECHANISM_LABELS = {
    PrivacyMechanism.LAPLACE: N_("Differential privacy (Laplace noise)"),
    PrivacyMechanism.DISCRETE_GAUSSIAN: N_("Differential privacy (discrete Gaussian noise)"),
    PrivacyMechanism.MIN_CELL_SIZE: N_("Minimum cell size"),
}
# A Table Schema type as readers say it.
COLUMN_TYPES = {
    "string": N_("text"),
    "integer": N_("whole number"),
    "number": N_("number"),
    "boolean": N_("yes or no"),
    "datetime": N_("date and time"),
    "date": N_("date"),
    "time": N_("time of day"),
    "year": N_("year"),
    "yearmonth": N_("month"),
    "duration": N_("duration"),
    "geopoint": N_("point"),
    "geojson": N_("geometry"),
    "object": N_("object"),
    "array": N_("list"),
    "any": N_("any"),
}
SIZE_UNITS = (N_("%(size)s bytes"), N_("%(size)s kB"), N_("%(size)s MB"), N_("%(size)s GB"))
# What a description's Markdown may become: text formatting, lists, tables, links and headings; no images (they
# would load from elsewhere), no HTML of its own.
MARKDOWN_TAGS = {
    "p", "br", "hr", "em", "strong", "s", "code", "pre", "blockquote", "ul", "ol", "li", "a",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip


def render_markdown(text: str) -> Markup:
    """A description written in Markdown as HTML safe to show: raw HTML in it is shown as text, and the result
    keeps only formatting tags and http(s)/mailto links (Ammonia, through nh3)."""
    html = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"]).render(text or "")
    cleaned = nh3.clean(
        html,
        tags=MARKDOWN_TAGS,
        attributes={"a": {"href", "title"}, "th": {"align"}, "td": {"align"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )
    return Markup(cleaned)  # noqa: S704 - sanitised just above


def file_size(size: int) -> tuple[float, str]:
    """A size in bytes as a number and the msgid of its unit (decimal: 1 kB is 1000 bytes)."""
    value = float(size)
    for unit in SIZE_UNITS[:-1]:
        if value < 1000:
            return value, unit
        value /= 1000
    return value, SIZE_UNITS[-1]


def plain_text(text: str) -> str:
    """A Markdown description as plain text on one line (a list's excerpt)."""
    rendered = nh3.clean(render_markdown(text), tags=set())
    # Runs of ordinary white space only: the no-break spaces of French typography stay where they are.
    return re.sub(r"[ \t\r\n\f\v]+", " ", html.unescape(rendered)).strip()


# The catalogue


@dataclass(frozen=True)
class FacetLink:
    value: str
    label: str
    count: int
    chosen: bool
    url: str  # the catalogue with this value added to the filters (or taken off, when chosen)


@dataclass(frozen=True)
class FacetBox:
    field: str
    title: str  # msgid
    items: tuple[FacetLink, ...]


@dataclass(frozen=True)
class ChosenFilter:
    field: str
    value: str
    label: str
    remove_url: str


@dataclass(frozen=True)
class CatalogueView:
    q: str
    sort: str
    page: int
    pages: int
    count: int
    datasets: tuple[service.DatasetView, ...]
    facets: tuple[FacetBox, ...]
    chosen: tuple[ChosenFilter, ...]
    page_url: str  # the address of a page of these results, without its number
    sort_url: str  # the address of these results, without the sort


def catalogue_url(q: str, filters: tuple[service.Filter, ...], sort: str = "relevance", page: int = 1) -> str:
    """The catalogue's address for a search, its filters, sort and page (defaults left out)."""
    pairs = [("q", q)] if q else []
    pairs += [(item.field, item.value) for item in filters]
    if sort != "relevance":
        pairs.append(("sort", sort))
    if page > 1:
        pairs.append(("page", str(page)))
    return "/data" + ("?" + urlencode(pairs) if pairs else "")


def _without(filters: tuple[service.Filter, ...], removed: service.Filter) -> tuple[service.Filter, ...]:
    return tuple(item for item in filters if item != removed)


async def _facet_labels(session: AsyncSession, locale: str) -> dict[str, dict[str, str]]:
    """Names of themes, publishers and licences in the reader's language, by their catalogue name."""
    groups = await service.list_groups(session)
    organizations = await service.list_organizations(session)
    return {
        "groups": {item.name: localized(locale, item.title, item.title_en) for item in groups},
        "organization": {item.name: localized(locale, item.title, item.title_en) for item in organizations},
        "license_id": {key: localized(locale, item.title.fr, item.title.en) for key, item in voc.LICENCES.items()},
    }


async def catalogue(
    session: AsyncSession,
    locale: str,
    q: str,
    filters: tuple[service.Filter, ...],
    sort: str,
    page: int,
    include_private: bool = False,
    cache: service.WholeCatalogueCache | None = None,
) -> CatalogueView:
    """One page of the catalogue's search: the datasets, their count, the facets with links that add or take off
        a filter, and the filters chosen. An unknown sort is refused; a page past the last is not found. `cache` keeps
    the whole catalogue's count and facets (the page without words or filters) while the catalogue is unchanged."""
    if sort not in SORTS:
        raise Refusal(N_("Sort by relevance, last modified or name."), Kind.INVALID, "sort")
    query = service.SearchQuery(
        q=q,
        fq=filters,
        rows=PAGE_SIZE,
        start=(page - 1) * PAGE_SIZE,
        sort=service.parse_sort(SORTS[sort][0]),
        facet_fields=FACET_FIELDS,
        facet_limit=20,
        include_private=include_private,
    )
    result = await service.search(session, query, cache)
    pages = max(1, -(-result.count // PAGE_SIZE))
    if page > pages:
        raise Refusal(N_("This page of the catalogue does not exist."), Kind.NOT_FOUND, "page")
    labels = await _facet_labels(session, locale)
    boxes = []
    for name, title in FACETS:
        items = []
        for item in result.facets.get(name, []):
            chosen = service.Filter(name, item.name)
            picked = chosen in filters
            others = _without(filters, chosen) if picked else (*filters, chosen)
            label = labels.get(name, {}).get(item.name, item.display_name)
            items.append(FacetLink(item.name, label, item.count, picked, catalogue_url(q, others, sort)))
        boxes.append(FacetBox(name, title, tuple(items)))
    chosen_filters = tuple(
        ChosenFilter(
            item.field,
            item.value,
            labels.get(item.field, {}).get(item.value, item.value),
            catalogue_url(q, _without(filters, item), sort),
        )
        for item in filters
    )
    page_url = catalogue_url(q, filters, sort)
    sort_url = catalogue_url(q, filters)
    return CatalogueView(
        q=q,
        sort=sort,
        page=page,
        pages=pages,
        count=result.count,
        datasets=tuple(result.datasets),
        facets=tuple(boxes),
        chosen=chosen_filters,
        page_url=page_url + ("&" if "?" in page_url else "?") + "page=",
        sort_url=sort_url,
    )


# A dataset


@dataclass(frozen=True)
class ResourceEntry:
    view: service.ResourceView
    versions: tuple[ResourceVersion, ...]  # every version, latest first
    preview: Preview
    download_url: str  # the current version's file; "" for a link

    def version_url(self, version: ResourceVersion) -> str:
        return f"{self.download_url.rsplit('/', 1)[0]}/{quote(version.filename)}?version={version.number}"


@dataclass(frozen=True)
class DatasetPage:
    view: service.DatasetView
    description: Markup
    licence: voc.Licence | None
    frequency: voc.Label | None
    extent: str  # the spatial coverage as GeoJSON ("" when none)
    resources: tuple[ResourceEntry, ...]


def download_url(view: service.ResourceView, draft: bool = False) -> str:
    """The address of a resource's current file: a draft's files are served to publishers only, by their own
    route, never cached by others."""
    version = view.version
    if version is None:
        return ""
    route = "draft" if draft else "download"
    return f"/data/{quote(view.dataset_name)}/resources/{view.resource.uuid}/{route}/{quote(version.filename)}"


async def dataset_page(
    session: AsyncSession, directory: Path, locale: str, name: str, include_private: bool = False
) -> DatasetPage:
    """A dataset with everything its page shows; a draft only for who may see drafts (else not found, as an
    unknown dataset: the public does not learn that it exists)."""
    try:
        dataset = await service.find_dataset(session, name, include_private=include_private)
    except service.OpendataError:
        raise Refusal(N_("Unknown dataset."), Kind.NOT_FOUND) from None
    view = await service.load_view(session, dataset)
    entries = []
    for resource in view.resources:
        versions = await service.versions(session, resource.resource) if resource.version else []
        shown = await asyncio.to_thread(preview, directory, resource.resource, resource.version)
        link = download_url(resource, draft=dataset.private)
        entries.append(ResourceEntry(resource, tuple(reversed(versions)), shown, link))
    return DatasetPage(
        view=view,
        description=render_markdown(localized(locale, dataset.notes, dataset.notes_en)),
        licence=voc.LICENCES.get(dataset.license_id),
        frequency=voc.FREQUENCIES.get(dataset.frequency),
        extent=dataset.spatial,
        resources=tuple(entries),
    )


# The privacy ledger


@dataclass(frozen=True)
class LedgerPage:
    lines: tuple[service.LedgerLine, ...]
    totals: tuple[service.LedgerTotal, ...]
    titles: dict[str, str]  # dataset name -> its title in the reader's language


async def ledger_page(session: AsyncSession, locale: str) -> LedgerPage:
    """Every release of the public datasets (latest first) and the ε spent per dataset and period."""
    lines = await service.ledger(session)
    totals = await service.ledger_totals(session)
    titles: dict[str, str] = {}
    for name in dict.fromkeys([line.dataset_name for line in lines] + [total.dataset_name for total in totals]):
        try:
            dataset = await service.find_dataset(session, name)
        except service.OpendataError:
            continue
        titles[name] = localized(locale, dataset.title, dataset.title_en)
    return LedgerPage(tuple(lines), tuple(totals), titles)
