"""The catalogue as CKAN 2.10 shows it: package, resource, organization, group, tag and licence dictionaries
with CKAN's field names, so that ckanapi and harvesters read them unchanged."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import quote

from citoyen.opendata import vocabularies
from citoyen.opendata.catalog import DatasetView, ResourceView
from citoyen.opendata.datastore import TABULAR
from citoyen.opendata.models import Group, Organization, Tag

CKAN_VERSION = "2.10.4"
THEME_EXTRA = "theme"


def timestamp(value: datetime | None) -> str | None:
    """CKAN's timestamps: ISO 8601 in UTC without an offset."""
    return value.replace(tzinfo=None).isoformat() if value is not None else None


def download_url(base_url: str, view: ResourceView) -> str:
    version = view.version
    filename = version.filename if version is not None else "file"
    return (
        f"{base_url.rstrip('/')}/data/{quote(view.dataset_name)}/resources/{view.resource.uuid}"
        f"/download/{quote(filename)}"
    )


def resource_dict(view: ResourceView, dataset_uuid: str, base_url: str) -> dict[str, Any]:
    resource, version = view.resource, view.version
    uploaded = resource.current_version is not None
    return {
        "id": resource.uuid,
        "package_id": dataset_uuid,
        "name": resource.name,
        "name_en": resource.name_en,
        "description": resource.description,
        "description_en": resource.description_en,
        "format": vocabularies.FILE_TYPES[resource.format].label
        if resource.format in vocabularies.FILE_TYPES
        else resource.format,
        "url": download_url(base_url, view) if uploaded else resource.url,
        "url_type": "upload" if uploaded else None,
        "mimetype": resource.mimetype or None,
        "mimetype_inner": None,
        "size": version.size if version is not None else None,
        "hash": version.sha256 if version is not None else "",
        "created": timestamp(resource.created_at),
        "last_modified": timestamp(version.created_at if version is not None else resource.modified_at),
        "metadata_modified": timestamp(resource.modified_at),
        "position": resource.position,
        "state": "active",
        "resource_type": None,
        "cache_url": None,
        "cache_last_updated": None,
        # Its rows are in the DataStore (loaded with the version, or on the first search of an older one).
        "datastore_active": resource.format in TABULAR and version is not None,
        "version": version.number if version is not None else None,
        "row_count": version.row_count if version is not None else None,
        "schema": version.table_schema if version is not None else None,
    }


def collection_dict(item: Organization | Group, package_count: int | None = None) -> dict[str, Any]:
    """A publisher (CKAN organization) or a theme (CKAN group): CKAN shows both alike, `is_organization` and
    `type` telling them apart; each adds its own link (a department's code, an EU data theme)."""
    organization = isinstance(item, Organization)
    result: dict[str, Any] = {
        "id": item.uuid,
        "name": item.name,
        "title": item.title,
        "title_en": item.title_en,
        "display_name": item.title,
        "description": item.description,
        "description_en": item.description_en,
        "image_url": "",
        "image_display_url": "",
        "created": timestamp(item.created_at),
        "is_organization": organization,
        "type": "organization" if organization else "group",
        "approval_status": "approved",
        "state": "active",
    }
    if isinstance(item, Organization):
        result["department_code"] = item.department_code
    else:
        result["theme_uri"] = item.theme_uri
    if package_count is not None:
        result["package_count"] = package_count
    return result


def tag_dict(tag: Tag) -> dict[str, Any]:
    return {"id": str(tag.id), "name": tag.name, "display_name": tag.name, "state": "active", "vocabulary_id": None}


def licence_fields(license_id: str) -> dict[str, Any]:
    licence = vocabularies.LICENCES.get(license_id)
    if licence is None:
        return {"license_title": license_id or None, "license_url": None, "isopen": False}
    return {"license_title": licence.title.en, "license_url": licence.uri, "isopen": True}


def licence_dict(license_id: str) -> dict[str, Any]:
    licence = vocabularies.LICENCES[license_id]
    return {
        "id": license_id,
        "title": licence.title.en,
        "title_fr": licence.title.fr,
        "url": licence.uri,
        "status": "active",
        "maintainer": "",
        "family": "",
        "domain_content": False,
        "domain_data": True,
        "domain_software": False,
        "is_generic": False,
        "is_okd_compliant": True,
        "is_osi_compliant": False,
        "od_conformance": "approved",
        "osd_conformance": "not reviewed",
    }


def package_dict(view: DatasetView, base_url: str) -> dict[str, Any]:
    dataset = view.dataset
    extras = [
        {"key": "temporal_start", "value": dataset.temporal_start.isoformat() if dataset.temporal_start else ""},
        {"key": "temporal_end", "value": dataset.temporal_end.isoformat() if dataset.temporal_end else ""},
        {"key": "spatial", "value": dataset.spatial},
        {"key": "frequency", "value": dataset.frequency},
        {"key": THEME_EXTRA, "value": json.dumps([group.theme_uri for group in view.groups if group.theme_uri])},
        {"key": "source", "value": dataset.source or ""},
        {"key": "refreshed_at", "value": timestamp(dataset.refreshed_at) or ""},
        {"key": "change_note", "value": dataset.change_note},
    ]
    return {
        "id": dataset.uuid,
        "name": dataset.name,
        "title": dataset.title,
        "title_en": dataset.title_en,
        "notes": dataset.notes,
        "notes_en": dataset.notes_en,
        "type": "dataset",
        "url": "",
        "version": dataset.version,
        "author": None,
        "author_email": None,
        "maintainer": None,
        "maintainer_email": None,
        "license_id": dataset.license_id,
        **licence_fields(dataset.license_id),
        "owner_org": view.organization.uuid if view.organization else None,
        "organization": collection_dict(view.organization) if view.organization else None,
        "private": dataset.private,
        "state": dataset.state.value,
        "metadata_created": timestamp(dataset.created_at),
        "metadata_modified": timestamp(dataset.modified_at),
        "temporal_start": dataset.temporal_start.isoformat() if dataset.temporal_start else None,
        "temporal_end": dataset.temporal_end.isoformat() if dataset.temporal_end else None,
        "spatial": dataset.spatial or None,
        "frequency": dataset.frequency or None,
        "source": dataset.source,
        "tags": [tag_dict(tag) for tag in view.tags],
        "num_tags": len(view.tags),
        "groups": [
            {
                "id": group.uuid,
                "name": group.name,
                "title": group.title,
                "display_name": group.title,
                "description": group.description,
                "image_display_url": "",
            }
            for group in view.groups
        ],
        "resources": [resource_dict(resource, dataset.uuid, base_url) for resource in view.resources],
        "num_resources": len(view.resources),
        "extras": extras,
        "relationships_as_object": [],
        "relationships_as_subject": [],
    }
