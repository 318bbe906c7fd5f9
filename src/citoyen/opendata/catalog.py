"""The catalogue's rules: publishers, themes, datasets and their tags, checked as CKAN checks them (its field
names and messages), and the loading of whole datasets (publisher, tags, themes, resources) in a few queries."""

from __future__ import annotations

import json
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import delete, func, literal, literal_column, null, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import one_of, utcnow
from citoyen.opendata import vocabularies
from citoyen.opendata.errors import OpendataError, invalid, not_found
from citoyen.opendata.models import (
    Dataset,
    DatasetGroup,
    DatasetState,
    DatasetTag,
    Group,
    Organization,
    Resource,
    ResourceVersion,
    Tag,
)
from citoyen.people import service as people
from citoyen.textsearch import indexed_text

NAME = re.compile(r"[a-z0-9_\-]+")
TAG = re.compile(r"[\w \-.]+")
NAME_MESSAGE = "Must be purely lowercase alphanumeric (ascii) characters and these symbols: -_"
# The DCAT fields a dataset carries as CKAN "extras" (besides being columns).
EXTRA_KEYS = ("temporal_start", "temporal_end", "spatial", "frequency", "source")
# Extras CKAN shows that are worked out, not set: sent back (package_show, then package_update), they are ignored.
DERIVED_EXTRAS = ("theme", "refreshed_at", "change_note")


@dataclass
class ResourceView:
    resource: Resource
    dataset_name: str
    version: ResourceVersion | None  # the current one, for an uploaded file


@dataclass
class DatasetView:
    """A dataset with everything CKAN shows of it."""

    dataset: Dataset
    organization: Organization | None
    tags: list[Tag] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    resources: list[ResourceView] = field(default_factory=list)


def new_uuid() -> str:
    return str(uuid.uuid4())


# Publishers and themes


async def create_organization(
    session: AsyncSession,
    name: str,
    title: str,
    title_en: str = "",
    description: str = "",
    description_en: str = "",
    department_code: str | None = None,
) -> Organization:
    """A new publisher; `department_code` links it to a people department."""
    check_name("name", name)
    if not title.strip():
        raise invalid("title", "Missing value")
    if await session.scalar(select(Organization.id).where(Organization.name == name)) is not None:
        raise invalid("name", "Group name already exists in database")
    department_code = (department_code or "").strip().lower() or None  # as people keeps department codes
    if department_code and department_code not in {item.code for item in await people.list_departments(session)}:
        raise invalid("department_code", "No department has this code")
    organization = Organization(
        uuid=new_uuid(),
        name=name,
        title=title.strip(),
        title_en=title_en.strip(),
        description=description,
        description_en=description_en,
        department_code=department_code or None,
    )
    session.add(organization)
    await session.flush()
    return organization


async def find_organization(session: AsyncSession, key: str) -> Organization | None:
    """A publisher by its id or name."""
    query = select(Organization).where(or_(Organization.uuid == key, Organization.name == key))
    return (await session.execute(query)).scalar_one_or_none()


async def list_organizations(session: AsyncSession) -> list[Organization]:
    return list((await session.execute(select(Organization).order_by(Organization.name))).scalars())


async def find_group(session: AsyncSession, key: str) -> Group | None:
    query = select(Group).where(or_(Group.uuid == key, Group.name == key))
    return (await session.execute(query)).scalar_one_or_none()


async def list_groups(session: AsyncSession) -> list[Group]:
    return list((await session.execute(select(Group).order_by(Group.name))).scalars())


async def dataset_counts(session: AsyncSession, column: Any, include_private: bool = False) -> dict[int, int]:
    """Active (and public, unless asked) datasets per organization id or group id (`column` of
    Dataset.organization_id or DatasetGroup.group_id)."""
    query = select(column, func.count()).where(*visible(include_private)).group_by(column)
    if column is DatasetGroup.group_id:
        query = query.select_from(DatasetGroup).join(Dataset, Dataset.id == DatasetGroup.dataset_id)
    return {key: count for key, count in (await session.execute(query)) if key is not None}


async def tag_names(session: AsyncSession, query: str = "") -> list[str]:
    """Tags of visible datasets, by name, optionally those containing `query`."""
    statement = (
        select(Tag.name)
        .join(DatasetTag, DatasetTag.tag_id == Tag.id)
        .join(Dataset, Dataset.id == DatasetTag.dataset_id)
        .where(*visible(False))
        .distinct()
        .order_by(Tag.name)
    )
    if query:
        statement = statement.where(Tag.name.contains(query.lower(), autoescape=True))
    return list((await session.execute(statement)).scalars())


def visible(include_private: bool) -> list[Any]:
    """The conditions of datasets a reader sees: active, and public unless they may see drafts."""
    conditions: list[Any] = [Dataset.state == DatasetState.ACTIVE]
    if not include_private:
        conditions.append(Dataset.private.is_(False))
    return conditions


# Datasets


# Names the catalogue's own pages take under /data/ (the ledger, the new dataset form): a dataset so named would be
# unreachable as a page.
RESERVED_NAMES = frozenset({"privacy", "new"})


def check_name(key: str, name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise invalid(key, "Missing value")
    if len(name) < 2:
        raise invalid(key, "Must be at least 2 characters long")
    if len(name) > 100:
        raise invalid(key, "Name must be a maximum of 100 characters long")
    if not NAME.fullmatch(name):
        raise invalid(key, NAME_MESSAGE)
    if name in RESERVED_NAMES:
        raise invalid(key, "That URL is already in use.")
    return name


def text_field(
    data: dict[str, Any], key: str, limit: int | None = None, errors: dict[str, list[str]] | None = None
) -> str:
    """A text field of a request (numbers taken as text); a problem goes to `errors`, or is raised without it."""
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        value = str(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    if value is None or "\x00" in value:
        _add(errors, key, "Must be a string")
        return ""
    if limit is not None and len(value) > limit:
        _add(errors, key, f"Must be at most {limit} characters long")
    return value


def _add(errors: dict[str, list[str]] | None, key: str, message: str) -> None:
    if errors is None:
        raise invalid(key, message)
    errors.setdefault(key, []).append(message)


def as_bool(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no", "on", "off"):
        return value.lower() in ("true", "1", "yes", "on")
    if value is None:
        return False
    raise invalid(key, "Must be true or false")


def _date(value: Any, key: str, errors: dict[str, list[str]]) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        errors.setdefault(key, []).append("Date format incorrect: use YYYY-MM-DD")
        return None


def _spatial(value: Any, errors: dict[str, list[str]]) -> str:
    if value in (None, ""):
        return ""
    try:
        geometry = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        geometry = None
    if not isinstance(geometry, dict) or not isinstance(geometry.get("type"), str):
        errors.setdefault("spatial", []).append("Must be a GeoJSON geometry")
        return ""
    return json.dumps(geometry, separators=(",", ":"))


def _list_of_names(data: dict[str, Any], key: str, errors: dict[str, list[str]]) -> list[str]:
    """Tags or groups as CKAN sends them: [{"name": ...}] (or {"id": ...} for groups)."""
    value = data.get(key)
    if value in (None, ""):
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            errors.setdefault(key, []).append("Must be a list of dictionaries with a name")
            return []
    if not isinstance(value, list):
        errors.setdefault(key, []).append("Must be a list of dictionaries with a name")
        return []
    names = []
    for item in value:
        name = item.get("name") or item.get("id") if isinstance(item, dict) else item if isinstance(item, str) else None
        if not isinstance(name, str) or not name:
            errors.setdefault(key, []).append("Must be a list of dictionaries with a name")
            return []
        names.append(name)
    return list(dict.fromkeys(names))


def _tags(data: dict[str, Any], errors: dict[str, list[str]]) -> list[str]:
    names = _list_of_names(data, "tags", errors)
    tag_string = data.get("tag_string")
    if isinstance(tag_string, str) and tag_string.strip():
        names += [part.strip() for part in tag_string.split(",") if part.strip()]
    for name in names:
        if len(name) < 2 or len(name) > 100:
            errors.setdefault("tags", []).append(f'Tag "{name[:100]}" length is less than 2 or more than 100')
        elif not TAG.fullmatch(name):
            errors.setdefault("tags", []).append(f'Tag "{name}" must be alphanumeric characters or symbols: -_.')
    return list(dict.fromkeys(name.strip() for name in names))


@dataclass
class DatasetInput:
    """A dataset's fields, checked."""

    name: str
    title: str
    title_en: str
    notes: str
    notes_en: str
    license_id: str
    organization: Organization | None
    private: bool
    version: str
    temporal_start: date | None
    temporal_end: date | None
    spatial: str
    frequency: str
    source: str | None
    tags: list[str]
    groups: list[Group]


async def check_dataset(session: AsyncSession, data: dict[str, Any], current: Dataset | None = None) -> DatasetInput:
    """The fields of a package_create or package_update, as CKAN checks them; every problem at once."""
    errors: dict[str, list[str]] = {}
    extras = _extras(data, errors)
    values = {**extras, **{key: data[key] for key in EXTRA_KEYS if key in data}}
    name = data.get("name", current.name if current else None)
    try:
        check_name("name", name)
    except OpendataError as error:
        errors.update(error.fields)
        name = ""
    taken = select(Dataset.id).where(Dataset.name == name)
    if name and (current is None or name != current.name) and await session.scalar(taken) is not None:
        errors.setdefault("name", []).append("That URL is already in use.")
    title = text_field(data, "title", 300, errors).strip() or str(name)
    license_id = text_field(data, "license_id", 40, errors)
    if license_id and license_id not in vocabularies.LICENCES:
        errors.setdefault("license_id", []).append(f"Unknown licence: choose one of {', '.join(vocabularies.LICENCES)}")
    organization = None
    owner = data.get("owner_org")
    if owner in (None, ""):
        errors.setdefault("owner_org", []).append("A organization must be supplied")
    elif not isinstance(owner, str) or (organization := await find_organization(session, owner)) is None:
        errors.setdefault("owner_org", []).append("Organization does not exist")
    frequency = str(values.get("frequency") or "").upper()
    if frequency and frequency not in vocabularies.FREQUENCIES:
        errors.setdefault("frequency", []).append(
            f"Unknown frequency: choose one of {', '.join(vocabularies.FREQUENCIES)}"
        )
    temporal_start = _date(values.get("temporal_start"), "temporal_start", errors)
    temporal_end = _date(values.get("temporal_end"), "temporal_end", errors)
    if temporal_start and temporal_end and temporal_end < temporal_start:
        errors.setdefault("temporal_end", []).append("Must not be before temporal_start")
    spatial = _spatial(values.get("spatial"), errors)
    source = str(values["source"]).strip() or None if values.get("source") not in (None, "") else None
    if source and len(source) > 60:
        errors.setdefault("source", []).append("Must be at most 60 characters long")
    tags = _tags(data, errors)
    groups: list[Group] = []
    for group_name in _list_of_names(data, "groups", errors):
        group = await find_group(session, group_name)
        if group is None:
            errors.setdefault("groups", []).append(f"Group {group_name} does not exist")
        else:
            groups.append(group)
    try:
        private = as_bool(data.get("private", False), "private")
    except OpendataError as error:
        errors.update(error.fields)
        private = False
    checked = DatasetInput(
        name=str(name),
        title=title,
        title_en=text_field(data, "title_en", 300, errors).strip(),
        notes=text_field(data, "notes", 100_000, errors),
        notes_en=text_field(data, "notes_en", 100_000, errors),
        license_id=license_id,
        organization=organization,
        private=private,
        version=text_field(data, "version", 100, errors),
        temporal_start=temporal_start,
        temporal_end=temporal_end,
        spatial=spatial,
        frequency=frequency,
        source=source,
        tags=tags,
        groups=groups,
    )
    if errors:
        raise OpendataError("Validation Error", "invalid", errors)
    return checked


def _extras(data: dict[str, Any], errors: dict[str, list[str]]) -> dict[str, Any]:
    extras = data.get("extras")
    if extras in (None, ""):
        return {}
    if isinstance(extras, str):
        try:
            extras = json.loads(extras)
        except ValueError:
            extras = None
    if not isinstance(extras, list) or not all(isinstance(item, dict) and "key" in item for item in extras):
        errors.setdefault("extras", []).append('Must be a list of {"key": ..., "value": ...}')
        return {}
    values = {}
    for item in extras:
        key = item["key"]
        if key in DERIVED_EXTRAS:
            continue
        if key not in EXTRA_KEYS:
            errors.setdefault("extras", []).append(f"Unknown extra {key!r}: known are {', '.join(EXTRA_KEYS)}")
        else:
            values[key] = item.get("value")
    return values


async def save_dataset(session: AsyncSession, checked: DatasetInput, dataset: Dataset | None = None) -> Dataset:
    """Create a dataset, or replace an existing one's fields, tags and themes."""
    now = utcnow()
    if dataset is None:
        dataset = Dataset(uuid=new_uuid(), created_at=now)
        session.add(dataset)
    dataset.name = checked.name
    dataset.title = checked.title
    dataset.title_en = checked.title_en
    dataset.notes = checked.notes
    dataset.notes_en = checked.notes_en
    dataset.license_id = checked.license_id
    dataset.organization_id = checked.organization.id if checked.organization else None
    dataset.private = checked.private
    dataset.state = DatasetState.ACTIVE
    dataset.version = checked.version
    dataset.temporal_start = checked.temporal_start
    dataset.temporal_end = checked.temporal_end
    dataset.spatial = checked.spatial
    dataset.frequency = checked.frequency
    dataset.source = checked.source
    dataset.modified_at = now
    dataset.search_title = indexed_text([checked.title, checked.title_en, *checked.tags])
    dataset.search_body = indexed_text([checked.notes, checked.notes_en])
    await session.flush()
    await session.execute(delete(DatasetTag).where(DatasetTag.dataset_id == dataset.id))
    await session.execute(delete(DatasetGroup).where(DatasetGroup.dataset_id == dataset.id))
    for tag_id in await _tag_ids(session, checked.tags):
        session.add(DatasetTag(dataset_id=dataset.id, tag_id=tag_id))
    for group in checked.groups:
        session.add(DatasetGroup(dataset_id=dataset.id, group_id=group.id))
    await session.flush()
    return dataset


async def _tag_ids(session: AsyncSession, names: list[str]) -> list[int]:
    if not names:
        return []
    known = dict((await session.execute(select(Tag.name, Tag.id).where(Tag.name.in_(names)))).all())
    for name in names:
        if name not in known:
            tag = Tag(name=name)
            session.add(tag)
            await session.flush()
            known[name] = tag.id
    return [known[name] for name in names]


async def find_dataset(session: AsyncSession, key: str, *, include_private: bool = False) -> Dataset:
    """An active dataset by id or name; a private one only for who may see drafts (else forbidden)."""
    if not isinstance(key, str) or not key:
        raise invalid("id", "Missing value")
    query = select(Dataset).where(or_(Dataset.uuid == key, Dataset.name == key), Dataset.state == DatasetState.ACTIVE)
    dataset = (await session.execute(query)).scalar_one_or_none()
    if dataset is None:
        raise not_found("Dataset")
    if dataset.private and not include_private:
        raise OpendataError(f"User not authorized to read package {dataset.name}", "forbidden")
    return dataset


async def delete_dataset(session: AsyncSession, key: str) -> None:
    """CKAN's delete: the dataset leaves the catalogue (state deleted); its name stays taken."""
    dataset = await find_dataset(session, key, include_private=True)
    dataset.state = DatasetState.DELETED
    dataset.modified_at = utcnow()
    await session.flush()


async def touch(session: AsyncSession, dataset_id: int) -> None:
    """A dataset's resources changed: its modification time moves."""
    dataset = await session.get(Dataset, dataset_id)
    if dataset is not None:
        dataset.modified_at = utcnow()
        await session.flush()


# What the page of a dataset shows of its publisher, themes and tags, in the order of `_PUBLISHER_COLUMNS`: the
# three are read in one statement (a tag fills only its id and name).
_PUBLISHER_COLUMNS = ("id", "uuid", "name", "title", "title_en", "description", "description_en", "created_at")


async def load_views(session: AsyncSession, datasets: list[Dataset]) -> list[DatasetView]:
    """Whole datasets (publisher, tags, themes, resources with their current versions) in two queries: the
    publishers, themes and tags in one, the resources with their versions in the other."""
    if not datasets:
        return []
    ids = [dataset.id for dataset in datasets]
    blank = [null()] * (len(_PUBLISHER_COLUMNS) - 2)
    described: Any = union_all(
        select(
            literal("organization"),
            Dataset.id,
            *(getattr(Organization, name).label(name) for name in _PUBLISHER_COLUMNS),
            Organization.department_code,
        )
        .join(Organization, Organization.id == Dataset.organization_id)
        .where(one_of(session, Dataset.id, ids)),
        select(
            literal("groups"),
            DatasetGroup.dataset_id,
            *(getattr(Group, name) for name in _PUBLISHER_COLUMNS),
            Group.theme_uri,
        )
        .join(Group, Group.id == DatasetGroup.group_id)
        .where(one_of(session, DatasetGroup.dataset_id, ids)),
        select(literal("tags"), DatasetTag.dataset_id, Tag.id, null(), Tag.name, *blank)
        .join(Tag, Tag.id == DatasetTag.tag_id)
        .where(one_of(session, DatasetTag.dataset_id, ids)),
    ).order_by(literal_column("name"))  # the database's collation, as the pages list tags and themes
    organizations: dict[int, Organization] = {}
    made: dict[tuple[str, int], Any] = {}  # one object per publisher, theme or tag, shared by its datasets
    tags: dict[int, list[Tag]] = defaultdict(list)
    groups: dict[int, list[Group]] = defaultdict(list)
    for kind, dataset_id, identifier, *values in (await session.execute(described)).all():
        columns = dict(zip(_PUBLISHER_COLUMNS[1:], values, strict=False))
        if kind == "tags":
            tags[dataset_id].append(made.setdefault((kind, identifier), Tag(id=identifier, name=columns["name"])))
        elif kind == "groups":
            group = made.get((kind, identifier)) or Group(id=identifier, theme_uri=values[-1], **columns)
            groups[dataset_id].append(made.setdefault((kind, identifier), group))
        else:
            organization = made.get((kind, identifier)) or Organization(
                id=identifier, department_code=values[-1], **columns
            )
            organizations[dataset_id] = made.setdefault((kind, identifier), organization)
    resources: dict[int, list[tuple[Resource, ResourceVersion | None]]] = defaultdict(list)
    resource_rows = await session.execute(
        select(Resource, ResourceVersion)
        .outerjoin(
            ResourceVersion,
            (ResourceVersion.resource_id == Resource.id) & (ResourceVersion.number == Resource.current_version),
        )
        .where(one_of(session, Resource.dataset_id, ids))
        .order_by(Resource.dataset_id, Resource.position, Resource.id)
    )
    for resource, version in resource_rows:
        resources[resource.dataset_id].append((resource, version))
    return [
        DatasetView(
            dataset=dataset,
            organization=organizations.get(dataset.id),
            tags=tags[dataset.id],
            groups=groups[dataset.id],
            resources=[ResourceView(resource, dataset.name, version) for resource, version in resources[dataset.id]],
        )
        for dataset in datasets
    ]


async def load_view(session: AsyncSession, dataset: Dataset) -> DatasetView:
    return (await load_views(session, [dataset]))[0]


async def dataset_names(session: AsyncSession, limit: int | None, offset: int) -> list[str]:
    """Names of the active public datasets, in name order (CKAN's package_list)."""
    query = select(Dataset.name).where(*visible(False)).order_by(Dataset.name).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list((await session.execute(query)).scalars())


async def recent_datasets(session: AsyncSession, limit: int, offset: int) -> list[DatasetView]:
    """Active public datasets, last modified first, whole (CKAN's current_package_list_with_resources)."""
    query = (
        select(Dataset)
        .where(*visible(False))
        .order_by(Dataset.modified_at.desc(), Dataset.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return await load_views(session, list((await session.execute(query)).scalars()))


async def datasets_of(
    session: AsyncSession, *, organization_id: int | None = None, group_id: int | None = None, limit: int = 1000
) -> list[DatasetView]:
    """The public datasets of a publisher or a theme (organization_show and group_show with include_datasets)."""
    query = select(Dataset).where(*visible(False)).order_by(Dataset.name).limit(limit)
    if organization_id is not None:
        query = query.where(Dataset.organization_id == organization_id)
    if group_id is not None:
        query = query.join(DatasetGroup, DatasetGroup.dataset_id == Dataset.id).where(DatasetGroup.group_id == group_id)
    return await load_views(session, list((await session.execute(query)).scalars()))
