"""The platform publishes its own data into the catalogue: each platform feed (`opendata.feeds`) becomes a
catalogue dataset named by its slug, with one resource per file (each CSV with its Table Schema, GeoJSON layers,
and the dataset's `datapackage.json`), refreshed by `citoyen opendata publish` and by the running app's
housekeeping (`opendata.tasks`).

A refresh writes every feed into temporary files (rows streamed batch by batch, memory flat), hashes them, and
adds a new version of a resource only when its SHA-256 differs from the current one's; an unchanged dataset
keeps its files, versions and modification time, and says "no change". The `datapackage.json` names each file
by its download address, so `frictionless validate <the package's address>` checks the published files. The
dataset says when it was refreshed and what changed ("12 new rows in signalements.csv"). Counts about people
whose period the privacy ledger already holds are not released again; each release of the run is recorded in
the public ledger.

Everything runs in the caller's transaction; each feed in a savepoint of its own, so a failing feed is rolled
back and reported while the others publish. One publication at a time: on PostgreSQL an advisory lock held
until the transaction ends, on SQLite the database's write lock taken up front; a second publication waits and
then finds the first's versions, so it makes none.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
import logging
import re
import shutil
import tempfile
import time
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.db import utcnow
from citoyen.opendata import catalog, files, ledger
from citoyen.opendata.feed_kit import Feed, FeedResource, PublishContext
from citoyen.opendata.feeds import datapackage, platform_feeds, write_feed
from citoyen.opendata.models import Dataset, DatasetState, Organization, PrivacyRelease
from citoyen.people import service as people
from citoyen.territory import service as territory

log = logging.getLogger(__name__)

# PostgreSQL advisory lock key of the publication (any constant of ours; not housekeeping's).
PUBLICATION_LOCK_KEY = 0x43_49_54_4F_44_41_54_41  # "CITODATA"
CITY_ORGANIZATION = "ville"
SOURCE_PREFIX = "platform:"
DATAPACKAGE = "datapackage.json"
_CHUNK = 1024 * 1024


@dataclass
class DatasetOutcome:
    """What one feed's publication did."""

    name: str
    resources: int = 0
    versions: int = 0
    rows: int = 0
    seconds: float = 0.0
    created: bool = False
    change_note: str = ""
    change_note_en: str = ""
    releases: int = 0
    # Why it was not published: an error (its savepoint was rolled back), or a reason it was left alone.
    error: str | None = None
    skipped: str | None = None


@dataclass
class PublicationReport:
    datasets: list[DatasetOutcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[DatasetOutcome]:
        return [outcome for outcome in self.datasets if outcome.error is not None]

    @property
    def versions(self) -> int:
        return sum(outcome.versions for outcome in self.datasets)

    @property
    def releases(self) -> int:
        return sum(outcome.releases for outcome in self.datasets)


@dataclass(frozen=True)
class _File:
    """A file the run wrote, ready to compare with the catalogue's current version."""

    filename: str
    path: Path
    format: str  # the catalogue's code: CSV, GEOJSON, JSON
    title: str
    title_en: str
    description: str
    description_en: str
    rows: int | None
    schema: dict[str, Any] | None
    feed_resource: str | None  # the feed resource's name (None for the datapackage)


# --- the run ----------------------------------------------------------------------------------------------


async def lock_publication(session: AsyncSession) -> None:
    """Wait for any other publication to finish (its transaction to end), then hold the turn until ours ends."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PUBLICATION_LOCK_KEY})
    else:  # SQLite: a write takes the database's write lock (waiting busy_timeout for it) until commit.
        await session.execute(update(Dataset).where(Dataset.id == -1).values(id=Dataset.id))


async def last_refresh(session: AsyncSession) -> datetime | None:
    """When the platform's datasets were last refreshed (None: never)."""
    return await session.scalar(select(func.max(Dataset.refreshed_at)).where(Dataset.source.like(f"{SOURCE_PREFIX}%")))


async def publish_platform(session: AsyncSession, settings: Settings, now: datetime | None = None) -> PublicationReport:
    """Create or refresh the catalogue dataset of every platform feed (see the module's docstring). The caller
    commits; a feed that fails is rolled back to its savepoint and reported in `PublicationReport.failed`."""
    started = time.perf_counter()
    now = now or utcnow()
    await lock_publication(session)
    publishers = await _publishers(session, settings)
    released = await _released_periods(session)
    spatial = await _city_extent(session)
    ctx = PublishContext(session, now=now)
    report = PublicationReport()
    workspace = settings.opendata_path / "incoming"
    await asyncio.to_thread(workspace.mkdir, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="publish-", dir=workspace) as scratch:
        for feed in await platform_feeds(session, now):
            outcome = DatasetOutcome(feed.slug)
            if feed.period is not None and (feed.slug, feed.period) in released:
                outcome.skipped = f"period {feed.period} already released"
                report.datasets.append(outcome)
                continue
            feed_started = time.perf_counter()
            mark = len(ctx.ledger)
            directory = Path(scratch) / feed.slug
            try:
                async with session.begin_nested():
                    await _publish_feed(ctx, settings, feed, publishers, spatial, directory, outcome)
            except Exception as error:  # one feed's failure must not stop the others: reported, rolled back
                log.exception("publishing the dataset %s failed", feed.slug)
                del ctx.ledger[mark:]
                outcome = DatasetOutcome(feed.slug, error=f"{type(error).__name__}: {error}")
            finally:
                await asyncio.to_thread(shutil.rmtree, directory, True)
            outcome.seconds = time.perf_counter() - feed_started
            report.datasets.append(outcome)
    report.seconds = time.perf_counter() - started
    return report


async def _publish_feed(
    ctx: PublishContext,
    settings: Settings,
    feed: Feed,
    publishers: dict[str | None, str],
    spatial: str,
    directory: Path,
    outcome: DatasetOutcome,
) -> None:
    session = ctx.session
    existing = (await session.execute(select(Dataset).where(Dataset.name == feed.slug))).scalar_one_or_none()
    source = f"{SOURCE_PREFIX}{feed.slug}"
    if existing is not None and existing.source != source:
        raise ValueError(
            f"the catalogue's dataset {feed.slug!r} is not the platform's ({existing.source or 'by hand'})"
        )
    if existing is not None and existing.state is DatasetState.DELETED:
        outcome.skipped = "deleted from the catalogue by its publishers"
        return
    mark = len(ctx.ledger)
    written = await write_feed(ctx, feed, directory)
    table_files = [_feed_file(item.resource, item.path, item.rows) for item in written.resources]
    temporal = _period_dates(feed.period) if feed.period else await asyncio.to_thread(_temporal, written.resources)
    data = {
        "name": feed.slug,
        "title": feed.title,
        "title_en": feed.title_en,
        "notes": _demo_notice(settings, "fr") + feed.description,
        "notes_en": _demo_notice(settings, "en") + feed.description_en,
        "license_id": feed.licence,
        "owner_org": publishers.get(feed.publisher) or publishers[None],
        "frequency": feed.frequency,
        "temporal_start": temporal[0].isoformat() if temporal else None,
        "temporal_end": temporal[1].isoformat() if temporal else None,
        "spatial": spatial or None,
        "source": source,
        "tags": [{"name": tag} for tag in _tags(feed.keywords)],
        "groups": [{"name": theme.lower()} for theme in feed.themes],
    }
    checked = await catalog.check_dataset(session, data, existing)
    view = await catalog.load_view(session, existing) if existing is not None else None
    if view is None or _metadata_changed(view, checked):
        dataset = await catalog.save_dataset(session, checked, existing)
        metadata_changed = view is not None
    else:
        dataset, metadata_changed = view.dataset, False
    outcome.created = existing is None
    current = {item.version.filename: item for item in (view.resources if view else []) if item.version is not None}
    notes: list[tuple[str, str]] = []
    new_versions: set[str] = set()
    uuids: dict[str, str] = {}

    async def store(item: _File) -> None:
        """A new version of the file's resource (a new resource the first time) when its content changed."""
        key = item.feed_resource or DATAPACKAGE
        outcome.resources += 1
        outcome.rows += item.rows or 0
        digest = await asyncio.to_thread(_sha256, item.path)
        known = current.pop(item.filename, None)
        if known is not None and known.version is not None and known.version.sha256 == digest:
            uuids[key] = known.resource.uuid
            if _described_differently(known.resource, item):
                await files.update_resource(session, settings.opendata_path, _MAX, _fields(item, known), None)
            return
        previous = known.version.row_count if known is not None and known.version is not None else None
        with item.path.open("rb") as stream:
            upload = files.Upload(item.filename, stream)
            if known is None:
                fields = {**_fields(item, None), "package_id": dataset.uuid}
                made = await files.create_resource(session, settings.opendata_path, _MAX, fields, upload)
            else:
                made = await files.update_resource(session, settings.opendata_path, _MAX, _fields(item, known), upload)
        uuids[key] = made.resource.uuid
        new_versions.add(key)
        outcome.versions += 1
        if existing is not None:
            notes.append(_file_note(item, known is None, previous))

    for item in table_files:
        await store(item)
    # The package names each file by its download address (the current version), and is dated by the dataset's
    # creation: it changes only when the feed's shape or the site's address does.
    descriptor = datapackage(feed, feed.resources, dataset.created_at.replace(microsecond=0))
    base = settings.base_url.rstrip("/")
    for described in descriptor["resources"]:
        uuid = uuids[described["name"]]
        described["path"] = f"{base}/data/{quote(feed.slug)}/resources/{uuid}/download/{quote(described['path'])}"
    package = directory / DATAPACKAGE
    await asyncio.to_thread(package.write_text, _json(descriptor), encoding="utf-8")
    await store(
        _File(
            DATAPACKAGE,
            package,
            "JSON",
            "Description du paquet de données (Data Package)",
            "Data Package descriptor",
            "Les fichiers du jeu de données, leurs colonnes et leurs types (Frictionless Data Package), chacun "
            "par son adresse de téléchargement.",
            "The dataset's files, their columns and types (Frictionless Data Package), each by its download address.",
            None,
            None,
            None,
        )
    )
    for gone in current.values():  # files the feed no longer has (a Datastream no longer public...)
        await files.delete_resource(session, gone.resource.uuid)
        if gone.version is not None:
            notes.append((f"fichier {gone.version.filename} retiré", f"file {gone.version.filename} removed"))
    if metadata_changed:
        notes.append(("description mise à jour", "description updated"))
    for entry in ctx.ledger[mark:]:
        if feed.period is not None or entry.resource in new_versions:
            resource = uuids.get(entry.resource, entry.resource)
            await ledger.record_release(session, replace(entry, resource=resource))
            outcome.releases += 1
    del ctx.ledger[mark:]  # recorded (or not released: its file is unchanged)
    if existing is None:
        rows = sum(item.rows or 0 for item in table_files)
        note = (
            f"Première publication\u00a0: {_plural(len(table_files), 'fichier', 'fichiers')}, "
            f"{_plural(rows, 'ligne', 'lignes')}.",
            f"First publication: {_plural(len(table_files), 'file', 'files')}, {_plural(rows, 'row', 'rows')}.",
        )
    elif notes:
        note = (_sentence([part for part, _ in notes], "fr"), _sentence([part for _, part in notes], "en"))
    else:
        note = ("Aucun changement.", "No change.")
    dataset.change_note, dataset.change_note_en = note
    dataset.refreshed_at = ctx.now
    outcome.change_note, outcome.change_note_en = note
    await session.flush()


# --- publishers, periods, coverage --------------------------------------------------------------------------

# The platform's own files are checked against their own schema; the upload limit is for people's uploads.
_MAX = 1 << 62


async def _publishers(session: AsyncSession, settings: Settings) -> dict[str | None, str]:
    """The organization name publishing for each department code (made from people's departments when
    missing), and for None the city as a whole."""
    organizations = await catalog.list_organizations(session)
    by_code = {o.department_code: o.name for o in organizations if o.department_code}
    taken = {o.name for o in organizations}
    names: dict[str | None, str] = {}
    for department in await people.list_departments(session):
        if department.code in by_code:
            names[department.code] = by_code[department.code]
            continue
        name = _free_name(_slug(department.code) or "service", taken)
        made = await catalog.create_organization(
            session,
            name,
            department.name,
            department.name,
            f"Service municipal « {department.name} ».".replace("« ", "«\u00a0").replace(" »", "\u00a0»"),
            f"The city's department “{department.name}”.",
            department_code=department.code,
        )
        names[department.code] = made.name
        taken.add(made.name)
    city = next((o for o in organizations if o.department_code is None and _is_city(o.name)), None)
    if city is None:
        city = await _city_organization(session, settings, taken)
    names[None] = city.name
    return names


async def _city_organization(session: AsyncSession, settings: Settings, taken: set[str]) -> Organization:
    return await catalog.create_organization(
        session,
        _free_name(CITY_ORGANIZATION, taken),
        f"Ville de {settings.city_name}",
        f"City of {settings.city_name}",
        "La ville dans son ensemble, pour les données qui ne relèvent pas d’un seul service.",
        "The city as a whole, for data that no single department owns.",
    )


def _is_city(name: str) -> bool:
    return re.fullmatch(rf"{CITY_ORGANIZATION}(-\d+)?", name) is not None


def _slug(value: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9_-]+", "-", ascii_text).strip("-")[:90]


def _free_name(name: str, taken: set[str]) -> str:
    candidate, number = name if len(name) >= 2 else f"{name}-1", 2
    while candidate in taken:
        candidate, number = f"{name}-{number}", number + 1
    return candidate


async def _released_periods(session: AsyncSession) -> set[tuple[str, str]]:
    """(dataset name, period) of every release the ledger holds."""
    query = (
        select(Dataset.name, PrivacyRelease.period)
        .join(Dataset, Dataset.id == PrivacyRelease.dataset_id)
        .where(PrivacyRelease.period != "")
        .distinct()
    )
    return {(name, period) for name, period in (await session.execute(query)).all()}


async def _city_extent(session: AsyncSession) -> str:
    """The city's bounding box as a GeoJSON Polygon ("" without neighbourhoods)."""
    neighbourhoods = await territory.list_neighbourhoods(session)
    if not neighbourhoods:
        return ""
    west = min(n.min_lon for n in neighbourhoods)
    south = min(n.min_lat for n in neighbourhoods)
    east = max(n.max_lon for n in neighbourhoods)
    north = max(n.max_lat for n in neighbourhoods)
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return _json({"type": "Polygon", "coordinates": [ring]})


def _period_dates(period: str) -> tuple[date, date] | None:
    """The days a release's period covers: "2026-W49" (an ISO week) or "2026-11" (a month)."""
    if week := re.fullmatch(r"(\d{4})-W(\d{2})", period):
        start = date.fromisocalendar(int(week[1]), int(week[2]), 1)
        return start, start + timedelta(days=6)
    if month := re.fullmatch(r"(\d{4})-(\d{2})", period):
        start = date(int(month[1]), int(month[2]), 1)
        following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
        return start, following - timedelta(days=1)
    return None


def _temporal(written: list[Any]) -> tuple[date, date] | None:
    """The first and last day of the dates in the feed's CSV tables (read back from the files, row by row)."""
    low: str | None = None
    high: str | None = None
    for item in written:
        resource: FeedResource = item.resource
        dated = [column.name for column in resource.columns if column.type in ("date", "datetime")]
        if resource.format != "csv" or not dated:
            continue
        with item.path.open(encoding="utf-8", newline="") as stream:
            reader = csv.reader(stream)
            header = next(reader, [])
            indexes = [header.index(name) for name in dated if name in header]
            for row in reader:
                for index in indexes:
                    day = row[index][:10]
                    if day:
                        low = day if low is None or day < low else low
                        high = day if high is None or day > high else high
    if low is None or high is None:
        return None
    try:
        return date.fromisoformat(low), date.fromisoformat(high)
    except ValueError:
        return None


# The demo city's data is simulated: its datasets say so first, as its pages do.
DEMO_NOTICE = {
    # Kept free of subject words: it is indexed with the description, and must not make every demo dataset match
    # a search for "signalements" or "propositions".
    "fr": "**Données simulées**\u00a0: ce jeu de données vient de la ville de démonstration de Citoyen.\n\n",
    "en": "**Simulated data**: this dataset comes from Citoyen's demonstration city.\n\n",
}


def _demo_notice(settings: Settings, language: str) -> str:
    return DEMO_NOTICE[language] if settings.demo_mode else ""


# --- files and notes ------------------------------------------------------------------------------------


def _feed_file(resource: FeedResource, path: Path, rows: int) -> _File:
    return _File(
        resource.filename,
        path,
        "CSV" if resource.format == "csv" else "GEOJSON",
        resource.title,
        resource.title_en,
        resource.description,
        resource.description_en,
        rows,
        resource.schema() if resource.format == "csv" else None,
        resource.name,
    )


def _fields(item: _File, known: catalog.ResourceView | None) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": item.title,
        "name_en": item.title_en,
        "description": item.description,
        "description_en": item.description_en,
        "format": item.format,
    }
    if item.schema is not None:
        fields["schema"] = item.schema
    if known is not None:
        fields["id"] = known.resource.uuid
    return fields


def _described_differently(resource: Any, item: _File) -> bool:
    return (resource.name, resource.name_en, resource.description, resource.description_en) != (
        item.title,
        item.title_en,
        item.description,
        item.description_en,
    )


def _metadata_changed(view: catalog.DatasetView, checked: catalog.DatasetInput) -> bool:
    dataset = view.dataset
    now = (
        checked.title,
        checked.title_en,
        checked.notes,
        checked.notes_en,
        checked.license_id,
        checked.organization.id if checked.organization else None,
        checked.private,
        checked.temporal_start,
        checked.temporal_end,
        checked.spatial,
        checked.frequency,
        checked.source,
        sorted(checked.tags),
        sorted(group.id for group in checked.groups),
    )
    before = (
        dataset.title,
        dataset.title_en,
        dataset.notes,
        dataset.notes_en,
        dataset.license_id,
        dataset.organization_id,
        dataset.private,
        dataset.temporal_start,
        dataset.temporal_end,
        dataset.spatial,
        dataset.frequency,
        dataset.source,
        sorted(tag.name for tag in view.tags),
        sorted(group.id for group in view.groups),
    )
    return now != before


def _file_note(item: _File, new: bool, previous: int | None) -> tuple[str, str]:
    name = item.filename
    if item.rows is None:
        return f"{name} mis à jour", f"{name} updated"
    table = item.format == "CSV"
    french = (
        ("ligne", "lignes", "nouvelle ligne", "nouvelles lignes")
        if table
        else ("objet", "objets", "nouvel objet", "nouveaux objets")
    )
    english = ("row", "rows") if table else ("feature", "features")
    if new:
        return (
            f"nouveau fichier {name} ({_plural(item.rows, french[0], french[1])})",
            f"new file {name} ({_plural(item.rows, *english)})",
        )
    difference = item.rows - (previous or 0)
    if difference > 0:
        return (
            f"{_plural(difference, french[2], french[3])} dans {name}",
            f"{_plural(difference, 'new ' + english[0], 'new ' + english[1])} in {name}",
        )
    if difference < 0:
        return (
            f"{_plural(-difference, french[0], french[1])} de moins dans {name}",
            f"{_plural(-difference, *english)} fewer in {name}",
        )
    updated = "mises à jour" if table else "mis à jour"
    return f"{french[1]} {updated} dans {name}", f"{english[1]} updated in {name}"


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


# A change note names this many files at most, then says how many more changed.
NOTE_PARTS = 4


def _sentence(parts: list[str], locale: str) -> str:
    """The changes as one sentence: French puts a non-breaking space before its semicolons; a long list of
    files ends with how many more changed."""
    if len(parts) > NOTE_PARTS:
        more = len(parts) - NOTE_PARTS + 1
        parts = [
            *parts[: NOTE_PARTS - 1],
            f"{more} autres fichiers modifiés" if locale == "fr" else f"{more} more files",
        ]
    text_ = ("\u00a0; " if locale == "fr" else "; ").join(parts)
    if "." in text_.split(" ", 1)[0]:  # it starts with a file name: kept as it is
        return text_ + "."
    return text_[:1].upper() + text_[1:] + "."


def _tags(keywords: tuple[str, ...]) -> list[str]:
    """Keywords as CKAN tags (letters, digits, spaces and -_. only: an apostrophe becomes a space)."""
    tags = []
    for keyword in keywords:
        tag = re.sub(r"\s+", " ", re.sub(r"[^\w \-.]", " ", keyword)).strip()
        if 2 <= len(tag) <= 100:
            tags.append(tag)
    return list(dict.fromkeys(tags))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)
