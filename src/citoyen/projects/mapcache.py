"""The projects' map answers (`GET /api/projects`) kept as the bytes sent, per version of the projects: reading
5,000 projects and encoding them takes from half a second to two under load, and every visitor of `/projects`
opens the same city-wide view. A write of a project draws a new version (`project_map_version`, in the writing
transaction); each request reads that one row first.

- At the city's zoom (`CITY_ZOOM` and below) the answer is every project, whatever the box: one answer per filters
  and language, the same for every window size.
- Otherwise, when the map gives its zoom, its box is widened to a grid of a quarter of a tile at that zoom (64
  pixels: views a few pixels apart share one answer) and, below zoom 14, the simplified geometries are sent
  (`geometry.simplified`); without a zoom (a GIS client) the answer is exactly the projects meeting the box, drawn
  whole.
- Answers that are costly to build (the city-wide views, and any of `STORE_FROM` projects or more) are stored in
  `project_map_answers` with their version, shared by every worker. After a change no visitor waits for them: the
  previous answer is served, marked with its version (`X-Projects-Map-Version`, not cached by the browser), while
  a background task of one worker (`keep_map_answers`, claiming the row) rebuilds it. The city-wide views are built
  when the app starts, so even the first visitor finds them.
- Each worker keeps its latest answers in memory too (`MapCache`), so a kept answer costs one row read."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import secrets
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from citoyen.db import sqlite_write_turn, utcnow
from citoyen.fastjson import dumps
from citoyen.projects.models import ProjectMapAnswer, ProjectMapVersion
from citoyen.projects.repository import ProjectFilters, map_features

log = logging.getLogger(__name__)

# Below this zoom the map draws the simplified geometries (13: an arrondissement fills the screen).
SIMPLE_BELOW_ZOOM = 14
# At this zoom and below the map shows the whole city: the answer is every project (simplified), the box ignored.
CITY_ZOOM = 12
# An answer of this many projects or more is stored for every worker and rebuilt in the background.
STORE_FROM = 1_000
MAX_ENTRIES = 256
MAX_BYTES = 64 * 1024 * 1024
# A worker that claimed a rebuild and did not store it within this long is presumed gone.
CLAIM_SECONDS = 120
# Answers nobody asked for within this long are no longer rebuilt (and are deleted after a week).
ASKED_WITHIN = timedelta(days=1)
FORGOTTEN_AFTER = timedelta(days=7)
ASKED_NOTED_EVERY = timedelta(hours=1)
LOCALES = ("fr", "en")

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class MapParams:
    """What an answer answers: the box (None: the whole city), simplified geometries or not, filters, language."""

    box: Box | None
    simple: bool
    filters: ProjectFilters
    locale: str

    def stored(self) -> dict[str, Any]:
        filters = asdict(self.filters)
        for name in ("period_from", "period_to"):
            filters[name] = filters[name].isoformat() if filters[name] else None
        return {
            "box": list(self.box) if self.box else None,
            "simple": self.simple,
            "filters": filters,
            "locale": self.locale,
        }

    @classmethod
    def from_stored(cls, stored: dict[str, Any]) -> MapParams:
        filters = dict(stored["filters"])
        for name in ("period_from", "period_to"):
            filters[name] = date.fromisoformat(filters[name]) if filters[name] else None
        box = stored["box"]
        return cls(tuple(box) if box else None, bool(stored["simple"]), ProjectFilters(**filters), stored["locale"])

    @property
    def digest(self) -> str:
        return hashlib.blake2b(dumps(self.stored()), digest_size=16).hexdigest()


def city_views() -> list[MapParams]:
    """The views every visitor of `/projects` opens first: the whole city, unfiltered, in each language."""
    return [MapParams(None, True, ProjectFilters(), locale) for locale in LOCALES]


@dataclass(frozen=True)
class MapAnswer:
    body: bytes
    # A strong validator of the body (the same bytes give the same tag in every worker).
    etag: str
    # The version of the projects it was built from.
    version: int
    # Whether it is the current version's (set when served; a stale answer is served while it is rebuilt).
    current: bool = True


@dataclass
class MapCache:
    """This process's latest map answers (one per view, whatever its version), least recently used dropped first,
    within a count and a size; and, when the app keeps answers in the background (`keep_map_answers` runs), the
    views it should rebuild or store now."""

    max_entries: int = MAX_ENTRIES
    max_bytes: int = MAX_BYTES
    # Set by the app's background task: requests then never build a stored answer themselves.
    background: bool = False
    # Whether the background task is storing or rebuilding answers right now.
    busy: bool = False
    _entries: OrderedDict[MapParams, MapAnswer] = field(default_factory=OrderedDict)
    _bytes: int = 0
    wanted: dict[MapParams, MapAnswer | None] = field(default_factory=dict)
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: MapParams) -> MapAnswer | None:
        answer = self._entries.get(key)
        if answer is not None:
            self._entries.move_to_end(key)
        return answer

    def put(self, key: MapParams, answer: MapAnswer) -> None:
        if len(answer.body) > self.max_bytes:
            return
        previous = self._entries.pop(key, None)
        if previous is not None:
            self._bytes -= len(previous.body)
        self._entries[key] = answer
        self._bytes += len(answer.body)
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= len(dropped.body)

    def want(self, key: MapParams, built: MapAnswer | None) -> None:
        """Ask the background task to rebuild `key` (`built` None) or to store what a request just built."""
        if key not in self.wanted or built is not None:
            self.wanted[key] = built
            self.wake.set()


async def map_version(session: AsyncSession) -> int:
    found = (await session.execute(select(ProjectMapVersion.version).where(ProjectMapVersion.id == 1))).scalar()
    return int(found or 0)


async def bump_map_version(session: AsyncSession) -> None:
    """A project's place or what the map shows of it changed: every kept answer is out of date."""
    version = secrets.randbits(62)
    drawn = await session.execute(update(ProjectMapVersion).where(ProjectMapVersion.id == 1).values(version=version))
    if getattr(drawn, "rowcount", 1) == 0:  # the migration writes the row; a database without it gets it here
        await session.execute(insert(ProjectMapVersion).values(id=1, version=version))


def snapped(box: Box, zoom: int) -> Box:
    """`box` widened to the grid of a quarter of a tile at `zoom` (360 / 2^(zoom+2) degrees)."""
    step = 360 / 2 ** (zoom + 2)
    min_lon, min_lat, max_lon, max_lat = box
    return (
        max(-180.0, math.floor(min_lon / step) * step),
        max(-90.0, math.floor(min_lat / step) * step),
        min(180.0, math.ceil(max_lon / step) * step),
        min(90.0, math.ceil(max_lat / step) * step),
    )


def view_of(box: Box | None, zoom: int | None, filters: ProjectFilters, locale: str) -> MapParams:
    """The answer a request asks for: the whole city at the city's zoom, the snapped box at another, the exact
    box without a zoom."""
    if zoom is not None and zoom <= CITY_ZOOM:
        return MapParams(None, True, filters, locale)
    if zoom is not None and box is not None:
        box = snapped(box, zoom)
    return MapParams(box, zoom is not None and zoom < SIMPLE_BELOW_ZOOM, filters, locale)


async def build_answer(session: AsyncSession, key: MapParams) -> tuple[MapAnswer, int]:
    """Read and encode the answer of `key` as of now, with the number of its projects."""
    # The version is read before the projects: an answer is never kept under a version older than its rows.
    version = await map_version(session)
    features = await map_features(session, key.box, key.filters, key.locale, simple=key.simple)
    body = dumps({"type": "FeatureCollection", "features": features})
    return MapAnswer(body, '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"', version), len(features)


def _stored_answer(row: Any, version: int) -> MapAnswer:
    return MapAnswer(row.body, row.etag, row.version, current=row.version == version)


async def map_answer(
    session: AsyncSession, cache: MapCache, box: Box | None, zoom: int | None, filters: ProjectFilters, locale: str
) -> MapAnswer:
    """The GeoJSON FeatureCollection of the projects meeting `box` (the map's view at `zoom`, or exactly the box
    when no zoom is given), as bytes: kept by this process, else stored for every worker, else built now. When
    the app keeps answers in the background, a stored answer out of date is served as it is (`current` False)
    while it is rebuilt; otherwise it is rebuilt now."""
    key = view_of(box, zoom, filters, locale)
    version = await map_version(session)
    kept = cache.get(key)
    if kept is not None and kept.version == version:
        return kept if kept.current else MapAnswer(kept.body, kept.etag, kept.version)
    digest = key.digest
    meta = (
        await session.execute(
            select(ProjectMapAnswer.version, ProjectMapAnswer.etag, ProjectMapAnswer.asked_at).where(
                ProjectMapAnswer.digest == digest
            )
        )
    ).one_or_none()
    if meta is not None and (meta.version == version or cache.background):
        if meta.version != version:
            cache.want(key, None)
        elif meta.asked_at < utcnow() - ASKED_NOTED_EVERY and cache.background:
            cache.want(key, None)  # the background task notes it was asked (a request never writes)
        if kept is not None and kept.etag == meta.etag:
            answer = MapAnswer(kept.body, kept.etag, kept.version, current=meta.version == version)
        else:
            row = (
                await session.execute(
                    select(ProjectMapAnswer.body, ProjectMapAnswer.etag, ProjectMapAnswer.version).where(
                        ProjectMapAnswer.digest == digest
                    )
                )
            ).one()
            answer = _stored_answer(row, version)
        cache.put(key, answer)
        return answer
    answer, count = await build_answer(session, key)
    cache.put(key, answer)
    if cache.background and (count >= STORE_FROM or key.box is None):
        cache.want(key, answer)
    if answer.version != version:  # a project changed between the two reads
        answer = MapAnswer(answer.body, answer.etag, answer.version, current=False)
    return answer


def _insert_for(session: AsyncSession) -> Any:
    bind = session.bind
    return pg_insert if bind is not None and bind.dialect.name == "postgresql" else sqlite_insert


async def store_answer(session: AsyncSession, key: MapParams, answer: MapAnswer) -> None:
    """Store `answer` for every worker, unless what is stored is already of its version."""
    now = utcnow()
    values = {
        "digest": key.digest,
        "params": key.stored(),
        "version": answer.version,
        "etag": answer.etag,
        "body": answer.body,
        "built_at": now,
        "asked_at": now,
    }
    statement = _insert_for(session)(ProjectMapAnswer).values(**values)
    excluded = statement.excluded
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["digest"],
            set_={
                "version": excluded.version,
                "etag": excluded.etag,
                "body": excluded.body,
                "built_at": excluded.built_at,
                "asked_at": excluded.asked_at,
                "claim_version": None,
                "claimed_at": None,
            },
            where=ProjectMapAnswer.version != excluded.version,
        )
    )


async def _claim(session: AsyncSession, digest: str, version: int) -> bool:
    """Take the rebuild of a stored answer for `version`, unless it is of that version already or another worker
    is building it (and not for longer than CLAIM_SECONDS)."""
    now = utcnow()
    claimed = await session.execute(
        update(ProjectMapAnswer)
        .where(
            ProjectMapAnswer.digest == digest,
            ProjectMapAnswer.version != version,
            or_(
                ProjectMapAnswer.claim_version.is_(None),
                ProjectMapAnswer.claim_version != version,
                ProjectMapAnswer.claimed_at < now - timedelta(seconds=CLAIM_SECONDS),
            ),
        )
        .values(claim_version=version, claimed_at=now)
    )
    return bool(getattr(claimed, "rowcount", 0))


async def claim_rebuild(session: AsyncSession, key: MapParams) -> bool:
    """Whether this worker should rebuild `key`'s answer now: not stored yet, or stored out of date and not
    being rebuilt by another worker (the claim is taken in the caller's transaction, which commits it)."""
    version = await map_version(session)
    stored = (
        await session.execute(select(ProjectMapAnswer.version).where(ProjectMapAnswer.digest == key.digest))
    ).scalar()
    if stored is None:
        return True
    return stored != version and await _claim(session, key.digest, version)


async def stale_views(session: AsyncSession) -> list[MapParams]:
    """The stored answers out of date that someone asked for lately, and the city-wide views not stored yet."""
    version = await map_version(session)
    now = utcnow()
    rows = (
        await session.execute(select(ProjectMapAnswer.params, ProjectMapAnswer.version, ProjectMapAnswer.asked_at))
    ).all()
    stored = {MapParams.from_stored(row.params): row for row in rows}
    views = [key for key in city_views() if key not in stored]
    views += [key for key, row in stored.items() if row.version != version and row.asked_at >= now - ASKED_WITHIN]
    return views


async def _in_turn(sessionmaker: async_sessionmaker[AsyncSession], state: Any, work: Any) -> Any:
    """Run `work(session)` in a short transaction of its own, in its turn among the app's writers on SQLite."""
    async with sessionmaker() as session, sqlite_write_turn(state, session):
        result = await work(session)
        await session.commit()
    return result


async def keep_once(sessionmaker: async_sessionmaker[AsyncSession], cache: MapCache, state: Any) -> int:
    """One round of the background task: store what requests built, rebuild the stale answers asked for (each
    claimed in one short transaction, read and encoded in another that writes nothing, stored in a third), forget
    the answers nobody asked for in a week; how many answers it stored."""
    wanted, cache.wanted = cache.wanted, {}
    stored = 0
    async with sessionmaker() as session:
        views = await stale_views(session)
        version = await map_version(session)
    for key, built in wanted.items():
        if built is not None and built.version == version:
            await _in_turn(sessionmaker, state, lambda session, key=key, built=built: store_answer(session, key, built))
            stored += 1
        elif key not in views:  # asked for out of date, or built by a request before a change: rebuilt
            views.append(key)
    for key in views:
        if not await _in_turn(sessionmaker, state, lambda session, key=key: claim_rebuild(session, key)):
            continue
        async with sessionmaker() as session:
            answer, _ = await build_answer(session, key)
        await _in_turn(sessionmaker, state, lambda session, key=key, answer=answer: store_answer(session, key, answer))
        cache.put(key, answer)
        stored += 1
    asked = [key.digest for key, built in wanted.items() if built is None]
    if asked or stored:

        async def note(session: AsyncSession) -> None:
            now = utcnow()
            if asked:
                await session.execute(
                    update(ProjectMapAnswer).where(ProjectMapAnswer.digest.in_(asked)).values(asked_at=now)
                )
            await session.execute(delete(ProjectMapAnswer).where(ProjectMapAnswer.asked_at < now - FORGOTTEN_AFTER))

        await _in_turn(sessionmaker, state, note)
    return stored


async def keep_map_answers(
    sessionmaker: async_sessionmaker[AsyncSession], cache: MapCache, state: Any, interval_seconds: float
) -> None:
    """The app's task: rebuild the stored map answers after a change (seen within `interval_seconds`, or at once
    when a request finds one out of date), and store the costly answers requests built, until cancelled."""
    cache.background = True
    seen: int | None = None
    while True:
        try:
            async with sessionmaker() as session:
                version = await map_version(session)
            if version != seen or cache.wanted:
                cache.wake.clear()
                cache.busy = True
                try:
                    await keep_once(sessionmaker, cache, state)
                finally:
                    cache.busy = False
                seen = version
        except Exception:
            log.exception("projects: keeping the map's answers failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(cache.wake.wait(), interval_seconds)
