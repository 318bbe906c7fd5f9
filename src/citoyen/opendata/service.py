"""The open-data domain's public front: routes, other domains and tests import from here. The rules live by
subject beside it: `catalog` (publishers, themes, datasets and their checks), `files` (resources, uploads and
versions), `search` (package_search), `textsearch` (French and English full text), `ledger` (the privacy ledger).

No personal data is stored by this domain: resources hold public data and no row records who changed what."""

from __future__ import annotations

from citoyen.opendata.catalog import (
    DatasetInput,
    DatasetView,
    ResourceView,
    check_dataset,
    create_organization,
    dataset_counts,
    dataset_names,
    datasets_of,
    delete_dataset,
    find_dataset,
    find_group,
    find_organization,
    list_groups,
    list_organizations,
    load_view,
    recent_datasets,
    save_dataset,
    tag_names,
)
from citoyen.opendata.errors import OpendataError
from citoyen.opendata.files import (
    UPLOAD_FORMATS,
    Upload,
    create_resource,
    delete_resource,
    downloadable,
    find_resource,
    resource_view,
    update_resource,
    versions,
)
from citoyen.opendata.ledger import LedgerLine, LedgerTotal, ledger, ledger_totals, record_release
from citoyen.opendata.search import (
    FACET_FIELDS,
    MAX_ROWS,
    FacetItem,
    Filter,
    SearchQuery,
    SearchResult,
    parse_facet_fields,
    parse_fq,
    parse_sort,
    search,
)

__all__ = [
    "FACET_FIELDS",
    "MAX_ROWS",
    "UPLOAD_FORMATS",
    "DatasetInput",
    "DatasetView",
    "FacetItem",
    "Filter",
    "LedgerLine",
    "LedgerTotal",
    "OpendataError",
    "ResourceView",
    "SearchQuery",
    "SearchResult",
    "Upload",
    "check_dataset",
    "create_organization",
    "create_resource",
    "dataset_counts",
    "dataset_names",
    "datasets_of",
    "delete_dataset",
    "delete_resource",
    "downloadable",
    "find_dataset",
    "find_group",
    "find_organization",
    "find_resource",
    "ledger",
    "ledger_totals",
    "list_groups",
    "list_organizations",
    "load_view",
    "parse_facet_fields",
    "parse_fq",
    "parse_sort",
    "recent_datasets",
    "record_release",
    "resource_view",
    "save_dataset",
    "search",
    "tag_names",
    "update_resource",
    "versions",
]
