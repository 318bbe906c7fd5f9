"""The platform publishes its own data into the catalogue: each platform feed (`opendata.feeds`) becomes a
catalogue dataset named by its slug, with one resource per file (each CSV with its Table Schema, GeoJSON layers,
and the dataset's `datapackage.json`), refreshed by `citoyen opendata publish` and by the running app's
housekeeping (`opendata.tasks`).

A refresh publishes one feed after the other, each in two steps. First it reads: the feed's files are written
into temporary files (rows streamed batch by batch, memory flat) from one read transaction, hashed, and those
whose SHA-256 differs from their resource's current version are copied into the file store (each row was
checked against the Table Schema as it was written), all outside any write transaction. A file the feed can
count without writing (a past day of sensor readings) is not written at all when its current version already
has that many rows. Then one short
write transaction records the feed: the dataset's metadata, a new version of each changed file (a new resource
the first time), the `datapackage.json` (which names each file by its download address, so `frictionless
validate <the package's address>` checks the published files), the privacy ledger's releases and the note of
what changed ("12 new rows in signalements.csv"). An unchanged dataset keeps its files, versions and
modification time, and says "no change". Counts about people whose period the ledger already holds are not
released again.

`refresh_platform` (the app's refresh and the command) runs each step in a transaction of its own, so that the
app's other writers wait for one short transaction at most, never for the whole refresh; one refresh at a time
runs, taking a turn held outside any transaction (PostgreSQL: a session advisory lock; SQLite: a lock on a file
beside the stored files), and a second refresh waits for it, then finds its versions. `publish_platform` does
the same within its caller's transaction (the demo's, the tests'): each step in a savepoint, the turn taken as
the transaction's lock. Either way a failing feed is rolled back and reported while the others publish.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import fcntl
import hashlib
import io
import json
import logging
import os
import re
import shutil
import tempfile
import time
import unicodedata
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from citoyen.addresses import base_url
from citoyen.config import Settings
from citoyen.db import SQLITE_IMMEDIATE, make_sessionmaker, utcnow
from citoyen.events import HUB_KEY
from citoyen.opendata import catalog, files, ledger
from citoyen.opendata.change_notes import Note, file_note, first_publication, removed, summary
from citoyen.opendata.feed_kit import Feed, FeedResource, PublishContext
from citoyen.opendata.feeds import datapackage, platform_feeds, write_resource
from citoyen.opendata.models import Dataset, DatasetState, Organization, PrivacyRelease
from citoyen.opendata.privacy import LedgerEntry
from citoyen.people import service as people
from citoyen.territory import service as territory

log = logging.getLogger(__name__)

# PostgreSQL advisory lock key of the publication (any constant of ours; not housekeeping's).
PUBLICATION_LOCK_KEY = 0x43_49_54_4F_44_41_54_41  # "CITODATA"
# On SQLite, the refresh's turn: a lock on this file in the open-data directory (the store's upkeep only
# looks one level down, where the stored files are).
LOCK_FILE = "publication.lock"
# How often a refresh waiting for its turn asks again (a try-lock, so that no statement or thread waits long).
TURN_POLL_SECONDS = 0.2
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
    # Files the feed did not write again: their current version already had the rows the feed counted.
    kept: int = 0
    # Why it was not published: an error (its transaction was rolled back), or a reason it was left alone.
    error: str | None = None
    skipped: str | None = None


@dataclass
class PublicationReport:
    datasets: list[DatasetOutcome] = field(default_factory=list)
    seconds: float = 0.0
    # False: a refresh asked only if due found the last one recent enough, and published nothing.
    due: bool = True

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
    """A file of the feed, ready to compare with the catalogue's current version."""

    filename: str
    format: str  # the catalogue's code: CSV, GEOJSON, JSON
    title: str
    title_en: str
    description: str
    description_en: str
    rows: int | None
    schema: dict[str, Any] | None
    feed_resource: str | None  # the feed resource's name (None for the datapackage)
    path: Path | None = None  # None: not written again (kept: its current version has its rows)
    sha256: str | None = None
    stored: files.StoredFile | None = None  # already in the file store (it differs from the current version)


@dataclass
class _Prepared:
    """A feed read and written out, for its write transaction to record."""

    feed: Feed
    data: dict[str, Any]  # the dataset's metadata, as catalog.check_dataset takes it
    files: list[_File]
    ledger: list[LedgerEntry]
    directory: Path


# --- transactions and turns ---------------------------------------------------------------------------------


class _Transactions(Protocol):
    def reading(self) -> AbstractAsyncContextManager[AsyncSession]: ...

    def writing(self) -> AbstractAsyncContextManager[AsyncSession]: ...


@dataclass
class _CallersTransaction:
    """Every step in a savepoint of the caller's transaction (rolled back alone when the step fails)."""

    session: AsyncSession

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        async with self.session.begin_nested():
            yield self.session

    def writing(self) -> AbstractAsyncContextManager[AsyncSession]:
        return self.reading()


@dataclass
class _OwnTransactions:
    """Every step in a transaction of its own: reads in a snapshot (PostgreSQL: repeatable read, so a feed's
    files agree with each other; SQLite: a deferred transaction, which takes no lock), writes in a short
    transaction that takes SQLite's write lock up front."""

    sessions: async_sessionmaker[AsyncSession]

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session, session.begin():
            if isinstance(session.bind, AsyncEngine) and session.bind.dialect.name == "postgresql":
                await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            yield session

    @contextlib.asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session, session.begin():
            if session.get_bind().dialect.name == "sqlite":
                await session.connection(execution_options={SQLITE_IMMEDIATE: True})
            yield session


def sessions_like(session: AsyncSession) -> async_sessionmaker[AsyncSession]:
    """Sessions on `session`'s engine carrying its event hub, for a refresh asked through one session (a
    housekeeping job, a command). Joined to a connection (the tests'), they are savepoints of its transaction."""
    bind = session.bind
    if bind is None:
        raise ValueError("the session is bound to no engine")
    options: dict[str, Any] = {}
    if isinstance(bind, AsyncConnection):
        options["join_transaction_mode"] = "create_savepoint"
    return make_sessionmaker(bind, session.info.get(HUB_KEY), **options)


@contextlib.asynccontextmanager
async def publication_turn(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> AsyncIterator[None]:
    """Wait for any other refresh to end, then hold the turn until the block ends, outside any transaction."""
    bind = sessions.kw.get("bind")
    if not isinstance(bind, AsyncEngine):
        yield  # joined to one connection (the tests'): nothing else writes through it meanwhile
        return
    if bind.dialect.name == "postgresql":
        async with bind.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            key = {"key": PUBLICATION_LOCK_KEY}
            # A database lock, not an event of this process: asked again until free (noqa: nothing to await).
            while not (await connection.execute(text("SELECT pg_try_advisory_lock(:key)"), key)).scalar_one():  # noqa: ASYNC110
                await asyncio.sleep(TURN_POLL_SECONDS)
            try:
                yield
            finally:
                await connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)
        return
    await asyncio.to_thread(settings.opendata_path.mkdir, parents=True, exist_ok=True)
    descriptor = os.open(settings.opendata_path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        while True:  # flock: held by this open file, so two refreshes of one process exclude each other too
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await asyncio.sleep(TURN_POLL_SECONDS)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


async def lock_publication(session: AsyncSession) -> None:
    """Within the caller's transaction: wait for any other publication to finish, then hold the turn until
    the transaction ends (PostgreSQL: the refreshes' advisory lock; SQLite: the database's write lock)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PUBLICATION_LOCK_KEY})
    else:  # SQLite: a write takes the database's write lock (waiting busy_timeout for it) until commit.
        await session.execute(update(Dataset).where(Dataset.id == -1).values(id=Dataset.id))


async def last_refresh(session: AsyncSession) -> datetime | None:
    """When the platform's datasets were last refreshed (None: never)."""
    return await session.scalar(select(func.max(Dataset.refreshed_at)).where(Dataset.source.like(f"{SOURCE_PREFIX}%")))


# --- the run ----------------------------------------------------------------------------------------------


async def publish_platform(session: AsyncSession, settings: Settings, now: datetime | None = None) -> PublicationReport:
    """Create or refresh the catalogue dataset of every platform feed within the caller's transaction (the
    caller commits); a feed that fails is rolled back to its savepoint and reported in `.failed`."""
    await lock_publication(session)
    return await _publish(_CallersTransaction(session), settings, now or utcnow())


async def refresh_platform(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    now: datetime | None = None,
    *,
    unless_refreshed_within: timedelta | None = None,
) -> PublicationReport:
    """Create or refresh the catalogue dataset of every platform feed, each step in a short transaction of
    its own, in the refreshes' turn; with `unless_refreshed_within`, only if the last refresh (as found once
    the turn is ours) is older than that (else `due` is False and nothing is published)."""
    now = now or utcnow()
    async with publication_turn(sessions, settings):
        if unless_refreshed_within is not None:
            async with sessions() as session:
                last = await last_refresh(session)
            if last is not None and now - last < unless_refreshed_within:
                return PublicationReport(due=False)
        return await _publish(_OwnTransactions(sessions), settings, now)


async def _publish(transactions: _Transactions, settings: Settings, now: datetime) -> PublicationReport:
    started = time.perf_counter()
    async with transactions.writing() as session:
        publishers = await _publishers(session, settings)
    async with transactions.reading() as session:
        released = await _released_periods(session)
        spatial = await _city_extent(session)
        feeds = await platform_feeds(session, now)
    report = PublicationReport()
    workspace = settings.opendata_path / "incoming"
    await asyncio.to_thread(workspace.mkdir, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="publish-", dir=workspace) as scratch:
        for feed in feeds:
            outcome = DatasetOutcome(feed.slug)
            if feed.period is not None and (feed.slug, feed.period) in released:
                outcome.skipped = f"period {feed.period} already released"
                report.datasets.append(outcome)
                continue
            feed_started = time.perf_counter()
            directory = Path(scratch) / feed.slug
            try:
                async with transactions.reading() as session:
                    context = PublishContext(session, now=now)
                    prepared = await _prepare(context, settings, feed, publishers, spatial, directory, outcome)
                if prepared is not None:
                    async with transactions.writing() as session:
                        await _record(session, settings, prepared, outcome, now)
            except Exception as error:  # one feed's failure must not stop the others: reported, rolled back
                log.exception("publishing the dataset %s failed", feed.slug)
                outcome = DatasetOutcome(feed.slug, error=f"{type(error).__name__}: {error}")
            finally:
                await asyncio.to_thread(shutil.rmtree, directory, True)
            outcome.seconds = time.perf_counter() - feed_started
            report.datasets.append(outcome)
    report.seconds = time.perf_counter() - started
    return report


async def _platform_dataset(session: AsyncSession, feed: Feed) -> Dataset | None:
    """The feed's dataset in the catalogue (None: not yet); an error if a dataset of that name is not the
    platform's."""
    existing = (await session.execute(select(Dataset).where(Dataset.name == feed.slug))).scalar_one_or_none()
    source = f"{SOURCE_PREFIX}{feed.slug}"
    if existing is not None and existing.source != source:
        raise ValueError(
            f"the catalogue's dataset {feed.slug!r} is not the platform's ({existing.source or 'by hand'})"
        )
    return existing


async def _prepare(
    ctx: PublishContext,
    settings: Settings,
    feed: Feed,
    publishers: dict[str | None, str],
    spatial: str,
    directory: Path,
    outcome: DatasetOutcome,
) -> _Prepared | None:
    """The read step: the feed's files written, hashed and, where changed, stored; its metadata."""
    session = ctx.session
    existing = await _platform_dataset(session, feed)
    if existing is not None and existing.state is DatasetState.DELETED:
        outcome.skipped = "deleted from the catalogue by its publishers"
        return None
    view = await catalog.load_view(session, existing) if existing is not None else None
    current = {item.version.filename: item.version for item in (view.resources if view else []) if item.version}
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    made: list[_File] = []
    written: list[tuple[FeedResource, Path]] = []
    for resource in feed.resources:
        known = current.get(resource.filename)
        if resource.known_rows is not None and known is not None and known.row_count == resource.known_rows:
            made.append(_feed_file(resource, resource.known_rows))
            continue
        path = directory / resource.filename
        with path.open("w", encoding="utf-8", newline="") as stream:
            rows = await write_resource(ctx, resource, stream)
        written.append((resource, path))
        item = _feed_file(resource, rows, path, await asyncio.to_thread(_sha256, path))
        if known is None or known.sha256 != item.sha256:
            item = replace(item, stored=await _store(settings, item))
        made.append(item)
    if feed.temporal is not None:
        temporal: tuple[date, date] | None = feed.temporal
    else:
        temporal = _period_dates(feed.period) if feed.period else await asyncio.to_thread(_temporal, written)
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
        "source": f"{SOURCE_PREFIX}{feed.slug}",
        "tags": [{"name": tag} for tag in _tags(feed.keywords)],
        "groups": [{"name": theme.lower()} for theme in feed.themes],
    }
    return _Prepared(feed, data, made, list(ctx.ledger), directory)


async def _store(settings: Settings, item: _File) -> files.StoredFile:
    """Copy a written file into the file store, outside any write transaction (a stored file no version names
    yet is left alone by the upkeep). It is not read back through frictionless as an upload is: its writer
    checked each row against the Table Schema as it wrote it (`tabular.check_row`; the types hold by
    construction), and reading every file back cost more than writing it."""
    assert item.path is not None and item.sha256 is not None
    return await asyncio.to_thread(_copy_into_store, settings.opendata_path, item.path, item.sha256, item)


def _copy_into_store(directory: Path, path: Path, sha256: str, item: _File) -> files.StoredFile:
    relative = f"{sha256[:2]}/{sha256}"  # the store's layout (files.store_upload): by content
    final = directory / relative
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        os.utime(final)  # kept as new for the upkeep until the version commits
    else:
        handle, name = tempfile.mkstemp(dir=directory / "incoming")
        os.close(handle)
        shutil.copyfile(path, name)
        Path(name).replace(final)
    return files.StoredFile(sha256, path.stat().st_size, relative, item.rows, item.schema)


async def _record(
    session: AsyncSession, settings: Settings, prepared: _Prepared, outcome: DatasetOutcome, now: datetime
) -> None:
    """The write step: the dataset's metadata, new versions of the changed files, its package, its privacy
    releases and its change note. The catalogue is read again here: what another writer did since the read
    step counts (a file already at that content makes no version)."""
    feed = prepared.feed
    existing = await _platform_dataset(session, feed)
    if existing is not None and existing.state is DatasetState.DELETED:
        outcome.skipped = "deleted from the catalogue by its publishers"
        return
    checked = await catalog.check_dataset(session, prepared.data, existing)
    view = await catalog.load_view(session, existing) if existing is not None else None
    if view is None or _metadata_changed(view, checked):
        dataset = await catalog.save_dataset(session, checked, existing)
        metadata_changed = view is not None
    else:
        dataset, metadata_changed = view.dataset, False
    outcome.created = existing is None
    current = {item.version.filename: item for item in (view.resources if view else []) if item.version is not None}
    notes: list[Note] = []
    new_versions: set[str] = set()
    uuids: dict[str, str] = {}

    async def store(item: _File) -> None:
        """A new version of the file's resource (a new resource the first time) when its content changed."""
        key = item.feed_resource or DATAPACKAGE
        outcome.resources += 1
        outcome.rows += item.rows or 0
        known = current.pop(item.filename, None)
        if known is not None and known.version is not None and item.sha256 in (None, known.version.sha256):
            uuids[key] = known.resource.uuid
            outcome.kept += item.sha256 is None
            if item.sha256 is not None and _described_differently(known.resource, item):
                await files.update_resource(session, settings.opendata_path, _MAX, _fields(item, known), None)
            return
        if item.path is None:
            raise RuntimeError(f"{item.filename}: its resource was removed during the refresh")
        # Stored in the read step; here only if the current version changed meanwhile (another writer).
        stored = item.stored or await _store(settings, item)
        upload = files.Upload(item.filename, io.BytesIO())  # its content is `stored`'s
        if known is None:
            fields = {**_fields(item, None), "package_id": dataset.uuid}
            made = await files.create_resource(session, settings.opendata_path, _MAX, fields, upload, stored)
        else:
            made = await files.update_resource(
                session, settings.opendata_path, _MAX, _fields(item, known), upload, stored
            )
        uuids[key] = made.resource.uuid
        new_versions.add(key)
        outcome.versions += 1
        if existing is not None:
            previous = known.version.row_count if known is not None and known.version is not None else None
            notes.append(file_note(item.filename, item.format == "CSV", item.rows, known is None, previous))

    for item in prepared.files:
        await store(item)
    # The package names each file by its download address (the current version), and is dated by the dataset's
    # creation: it changes only when the feed's shape or the site's address does.
    descriptor = datapackage(feed, feed.resources, dataset.created_at.replace(microsecond=0))
    base = base_url(settings)
    for described in descriptor["resources"]:
        uuid = uuids[described["name"]]
        described["path"] = f"{base}/data/{quote(feed.slug)}/resources/{uuid}/download/{quote(described['path'])}"
    package = prepared.directory / DATAPACKAGE
    await asyncio.to_thread(package.write_text, _json(descriptor), encoding="utf-8")
    await store(
        _File(
            DATAPACKAGE,
            "JSON",
            "Description du paquet de données (Data Package)",
            "Data Package descriptor",
            "Les fichiers du jeu de données, leurs colonnes et leurs types (Frictionless Data Package), chacun "
            "par son adresse de téléchargement.",
            "The dataset's files, their columns and types (Frictionless Data Package), each by its download address.",
            None,
            None,
            None,
            package,
            await asyncio.to_thread(_sha256, package),
        )
    )
    for gone in current.values():  # files the feed no longer has (a Datastream no longer public, a past day...)
        await files.delete_resource(session, gone.resource.uuid)
        if gone.version is not None:
            notes.append(removed(gone.version.filename))
    if metadata_changed:
        notes.append(("description mise à jour", "description updated"))
    for entry in prepared.ledger:
        if feed.period is not None or entry.resource in new_versions:
            resource = uuids.get(entry.resource, entry.resource)
            await ledger.record_release(session, replace(entry, resource=resource))
            outcome.releases += 1
    if existing is None:
        tables = [item for item in prepared.files if item.feed_resource is not None]
        note = first_publication(len(tables), sum(item.rows or 0 for item in tables))
    else:
        note = summary(notes)
    dataset.change_note, dataset.change_note_en = note
    dataset.refreshed_at = now
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


def _temporal(written: list[tuple[FeedResource, Path]]) -> tuple[date, date] | None:
    """The first and last day of the dates in the feed's CSV tables (read back from the files, row by row)."""
    low: str | None = None
    high: str | None = None
    for resource, path in written:
        dated = [column.name for column in resource.columns if column.type in ("date", "datetime")]
        if resource.format != "csv" or not dated:
            continue
        with path.open(encoding="utf-8", newline="") as stream:
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


def _feed_file(resource: FeedResource, rows: int, path: Path | None = None, sha256: str | None = None) -> _File:
    return _File(
        resource.filename,
        "CSV" if resource.format == "csv" else "GEOJSON",
        resource.title,
        resource.title_en,
        resource.description,
        resource.description_en,
        rows,
        resource.schema() if resource.format == "csv" else None,
        resource.name,
        path,
        sha256,
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
