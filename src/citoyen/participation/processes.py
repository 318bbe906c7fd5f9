"""Processes and their phases: saving a process with its categories, scope and phases, reading them, what
citizens may do while a phase runs, and the per-app-process cache of what rarely changes about a process
(`ProcessFrames`), which the support form and the citizen pages read on every request."""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import detached_copy, utcnow
from citoyen.i18n import N_
from citoyen.images import PreparedPhoto
from citoyen.participation.debate import service as debate
from citoyen.participation.errors import ParticipationError
from citoyen.participation.models import (
    ParticipationImage,
    Phase,
    PhaseKind,
    Process,
    ProcessCategory,
    ProcessNeighbourhood,
)
from citoyen.participation.phases import active_phase, commenting_phase
from citoyen.participation.repository import mark_over_threshold, phases_of, process_structure, process_summaries
from citoyen.participation.surveys import service as surveys
from citoyen.participation.surveys.models import Survey
from citoyen.territory import service as territory

PHASE_KIND_LABELS = {
    PhaseKind.INFORMATION: N_("Information"),
    PhaseKind.PROPOSALS: N_("Proposals"),
    PhaseKind.DEBATE: N_("Debate"),
    PhaseKind.VOTING: N_("Voting"),
    PhaseKind.IMPLEMENTATION: N_("Implementation"),
}
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass
class PhaseInput:
    kind: PhaseKind
    starts_at: datetime
    ends_at: datetime
    title: str = ""
    title_en: str = ""
    description: str = ""
    description_en: str = ""
    allows_proposals: bool = False
    allows_comments: bool = False
    allows_supports: bool = False
    allows_votes: bool = False


@dataclass
class CategoryInput:
    name: str
    name_en: str = ""


@dataclass
class ProcessInput:
    slug: str
    title: str
    starts_at: datetime
    ends_at: datetime
    title_en: str = ""
    description: str = ""
    description_en: str = ""
    whole_city: bool = True
    neighbourhood_ids: list[int] = field(default_factory=list)
    edit_window_minutes: int = 30
    support_threshold: int | None = None
    published: bool = True
    categories: list[CategoryInput] = field(default_factory=list)
    phases: list[PhaseInput] = field(default_factory=list)


def slugify(text: str) -> str:
    """A URL slug from a title: lower-case ASCII words joined by hyphens."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:120]


async def _check_process(session: AsyncSession, data: ProcessInput, process_id: int | None) -> None:
    if not data.title.strip():
        raise ParticipationError(N_("A process needs a title."), field="title")
    if not SLUG_PATTERN.match(data.slug):
        raise ParticipationError(
            N_("The address name may hold only lower-case letters, digits and hyphens."), field="slug"
        )
    taken = await session.scalar(select(Process.id).where(Process.slug == data.slug))
    if taken is not None and taken != process_id:
        raise ParticipationError(N_("Another process already uses this address name."), field="slug")
    if data.ends_at <= data.starts_at:
        raise ParticipationError(N_("A process must end after it starts."), field="ends_at")
    if not 0 <= data.edit_window_minutes <= 7 * 24 * 60:
        raise ParticipationError(N_("The editing window must be between 0 minutes and 7 days."), field="edit_window")
    if data.support_threshold is not None and data.support_threshold < 1:
        raise ParticipationError(N_("The support threshold must be a positive number."), field="support_threshold")
    if not data.whole_city:
        if not data.neighbourhood_ids:
            raise ParticipationError(
                N_("Choose the neighbourhoods of the process, or make it city-wide."), field="neighbourhoods"
            )
        known = set(await territory.neighbourhood_names(session))
        if not set(data.neighbourhood_ids) <= known:
            raise ParticipationError(N_("Unknown neighbourhood."), field="neighbourhoods")
    names = [category.name.strip() for category in data.categories]
    if any(not name for name in names) or len(set(names)) != len(names):
        raise ParticipationError(N_("Each category needs a distinct name."), field="categories")
    for position, phase in enumerate(data.phases, start=1):
        if phase.ends_at <= phase.starts_at:
            raise ParticipationError(
                N_("Phase %(position)d must end after it starts."), field="phases", position=position
            )


async def save_process(
    session: AsyncSession, data: ProcessInput, image: PreparedPhoto | None = None, process_id: int | None = None
) -> Process:
    """Create a process (or replace an existing one's settings, categories kept by name, and phases)."""
    data.slug = data.slug.strip() or slugify(data.title)
    await _check_process(session, data, process_id)
    if process_id is None:
        process = Process(slug=data.slug, title=data.title, starts_at=data.starts_at, ends_at=data.ends_at)
        session.add(process)
    else:
        found = await session.get(Process, process_id)
        if found is None:
            raise ParticipationError(N_("Unknown process."), kind="not_found")
        process = found
    process.slug = data.slug
    process.title = data.title.strip()
    process.title_en = data.title_en.strip()
    process.description = data.description.strip()
    process.description_en = data.description_en.strip()
    process.whole_city = data.whole_city
    process.starts_at = data.starts_at
    process.ends_at = data.ends_at
    process.edit_window_minutes = data.edit_window_minutes
    process.support_threshold = data.support_threshold
    process.published = data.published
    process.updated_at = utcnow()
    if image is not None:
        stored = ParticipationImage(
            content=image.content, media_type=image.media_type, width=image.width, height=image.height
        )
        session.add(stored)
        await session.flush()
        process.image_id = stored.id
    await session.flush()
    if data.support_threshold is not None:
        # Set or lowered, the proposals already past it await an answer, as if a support had just reached it
        # (unanswered ones past it are all marked already otherwise: this finds none).
        await mark_over_threshold(session, process.id, data.support_threshold)

    await session.execute(delete(ProcessNeighbourhood).where(ProcessNeighbourhood.process_id == process.id))
    if not data.whole_city:
        session.add_all(
            ProcessNeighbourhood(process_id=process.id, neighbourhood_id=nid)
            for nid in sorted(set(data.neighbourhood_ids))
        )
    existing = {
        c.name: c
        for c in (
            await session.execute(select(ProcessCategory).where(ProcessCategory.process_id == process.id))
        ).scalars()
    }
    wanted = {category.name.strip(): category for category in data.categories}
    for name, category in existing.items():
        if name not in wanted:
            await session.delete(category)
    for position, (name, item) in enumerate(wanted.items()):
        category = existing.get(name) or ProcessCategory(process_id=process.id, name=name)
        category.name_en = item.name_en.strip()
        category.position = position
        session.add(category)
    # Phases keep their rows (and ids, which other modules such as budgets refer to) position by position;
    # only rows beyond the new number of phases go.
    existing_phases = list(
        (await session.execute(select(Phase).where(Phase.process_id == process.id).order_by(Phase.position))).scalars()
    )
    for extra in existing_phases[len(data.phases) :]:
        await session.delete(extra)
    for position, phase in enumerate(data.phases):
        row = existing_phases[position] if position < len(existing_phases) else Phase(process_id=process.id)
        row.kind = phase.kind
        row.title = phase.title.strip()
        row.title_en = phase.title_en.strip()
        row.description = phase.description.strip()
        row.description_en = phase.description_en.strip()
        row.position = position
        row.starts_at = phase.starts_at
        row.ends_at = phase.ends_at
        row.allows_proposals = phase.allows_proposals
        row.allows_comments = phase.allows_comments
        row.allows_supports = phase.allows_supports
        row.allows_votes = phase.allows_votes
        session.add(row)
    await session.flush()
    return process


async def list_processes(session: AsyncSession, include_unpublished: bool = False) -> list[Process]:
    query = select(Process).order_by(Process.position, Process.starts_at.desc(), Process.id.desc())
    if not include_unpublished:
        query = query.where(Process.published.is_(True))
    return list((await session.execute(query)).scalars())


async def get_process(session: AsyncSession, process_id: int, include_unpublished: bool = False) -> Process:
    process = await session.get(Process, process_id)
    if process is None or not (process.published or include_unpublished):
        raise ParticipationError(N_("Unknown process."), kind="not_found")
    return process


async def get_process_by_slug(session: AsyncSession, slug: str, include_unpublished: bool = False) -> Process:
    process = (await session.execute(select(Process).where(Process.slug == slug))).scalar_one_or_none()
    if process is None or not (process.published or include_unpublished):
        raise ParticipationError(N_("Unknown process."), kind="not_found")
    return process


@dataclass(frozen=True)
class Abilities:
    """What citizens may do in a process right now (from its running phase)."""

    phase: Phase | None
    proposals: bool = False
    comments: bool = False
    supports: bool = False
    votes: bool = False

    @classmethod
    def of(cls, phase: Phase | None) -> Abilities:
        if phase is None:
            return cls(None)
        return cls(phase, phase.allows_proposals, phase.allows_comments, phase.allows_supports, phase.allows_votes)


async def abilities(session: AsyncSession, process: Process, now: datetime | None = None) -> Abilities:
    phases = (await phases_of(session, [process.id]))[process.id]
    return Abilities.of(active_phase(phases, now))


@dataclass(frozen=True)
class ProcessOverview:
    """A process with what its pages and the API show about it."""

    process: Process
    phases: list[Phase]
    abilities: Abilities
    categories: list[ProcessCategory]
    scope: list[int]
    proposal_count: int


async def overview(
    session: AsyncSession, processes: Sequence[Process], now: datetime | None = None, with_counts: bool = True
) -> list[ProcessOverview]:
    """Phases, running phase, categories, scope and proposal count of each process (a few queries in all).
    Pages that count the proposals themselves pass `with_counts=False`."""
    ids = [process.id for process in processes]
    phases, categories, scopes = await process_structure(session, ids)
    counts = await process_summaries(session, ids) if with_counts else {}
    return [
        ProcessOverview(
            process,
            phases[process.id],
            Abilities.of(active_phase(phases[process.id], now)),
            categories[process.id],
            [] if process.whole_city else scopes[process.id],
            counts.get(process.id, 0),
        )
        for process in processes
    ]


@dataclass(frozen=True)
class ProcessFrame:
    """What rarely changes about a process: its settings, phases, categories, scope, whether its debate asks
    for an alignment, and its surveys. The citizen pages, supports and comments read it from
    `ProcessFrames` rather than with six queries on every request. Its objects are detached copies: read
    them, never change them."""

    process: Process
    phases: list[Phase]
    categories: list[ProcessCategory]
    scope: list[int]
    alignment_enabled: bool
    surveys: list[Survey]

    def abilities(self, now: datetime | None = None) -> Abilities:
        return Abilities.of(active_phase(self.phases, now))

    def detached(self) -> ProcessFrame:
        return replace(
            self,
            process=detached_copy(self.process),
            phases=[detached_copy(phase) for phase in self.phases],
            categories=[detached_copy(category) for category in self.categories],
            surveys=[detached_copy(survey) for survey in self.surveys],
        )

    def overview(self, proposal_count: int = 0, now: datetime | None = None) -> ProcessOverview:
        return ProcessOverview(
            self.process, self.phases, self.abilities(now), self.categories, self.scope, proposal_count
        )

    def commenting_phase(self, now: datetime | None = None) -> Phase | None:
        return commenting_phase(self.phases, now)


async def load_frame(session: AsyncSession, process: Process) -> ProcessFrame:
    phases, categories, scopes = await process_structure(session, [process.id])
    # The debate's setting and the surveys are their sub-domains' tables: asked through their services.
    return ProcessFrame(
        process,
        phases[process.id],
        categories[process.id],
        [] if process.whole_city else scopes[process.id],
        await debate.alignment_enabled(session, process.id),
        await surveys.list_surveys(session, process.id),
    )


class ProcessFrames:
    """This app process's frames, by process id and slug, each trusted for `revalidate_seconds` after it was
    loaded: an admin's change applies at once in the process that made it (its page calls `forget`),
    within that delay in the others. Published or not, the callers decide who may see a process."""

    MAX_ENTRIES = 1_000

    def __init__(self, revalidate_seconds: float = 0.0) -> None:
        self.revalidate_seconds = revalidate_seconds
        self._frames: dict[int, tuple[ProcessFrame, float]] = {}
        self._ids_by_slug: dict[str, int] = {}
        self._phases: tuple[dict[int, list[Phase]], float] | None = None

    def _fresh(self, process_id: int | None) -> ProcessFrame | None:
        found = self._frames.get(process_id) if process_id is not None else None
        if found is not None and time.monotonic() - found[1] < self.revalidate_seconds:
            return found[0]
        return None

    async def _load(self, session: AsyncSession, process: Process | None) -> ProcessFrame | None:
        if process is None:
            return None
        frame = await load_frame(session, process)
        if self.revalidate_seconds > 0:
            frame = frame.detached()
            if len(self._frames) >= self.MAX_ENTRIES:
                self.forget()
            self._frames[process.id] = (frame, time.monotonic())
            self._ids_by_slug[process.slug] = process.id
        return frame

    async def get(self, session: AsyncSession, process_id: int) -> ProcessFrame | None:
        return self._fresh(process_id) or await self._load(session, await session.get(Process, process_id))

    async def by_slug(self, session: AsyncSession, slug: str) -> ProcessFrame | None:
        frame = self._fresh(self._ids_by_slug.get(slug))
        if frame is not None and frame.process.slug == slug:
            return frame
        process = (await session.execute(select(Process).where(Process.slug == slug))).scalar_one_or_none()
        return await self._load(session, process)

    async def taking_supports(self, session: AsyncSession, now: datetime | None = None) -> list[int]:
        """The processes whose running phase takes supports at `now`, from every process's phases (one
        query, kept as frames are): a support checks its proposal's process against them in its one
        statement, without reading the proposal first."""
        if self._phases is None or time.monotonic() - self._phases[1] >= self.revalidate_seconds:
            ids = list((await session.execute(select(Process.id))).scalars())
            phases = await phases_of(session, ids)
            detached = {process_id: [detached_copy(phase) for phase in listed] for process_id, listed in phases.items()}
            self._phases = (detached, time.monotonic())
        running = ((process_id, active_phase(phases, now)) for process_id, phases in self._phases[0].items())
        return [process_id for process_id, phase in running if phase is not None and phase.allows_supports]

    def forget(self) -> None:
        """Load again on next use (this process just changed a process, its phases, categories or surveys)."""
        self._frames.clear()
        self._ids_by_slug.clear()
        self._phases = None
