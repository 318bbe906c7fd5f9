"""Participation rules: processes and their phases, proposals (submit, edit window, withdraw), supports
(one per person, only while a phase allows them, threshold -> answer required), official answers and
milestones, searching and the map, and the personal-data provider."""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, NamedTuple, TypeVarTuple, cast

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    String,
    Table,
    any_,
    bindparam,
    delete,
    func,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import BindParameter

from citoyen.db import UTCDateTime, detached_copy, one_of, utcnow
from citoyen.i18n import N_
from citoyen.images import PreparedPhoto
from citoyen.participation.debate.models import DebateSettings
from citoyen.participation.models import (
    RANDOM_KEYS,
    Milestone,
    ParticipationImage,
    Phase,
    PhaseKind,
    Process,
    ProcessCategory,
    ProcessNeighbourhood,
    Proposal,
    ProposalAnswer,
    ProposalCount,
    ProposalFollow,
    ProposalStatus,
    Support,
    SupportCount,
)
from citoyen.participation.surveys.models import Survey
from citoyen.people.models import Person
from citoyen.people.registry import PersonalDataProvider, PersonalDataRegistry
from citoyen.people.service import Claim, claim_holds_in_postgresql, claim_holds_now
from citoyen.territory import maplayer
from citoyen.territory import service as territory

Columns = TypeVarTuple("Columns")

PHASE_KIND_LABELS = {
    PhaseKind.INFORMATION: N_("Information"),
    PhaseKind.PROPOSALS: N_("Proposals"),
    PhaseKind.DEBATE: N_("Debate"),
    PhaseKind.VOTING: N_("Voting"),
    PhaseKind.IMPLEMENTATION: N_("Implementation"),
}
STATUS_LABELS = {
    ProposalStatus.PUBLISHED: N_("awaiting an answer"),
    ProposalStatus.EVALUATING: N_("under evaluation"),
    ProposalStatus.ACCEPTED: N_("accepted"),
    ProposalStatus.REJECTED: N_("rejected"),
    ProposalStatus.IN_PROGRESS: N_("in progress"),
    ProposalStatus.DONE: N_("done"),
}
ANSWER_STATUSES = tuple(status for status in ProposalStatus if status is not ProposalStatus.PUBLISHED)
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
TITLE_MIN, TITLE_MAX = 5, 150
BODY_MIN, BODY_MAX = 15, 10_000


class ParticipationError(ValueError):
    """A refused request. `message` is an English msgid (translated on pages); `kind` maps to HTTP:
    invalid -> 400, not_found -> 404, forbidden -> 403, conflict -> 409."""

    def __init__(self, message: str, kind: str = "invalid", field: str = "", **values: Any) -> None:
        super().__init__(message % values if values else message)
        self.message = message
        self.kind = kind
        self.field = field
        self.values = values


def _insert_for(session: AsyncSession) -> Any:
    bind = session.bind
    return pg_insert if bind is not None and bind.dialect.name == "postgresql" else sqlite_insert


# --- processes and phases ---------------------------------------------------------------------


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


async def phases_of(session: AsyncSession, process_ids: Sequence[int]) -> dict[int, list[Phase]]:
    result: dict[int, list[Phase]] = {process_id: [] for process_id in process_ids}
    if process_ids:
        query = select(Phase).where(Phase.process_id.in_(process_ids)).order_by(Phase.process_id, Phase.position)
        for phase in (await session.execute(query)).scalars():
            result[phase.process_id].append(phase)
    return result


async def categories_of(session: AsyncSession, process_id: int) -> list[ProcessCategory]:
    query = select(ProcessCategory).where(ProcessCategory.process_id == process_id).order_by(ProcessCategory.position)
    return list((await session.execute(query)).scalars())


async def scope_of(session: AsyncSession, process: Process) -> list[int]:
    """The neighbourhood ids a process is limited to; empty for a city-wide process."""
    if process.whole_city:
        return []
    query = select(ProcessNeighbourhood.neighbourhood_id).where(ProcessNeighbourhood.process_id == process.id)
    return sorted((await session.execute(query)).scalars())


def active_phase(phases: Sequence[Phase], now: datetime | None = None) -> Phase | None:
    """The phase running at `now` (the earliest-placed one if several overlap)."""
    now = now or utcnow()
    return next((phase for phase in phases if phase.starts_at <= now < phase.ends_at), None)


def commenting_phase(phases: Sequence[Phase], now: datetime | None = None) -> Phase | None:
    """A running phase that takes comments (not necessarily the first running one), if any."""
    now = now or utcnow()
    return next((phase for phase in phases if phase.starts_at <= now < phase.ends_at and phase.allows_comments), None)


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


async def _structure(
    session: AsyncSession, ids: Sequence[int]
) -> tuple[dict[int, list[Phase]], dict[int, list[ProcessCategory]], dict[int, list[int]]]:
    """Phases, categories and neighbourhood scope of these processes (three queries in all)."""
    phases = await phases_of(session, ids)
    categories: dict[int, list[ProcessCategory]] = {process_id: [] for process_id in ids}
    scopes: dict[int, list[int]] = {process_id: [] for process_id in ids}
    if ids:
        category_query = (
            select(ProcessCategory).where(ProcessCategory.process_id.in_(ids)).order_by(ProcessCategory.position)
        )
        for category in (await session.execute(category_query)).scalars():
            categories[category.process_id].append(category)
        scope_query = (
            select(ProcessNeighbourhood)
            .where(ProcessNeighbourhood.process_id.in_(ids))
            .order_by(ProcessNeighbourhood.neighbourhood_id)
        )
        for row in (await session.execute(scope_query)).scalars():
            scopes[row.process_id].append(row.neighbourhood_id)
    return phases, categories, scopes


async def overview(
    session: AsyncSession, processes: Sequence[Process], now: datetime | None = None, with_counts: bool = True
) -> list[ProcessOverview]:
    """Phases, running phase, categories, scope and proposal count of each process (a few queries in all).
    Pages that count the proposals themselves pass `with_counts=False`."""
    ids = [process.id for process in processes]
    phases, categories, scopes = await _structure(session, ids)
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
    phases, categories, scopes = await _structure(session, [process.id])
    alignment = await session.scalar(
        select(DebateSettings.alignment_enabled).where(DebateSettings.process_id == process.id)
    )
    surveys = (
        await session.execute(
            select(Survey).where(Survey.process_id == process.id).order_by(Survey.opens_at.desc(), Survey.id.desc())
        )
    ).scalars()
    return ProcessFrame(
        process,
        phases[process.id],
        categories[process.id],
        [] if process.whole_city else scopes[process.id],
        bool(alignment),
        list(surveys),
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


# --- proposals --------------------------------------------------------------------------------


@dataclass
class ProposalInput:
    title: str
    body: str
    category_id: int | None = None
    lon: float | None = None
    lat: float | None = None
    address: str = ""
    locale: str = "fr"


async def _place(
    session: AsyncSession, cache: territory.TerritoryIndexCache, process: Process, data: ProposalInput
) -> tuple[int | None, dict[int, str] | None]:
    """The neighbourhood and H3 cells of the proposal's place, checked against the process's scope."""
    if (data.lon is None) != (data.lat is None):
        raise ParticipationError(N_("Give both the longitude and the latitude of the place."), field="place")
    if data.lon is None or data.lat is None:
        return None, None
    if not (-180 <= data.lon <= 180 and -90 <= data.lat <= 90):
        raise ParticipationError(N_("This place is not a valid position."), field="place")
    neighbourhood_id = await territory.locate_id(session, cache, data.lon, data.lat)
    if neighbourhood_id is None:
        raise ParticipationError(N_("This place is outside the city."), field="place")
    scope = await scope_of(session, process)
    if scope and neighbourhood_id not in scope:
        raise ParticipationError(N_("This place is outside the neighbourhoods this process is about."), field="place")
    return neighbourhood_id, territory.h3_cells(data.lon, data.lat)


async def _check_proposal(session: AsyncSession, process: Process, data: ProposalInput) -> None:
    data.title = " ".join(data.title.split())
    data.body = data.body.strip()
    if not TITLE_MIN <= len(data.title) <= TITLE_MAX:
        raise ParticipationError(
            N_("The title must be %(low)d to %(high)d characters long."), field="title", low=TITLE_MIN, high=TITLE_MAX
        )
    if not BODY_MIN <= len(data.body) <= BODY_MAX:
        raise ParticipationError(
            N_("The proposal must be %(low)d to %(high)d characters long."), field="body", low=BODY_MIN, high=BODY_MAX
        )
    if data.category_id is not None:
        owner = await session.scalar(select(ProcessCategory.process_id).where(ProcessCategory.id == data.category_id))
        if owner != process.id:
            raise ParticipationError(N_("Choose one of the categories of this process."), field="category")


async def submit_proposal(
    session: AsyncSession,
    cache: territory.TerritoryIndexCache,
    process: Process,
    author: Person,
    data: ProposalInput,
    image: PreparedPhoto | None = None,
    now: datetime | None = None,
) -> Proposal:
    """A citizen's new proposal, only while a phase of the process accepts them; the author follows it."""
    now = now or utcnow()
    if not (await abilities(session, process, now)).proposals:
        raise ParticipationError(N_("This process does not accept proposals at the moment."), kind="forbidden")
    await _check_proposal(session, process, data)
    neighbourhood_id, cells = await _place(session, cache, process, data)
    proposal = Proposal(
        process_id=process.id,
        author_id=author.id,
        category_id=data.category_id,
        title=data.title,
        body=data.body,
        locale=data.locale if data.locale in ("fr", "en") else "fr",
        lon=data.lon,
        lat=data.lat,
        address=data.address.strip()[:300],
        neighbourhood_id=neighbourhood_id,
        h3_r6=cells[6] if cells else None,
        h3_r8=cells[8] if cells else None,
        h3_r10=cells[10] if cells else None,
        created_at=now,
        updated_at=now,
        comment_count=0,
    )
    if image is not None:
        proposal.image_id = await _store_image(session, image)
    session.add(proposal)
    await session.flush()
    await add_support_count(session, proposal)
    session.add(ProposalFollow(proposal_id=proposal.id, person_id=author.id, created_at=now))
    await session.flush()
    # Imported here: following (debate module) tells the followers of the process and neighbourhood.
    from citoyen.participation.follows import service as follows

    await follows.proposal_published(session, proposal)
    return proposal


async def _store_image(session: AsyncSession, image: PreparedPhoto) -> int:
    stored = ParticipationImage(
        content=image.content, media_type=image.media_type, width=image.width, height=image.height
    )
    session.add(stored)
    await session.flush()
    return stored.id


async def get_image(session: AsyncSession, image_id: int) -> ParticipationImage:
    image = await session.get(ParticipationImage, image_id)
    if image is None:
        raise ParticipationError(N_("Unknown image."), kind="not_found")
    return image


async def get_proposal(session: AsyncSession, proposal_id: int, include_hidden: bool = False) -> Proposal:
    proposal = await session.get(Proposal, proposal_id)
    if proposal is None or (proposal.hidden_at is not None and not include_hidden):
        raise ParticipationError(N_("Unknown proposal."), kind="not_found")
    return proposal


def edit_deadline(process: Process, proposal: Proposal) -> datetime:
    return proposal.created_at + timedelta(minutes=process.edit_window_minutes)


def can_edit(process: Process, proposal: Proposal, person: Person | None, now: datetime | None = None) -> bool:
    return (
        person is not None
        and proposal.author_id == person.id
        and proposal.withdrawn_at is None
        and proposal.status is ProposalStatus.PUBLISHED
        and (now or utcnow()) <= edit_deadline(process, proposal)
    )


async def edit_proposal(
    session: AsyncSession,
    cache: territory.TerritoryIndexCache,
    process: Process,
    proposal: Proposal,
    person: Person,
    data: ProposalInput,
    image: PreparedPhoto | None = None,
    now: datetime | None = None,
) -> Proposal:
    """The author changes their proposal, only within the process's editing window after submitting."""
    now = now or utcnow()
    if proposal.author_id != person.id:
        raise ParticipationError(N_("Only the author may change a proposal."), kind="forbidden")
    if proposal.withdrawn_at is not None:
        raise ParticipationError(N_("This proposal was withdrawn."), kind="conflict")
    if not can_edit(process, proposal, person, now):
        raise ParticipationError(
            N_("A proposal can be changed only during the %(minutes)d minutes after it was submitted."),
            kind="forbidden",
            minutes=process.edit_window_minutes,
        )
    await _check_proposal(session, process, data)
    neighbourhood_id, cells = await _place(session, cache, process, data)
    proposal.title = data.title
    proposal.body = data.body
    proposal.category_id = data.category_id
    proposal.lon, proposal.lat = data.lon, data.lat
    proposal.address = data.address.strip()[:300]
    proposal.neighbourhood_id = neighbourhood_id
    proposal.h3_r6 = cells[6] if cells else None
    proposal.h3_r8 = cells[8] if cells else None
    proposal.h3_r10 = cells[10] if cells else None
    if image is not None:
        proposal.image_id = await _store_image(session, image)
    proposal.updated_at = now
    await session.flush()
    return proposal


async def add_support_count(session: AsyncSession, proposal: Proposal) -> None:
    """A new proposal's row of support counts (every proposal has one), at zero."""
    session.add(SupportCount(proposal_id=proposal.id, process_id=proposal.process_id, support_count=0))
    await session.flush()
    set_committed_value(proposal, "support_count", 0)


async def withdraw_proposal(session: AsyncSession, proposal: Proposal, person: Person) -> None:
    """The author takes their proposal back: it stays readable, marked withdrawn, and takes no more supports."""
    if proposal.author_id != person.id:
        raise ParticipationError(N_("Only the author may withdraw a proposal."), kind="forbidden")
    if proposal.withdrawn_at is not None:
        raise ParticipationError(N_("This proposal was already withdrawn."), kind="conflict")
    proposal.withdrawn_at = utcnow()
    proposal.updated_at = proposal.withdrawn_at
    await session.flush()


# --- supports ---------------------------------------------------------------------------------


class SupportTarget(NamedTuple):
    """What taking or withdrawing a support needs of a proposal, and what its support box shows: read
    without the ORM, a support being the busiest write."""

    id: int
    process_id: int
    withdrawn_at: datetime | None
    hidden_at: datetime | None
    support_count: int


_PROPOSALS, _COUNTS = cast(Table, Proposal.__table__), cast(Table, SupportCount.__table__)


def _support_target(count: ColumnElement[int]) -> Select[Any]:
    """A SupportTarget's columns, in its order, the count taken from `count`."""
    return select(_PROPOSALS.c.id, _PROPOSALS.c.process_id, _PROPOSALS.c.withdrawn_at, _PROPOSALS.c.hidden_at, count)


SUPPORT_TARGET = (
    _support_target(_COUNTS.c.support_count)
    .join_from(_PROPOSALS, _COUNTS, _COUNTS.c.proposal_id == _PROPOSALS.c.id)
    .where(_PROPOSALS.c.id == bindparam("proposal"))
)


async def get_support_target(session: AsyncSession, proposal_id: int) -> SupportTarget:
    """A proposal as the support box shows it, hidden or not."""
    row = (await session.execute(SUPPORT_TARGET, {"proposal": proposal_id})).one_or_none()
    if row is None:
        raise ParticipationError(N_("Unknown proposal."), kind="not_found")
    return SupportTarget(*row)


SIGNED_OUT = N_("Log in to support this proposal")


async def _refusal(
    session: AsyncSession, proposal_id: int, claim: Claim, now: datetime | None, frames: ProcessFrames | None
) -> ParticipationError | None:
    """Why a proposal takes no support (or withdrawal) now from this person, if it does not: the support
    statements check the same rules in the database, and this names the one that refused."""
    if not await claim_holds_now(session, claim):
        return ParticipationError(SIGNED_OUT, kind="signed_out")
    proposal = await get_support_target(session, proposal_id)
    if proposal.withdrawn_at is not None or proposal.hidden_at is not None:
        return ParticipationError(N_("This proposal can no longer be supported."), kind="conflict")
    if proposal.process_id not in await _taking_supports(session, now, frames):
        return ParticipationError(N_("Supports are not open in this process at the moment."), kind="forbidden")
    return None


async def _taking_supports(session: AsyncSession, now: datetime | None, frames: ProcessFrames | None) -> list[int]:
    return await (frames or ProcessFrames()).taking_supports(session, now)


def _takes_supports(postgresql: bool) -> tuple[ColumnElement[bool], ...]:
    """A proposal takes supports (and their withdrawal) from the person asking: visible, not withdrawn, in
    one of the `open` processes. PostgreSQL receives them as one array, a statement the same for any
    number of them, and checks the person's claim too (SQLite's caller reads the account first)."""
    visible = (_PROPOSALS.c.hidden_at.is_(None), _PROPOSALS.c.withdrawn_at.is_(None))
    if not postgresql:
        return (*visible, _PROPOSALS.c.process_id.in_(bindparam("open", expanding=True)))
    return (
        *visible,
        _PROPOSALS.c.process_id == any_(bindparam("open", type_=ARRAY(Integer))),
        claim_holds_in_postgresql(
            bindparam("person", type_=Integer), bindparam("stamp", type_=String), bindparam("session", type_=String)
        ),
    )


class _SupportStatements(NamedTuple):
    """A support's (or withdrawal's) statements, built once: a support is the busiest write, and building
    them cost as much as running them. PostgreSQL runs `in_one`, which checks who is asking, writes,
    counts and returns the SupportTarget in one round trip; SQLite reads the account, then runs `write`,
    then (if it wrote) `count`, then `mark`."""

    in_one: Any
    write: Any
    count: Any
    mark: Any | None


def _counted(delta: int, proposal_id: ColumnElement[int]) -> Any:
    """Moves the proposal's count in one atomic UPDATE, so concurrent supports never lose an increment."""
    return (
        update(_COUNTS)
        .values(support_count=_COUNTS.c.support_count + delta)
        .where(_COUNTS.c.proposal_id == proposal_id)
        .returning(_COUNTS.c.proposal_id, _COUNTS.c.support_count)
    )


def _marked(proposal_id: ColumnElement[int], count: ColumnElement[int]) -> Any:
    """Reaching the process's threshold marks a proposal still awaiting an answer (`count >= NULL`, a
    process without threshold, is never true)."""
    processes = cast(Table, Process.__table__)
    threshold = select(processes.c.support_threshold).where(processes.c.id == _PROPOSALS.c.process_id)
    return (
        update(_PROPOSALS)
        .values(answer_required=True)
        .where(
            _PROPOSALS.c.id == proposal_id,
            _PROPOSALS.c.status == ProposalStatus.PUBLISHED.value,
            _PROPOSALS.c.answer_required.is_(False),
            count >= threshold.scalar_subquery(),
        )
    )


def _in_one(written: Any, delta: int, mark: bool) -> Any:
    """PostgreSQL: the write, the count (moving only if the write took a row), the mark and the answer, in
    one statement of data-modifying CTEs."""
    counted = _counted(delta, written.c.proposal_id).cte("counted")
    answer = _support_target(counted.c.support_count).join_from(
        _PROPOSALS, counted, counted.c.proposal_id == _PROPOSALS.c.id
    )
    return answer.add_cte(_marked(counted.c.proposal_id, counted.c.support_count).cte("marked")) if mark else answer


def _support_statements() -> _SupportStatements:
    """Parameters: proposal, person, stamp, at, open (the processes taking supports now); SQLite's `mark`
    also count. The support is added only to a visible proposal of an open process, so one statement
    checks and writes."""
    supports = cast(Table, Support.__table__)

    def added(insert: Any) -> Any:
        supportable = select(
            _PROPOSALS.c.id, bindparam("person", type_=Integer), bindparam("at", type_=UTCDateTime())
        ).where(_PROPOSALS.c.id == bindparam("proposal"), *_takes_supports(insert is pg_insert))
        return (
            insert(supports)
            .from_select(["proposal_id", "person_id", "created_at"], supportable)
            .on_conflict_do_nothing(index_elements=["proposal_id", "person_id"])
            .returning(supports.c.proposal_id)
        )

    proposal = bindparam("proposal", type_=Integer)
    return _SupportStatements(
        in_one=_in_one(added(pg_insert).cte("added"), 1, mark=True),
        write=added(sqlite_insert),
        count=_counted(1, proposal),
        mark=_marked(proposal, bindparam("count", type_=Integer)),
    )


def _withdrawal_statements() -> _SupportStatements:
    """As `_support_statements`, for taking a support back. Parameters: proposal, person, stamp, open."""
    supports = cast(Table, Support.__table__)

    def removed(postgresql: bool) -> Any:
        withdrawable = (
            select(_PROPOSALS.c.id)
            .where(_PROPOSALS.c.id == bindparam("proposal"), *_takes_supports(postgresql))
            .scalar_subquery()
        )
        return (
            delete(supports)
            .where(supports.c.proposal_id == withdrawable, supports.c.person_id == bindparam("person"))
            .returning(supports.c.proposal_id)
        )

    return _SupportStatements(
        in_one=_in_one(removed(postgresql=True).cte("removed"), -1, mark=False),
        write=removed(postgresql=False),
        count=_counted(-1, bindparam("proposal", type_=Integer)),
        mark=None,
    )


SUPPORTING, WITHDRAWING = _support_statements(), _withdrawal_statements()


async def _write_then_count(
    session: AsyncSession, statements: _SupportStatements, claim: Claim, values: dict[str, Any]
) -> Any:
    """Run a support's (or withdrawal's) statements; the proposal's SupportTarget row, or None when
    nothing was written."""
    values |= {"person": claim.person_id, "stamp": claim.stamp, "session": claim.session}
    if _insert_for(session) is pg_insert:
        return (await session.execute(statements.in_one, values)).one_or_none()
    if not await claim_holds_now(session, claim):
        return None
    if await session.scalar(statements.write, values) is None:
        return None
    _, count = (await session.execute(statements.count, values)).one()
    if statements.mark is not None:
        await session.execute(statements.mark, values | {"count": count})
    return (await session.execute(SUPPORT_TARGET, values)).one()


async def support(
    session: AsyncSession,
    proposal_id: int,
    claim: Claim,
    now: datetime | None = None,
    frames: ProcessFrames | None = None,
) -> SupportTarget:
    """Record the support of the person a signed session claims to be, if the claim still holds (else
    kind "signed_out"), and return the proposal with its new count; a second support is refused (by the
    unique constraint) and reaching the process's threshold marks the proposal for an official answer.
    Pages pass their cached frames: this runs on every support."""
    values = {"proposal": proposal_id, "at": now or utcnow(), "open": await _taking_supports(session, now, frames)}
    row = await _write_then_count(session, SUPPORTING, claim, values)
    if row is None:
        raise await _refusal(session, proposal_id, claim, now, frames) or ParticipationError(
            N_("You already support this proposal."), kind="conflict"
        )
    return SupportTarget(*row)


async def withdraw_support(
    session: AsyncSession,
    proposal_id: int,
    claim: Claim,
    now: datetime | None = None,
    frames: ProcessFrames | None = None,
) -> SupportTarget:
    """Take a support back, while the phase still allows supports, as `support` checks who is asking;
    returns the proposal with its new count."""
    values = {"proposal": proposal_id, "open": await _taking_supports(session, now, frames)}
    row = await _write_then_count(session, WITHDRAWING, claim, values)
    if row is None:
        raise await _refusal(session, proposal_id, claim, now, frames) or ParticipationError(
            N_("You do not support this proposal."), kind="conflict"
        )
    return SupportTarget(*row)


async def supported_ids(session: AsyncSession, person_id: int | None, proposal_ids: Sequence[int]) -> set[int]:
    """Which of these proposals the person supports (for the buttons on lists and pages)."""
    if person_id is None or not proposal_ids:
        return set()
    query = select(Support.proposal_id).where(
        Support.person_id == person_id, one_of(session, Support.proposal_id, proposal_ids)
    )
    return set((await session.execute(query)).scalars())


# --- official answers and accountability ------------------------------------------------------


async def answer_proposal(
    session: AsyncSession,
    staff: Person,
    proposal: Proposal,
    status: ProposalStatus,
    text: str = "",
    progress: int | None = None,
) -> ProposalAnswer:
    """Staff answer a proposal officially; the author and followers are told in the app."""
    if not staff.is_staff:
        raise ParticipationError(N_("Only staff may answer proposals."), kind="forbidden")
    if status not in ANSWER_STATUSES:
        raise ParticipationError(N_("Choose the status of the answer."), field="status")
    text = text.strip()
    if status is ProposalStatus.REJECTED and not text:
        raise ParticipationError(N_("Say why the proposal is rejected."), field="text")
    if progress is not None and not 0 <= progress <= 100:
        raise ParticipationError(N_("The progress is a percentage between 0 and 100."), field="progress")
    if status is ProposalStatus.DONE:
        progress = 100
    elif status is ProposalStatus.IN_PROGRESS and progress is None:
        progress = proposal.progress or 0
    elif status not in (ProposalStatus.IN_PROGRESS, ProposalStatus.DONE):
        progress = None
    now = utcnow()
    answer = ProposalAnswer(
        proposal_id=proposal.id, status=status, text=text, progress=progress, answered_by_id=staff.id, created_at=now
    )
    session.add(answer)
    proposal.status = status
    proposal.progress = progress
    proposal.answer_required = False
    proposal.answered_at = now
    proposal.updated_at = now
    await session.flush()
    await notify_followers(session, proposal, text)
    return answer


async def add_milestone(
    session: AsyncSession,
    staff: Person,
    proposal: Proposal,
    title: str,
    progress: int,
    description: str = "",
    happened_on: datetime | None = None,
) -> Milestone:
    """A step in carrying out an accepted proposal; it moves the proposal's progress (and to in progress)."""
    if not staff.is_staff:
        raise ParticipationError(N_("Only staff may record milestones."), kind="forbidden")
    if proposal.status not in (ProposalStatus.ACCEPTED, ProposalStatus.IN_PROGRESS, ProposalStatus.DONE):
        raise ParticipationError(N_("Milestones are for accepted proposals."), kind="conflict")
    if not title.strip():
        raise ParticipationError(N_("A milestone needs a title."), field="milestone_title")
    if not 0 <= progress <= 100:
        raise ParticipationError(N_("The progress is a percentage between 0 and 100."), field="milestone_progress")
    milestone = Milestone(
        proposal_id=proposal.id,
        title=title.strip()[:200],
        description=description.strip(),
        progress=progress,
        happened_on=happened_on or utcnow(),
        created_by_id=staff.id,
    )
    session.add(milestone)
    proposal.progress = progress
    if progress >= 100:
        proposal.status = ProposalStatus.DONE
    elif proposal.status is ProposalStatus.ACCEPTED:
        proposal.status = ProposalStatus.IN_PROGRESS
    proposal.updated_at = utcnow()
    await session.flush()
    await notify_followers(session, proposal, milestone.title)
    return milestone


async def answers_of(session: AsyncSession, proposal_id: int) -> list[ProposalAnswer]:
    query = select(ProposalAnswer).where(ProposalAnswer.proposal_id == proposal_id).order_by(ProposalAnswer.id)
    return list((await session.execute(query)).scalars())


async def milestones_of(session: AsyncSession, proposal_id: int) -> list[Milestone]:
    query = select(Milestone).where(Milestone.proposal_id == proposal_id).order_by(Milestone.happened_on, Milestone.id)
    return list((await session.execute(query)).scalars())


async def notify_followers(session: AsyncSession, proposal: Proposal, body: str) -> None:
    """Tell the author and every follower, each in their language, that the proposal's status changed."""
    # Imported here: following (debate module) words the news and queues it for e-mail digests.
    from citoyen.participation.follows import service as follows

    def wording(_: Callable[[str], str]) -> str:
        return _("Your followed proposal “%(title)s” is now: %(status)s") % {
            "title": proposal.title,
            "status": _(STATUS_LABELS[proposal.status]),
        }

    await follows.proposal_changed(session, proposal, wording, body)


async def answer_queue(session: AsyncSession, limit: int = 200) -> list[Proposal]:
    """Proposals waiting for an official answer: those over their threshold first, then the most supported
    unanswered ones of processes whose proposals phase has started."""
    query = (
        with_support_counts(select(Proposal))
        .where(
            Proposal.status == ProposalStatus.PUBLISHED,
            Proposal.withdrawn_at.is_(None),
            Proposal.hidden_at.is_(None),
        )
        .order_by(Proposal.answer_required.desc(), SupportCount.support_count.desc(), Proposal.id)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def count_answer_required(session: AsyncSession) -> int:
    query = select(func.count()).where(
        Proposal.answer_required.is_(True), Proposal.withdrawn_at.is_(None), Proposal.hidden_at.is_(None)
    )
    return int(await session.scalar(query) or 0)


# --- searching and the map --------------------------------------------------------------------


@dataclass
class ProposalFilters:
    process_id: int | None = None
    neighbourhood_id: int | None = None
    category_id: int | None = None
    statuses: list[ProposalStatus] | None = None
    text: str = ""
    include_withdrawn: bool = False
    bbox: tuple[float, float, float, float] | None = None
    answer_required: bool | None = None


SORTS = ("recent", "supports", "comments", "random")


def _keyed(
    query: Select[*Columns], filters: ProposalFilters, table: type[Proposal] | type[ProposalCount]
) -> Select[*Columns]:
    """The filters both the proposals and their counts know: process, neighbourhood, category, status."""
    if filters.process_id is not None:
        query = query.where(table.process_id == filters.process_id)
    if filters.neighbourhood_id is not None:
        query = query.where(table.neighbourhood_id == filters.neighbourhood_id)
    if filters.category_id is not None:
        query = query.where(table.category_id == filters.category_id)
    if filters.statuses:
        query = query.where(table.status.in_(filters.statuses))
    return query


def _filtered(query: Select[*Columns], filters: ProposalFilters) -> Select[*Columns]:
    query = _keyed(query.where(Proposal.hidden_at.is_(None)), filters, Proposal)
    if not filters.include_withdrawn:
        query = query.where(Proposal.withdrawn_at.is_(None))
    if filters.answer_required is not None:
        query = query.where(Proposal.answer_required.is_(filters.answer_required))
    if filters.bbox is not None:
        # Sent as literals: with parameters, PostgreSQL's generic plan (chosen after a few runs of a prepared
        # statement) takes any box for a tiny one and walks the lon/lat index of the whole process (100 ms
        # instead of 4 for a neighbourhood's points).
        bounds: list[BindParameter[float]] = [
            bindparam(None, value, Float, literal_execute=True) for value in filters.bbox
        ]
        min_lon, min_lat, max_lon, max_lat = bounds
        query = query.where(Proposal.lon.between(min_lon, max_lon), Proposal.lat.between(min_lat, max_lat))
    words = filters.text.strip().lower()
    if words:
        query = query.where(
            or_(
                func.lower(Proposal.title).contains(words, autoescape=True),
                func.lower(Proposal.body).contains(words, autoescape=True),
            )
        )
    return query


def with_support_counts(query: Select[*Columns]) -> Select[*Columns]:
    """Proposals joined to their support counts, to order by them."""
    return query.join(SupportCount, SupportCount.proposal_id == Proposal.id)


def _order(sort: str) -> tuple[ColumnElement[Any], ...]:
    if sort == "supports":
        return (Proposal.support_count.desc(), Proposal.id.desc())
    if sort == "comments":
        return (Proposal.comment_count.desc(), Proposal.id.desc())
    return (Proposal.created_at.desc(), Proposal.id.desc())


def _whole_process(filters: ProposalFilters, placed_only: bool) -> bool:
    """Whether the filters keep every visible proposal of one process."""
    narrowing = (filters.neighbourhood_id, filters.category_id, filters.statuses, filters.bbox, filters.answer_required)
    return (
        filters.process_id is not None
        and not filters.text.strip()
        and not placed_only
        and not any(value is not None and value != [] for value in narrowing)
    )


async def search_proposals(
    session: AsyncSession,
    filters: ProposalFilters,
    sort: str = "recent",
    seed: int = 0,
    limit: int = 20,
    offset: int = 0,
    placed_only: bool = False,
) -> list[Proposal]:
    if sort == "random":
        return await _shuffled(session, filters, seed, limit, offset, placed_only)
    query = _filtered(select(Proposal), filters)
    order = _order(sort)
    if sort == "supports" and _whole_process(filters, placed_only):
        # A walk down the process's ranking index. Narrower filters (a neighbourhood, a status) read their
        # own index and sort what they found: walking the whole ranking to skip the others read all of it
        # when few match (168 ms for "accepted in one neighbourhood", against 3).
        query = with_support_counts(query).where(SupportCount.process_id == filters.process_id)
        order = (SupportCount.support_count.desc(), SupportCount.proposal_id.desc())
    query = query.order_by(*order).limit(limit).offset(offset)
    if placed_only:
        query = query.where(Proposal.lon.is_not(None))
    return list((await session.execute(query)).scalars())


async def _shuffled(
    session: AsyncSession, filters: ProposalFilters, seed: int, limit: int, offset: int, placed_only: bool
) -> list[Proposal]:
    """The "random" order, the same for a seed on every page: proposals by their random key, from a point
    the seed picks, wrapping round to the lowest keys. Each half is a walk along the index of visible
    proposals by key, read no further than the page (a shuffle of all ids would sort the whole process
    on every page)."""
    start = (seed * 1_103_515_245 + 12_345) % RANDOM_KEYS
    wanted = offset + limit

    def half(part: int, condition: ColumnElement[bool]) -> Select[tuple[int, int, int]]:
        query = _filtered(select(Proposal.id, Proposal.random_key, literal(part).label("part")), filters)
        if placed_only:
            query = query.where(Proposal.lon.is_not(None))
        walked = query.where(condition).order_by(Proposal.random_key, Proposal.id).limit(wanted).subquery()
        return select(walked)

    both = union_all(half(0, Proposal.random_key >= start), half(1, Proposal.random_key < start)).subquery()
    page = (
        select(both.c.id, both.c.part, both.c.random_key)
        .order_by(both.c.part, both.c.random_key, both.c.id)
        .limit(limit)
        .offset(offset)
        .subquery()
    )
    query = select(Proposal).join(page, Proposal.id == page.c.id).order_by(page.c.part, page.c.random_key, page.c.id)
    return list((await session.execute(query)).scalars())


def _countable(filters: ProposalFilters) -> bool:
    """Whether the counts table can answer: it knows visible proposals by process, neighbourhood, category,
    status and cell (a bounding box is left to the map, which draws the cells it shows)."""
    return not filters.text.strip() and not filters.include_withdrawn and filters.answer_required is None


async def count_proposals(session: AsyncSession, filters: ProposalFilters, at_most: int | None = None) -> int:
    """How many proposals match. The counts table answers the usual filters; others (words) are counted
    row by row, and with `at_most` no further than one beyond it: a common word matches tens of
    thousands of proposals, and counting them all read the whole table on every search."""
    if _countable(filters) and filters.bbox is None:
        total = _keyed(select(func.coalesce(func.sum(ProposalCount.count), 0)), filters, ProposalCount)
        return int(await session.scalar(total) or 0)
    if at_most is not None:
        matching = _filtered(select(Proposal.id), filters).limit(at_most + 1).subquery()
        return int(await session.scalar(select(func.count()).select_from(matching)) or 0)
    return int(await session.scalar(_filtered(select(func.count()).select_from(Proposal), filters)) or 0)


async def map_layer(session: AsyncSession, filters: ProposalFilters, zoom: int) -> dict[str, Any]:
    """What the map draws: proposal counts per H3 cell when zoomed out (grouped in the database, so the
    answer stays small with 100,000 proposals), each placed proposal when zoomed in, or counts per ~100 m
    cell when a close-up view is crowded."""
    if zoom >= maplayer.POINTS_FROM_ZOOM:
        placed = Proposal.lon.is_not(None)
        if zoom < maplayer.ALL_POINTS_ZOOM:
            # Counted first: a crowded view is answered by this one grouped query.
            dense = _filtered(select(Proposal.h3_r10, func.count()), filters).where(placed).group_by(Proposal.h3_r10)
            crowded = maplayer.crowded_cells_layer([(row[0], row[1]) for row in await session.execute(dense)])
            if crowded is not None:
                return crowded
        query = _filtered(
            select(Proposal.id, Proposal.lon, Proposal.lat, Proposal.status, Proposal.title, Proposal.support_count),
            filters,
        ).where(placed)
        rows = (await session.execute(query.order_by(Proposal.id.desc()).limit(maplayer.MAX_POINTS))).all()
        return maplayer.points_layer(
            [
                {
                    "id": row.id,
                    "lon": row.lon,
                    "lat": row.lat,
                    "status": row.status.value,
                    "title": row.title,
                    "supports": row.support_count,
                    "url": f"/participation/proposals/{row.id}",
                }
                for row in rows
            ]
        )
    resolution = maplayer.cell_resolution(zoom)
    cell_query: Select[str | None, int]
    if _countable(filters):
        counted = ProposalCount.h3_r6 if resolution == 6 else ProposalCount.h3_r8
        total = func.sum(ProposalCount.count)
        cell_query = (
            _keyed(select(counted, total), filters, ProposalCount)
            .where(counted != "")
            .group_by(counted)
            .having(total > 0)
        )
    else:
        column = Proposal.h3_r6 if resolution == 6 else Proposal.h3_r8
        cell_query = _filtered(select(column, func.count()), filters).where(column.is_not(None)).group_by(column)
    return maplayer.cells_layer(((row[0], row[1]) for row in (await session.execute(cell_query)).all()), resolution)


async def author_names(session: AsyncSession, author_ids: Sequence[int | None]) -> dict[int, str]:
    """Public pseudonyms of authors (display names are public by design)."""
    ids = {author_id for author_id in author_ids if author_id is not None}
    if not ids:
        return {}
    rows = (await session.execute(select(Person.id, Person.display_name).where(one_of(session, Person.id, ids)))).all()
    return {row[0]: row[1] for row in rows}


async def process_summaries(session: AsyncSession, process_ids: Sequence[int]) -> dict[int, int]:
    """How many visible proposals each process has."""
    if not process_ids:
        return {}
    query = (
        select(ProposalCount.process_id, func.sum(ProposalCount.count))
        .where(ProposalCount.process_id.in_(process_ids))
        .group_by(ProposalCount.process_id)
    )
    return {row[0]: int(row[1]) for row in (await session.execute(query)).all() if row[1]}


# --- personal data ----------------------------------------------------------------------------


async def _export(session: AsyncSession, person: Person) -> dict[str, list[dict[str, Any]]]:
    proposals = (
        await session.execute(select(Proposal).where(Proposal.author_id == person.id).order_by(Proposal.id))
    ).scalars()
    supports = (
        await session.execute(select(Support).where(Support.person_id == person.id).order_by(Support.id))
    ).scalars()
    follows = (await session.execute(select(ProposalFollow).where(ProposalFollow.person_id == person.id))).scalars()
    return {
        "proposals_written": [
            {
                "proposal_id": p.id,
                "process_id": p.process_id,
                "title": p.title,
                "body": p.body,
                "lon": p.lon,
                "lat": p.lat,
                "address": p.address,
                "created_at": p.created_at.isoformat(),
                "withdrawn_at": p.withdrawn_at.isoformat() if p.withdrawn_at else None,
            }
            for p in proposals
        ],
        "proposals_supported": [{"proposal_id": s.proposal_id, "at": s.created_at.isoformat()} for s in supports],
        "proposals_followed": [{"proposal_id": f.proposal_id, "since": f.created_at.isoformat()} for f in follows],
    }


async def _erase(session: AsyncSession, person: Person) -> None:
    """Proposals stay (the debate needs them) but no longer say who wrote them; supports go, and with them
    the counts they made."""
    supported = select(Support.proposal_id).where(Support.person_id == person.id)
    await session.execute(
        update(SupportCount)
        .where(SupportCount.proposal_id.in_(supported))
        .values(support_count=SupportCount.support_count - 1)
        .execution_options(synchronize_session=False)
    )
    await session.execute(delete(Support).where(Support.person_id == person.id))
    await session.execute(delete(ProposalFollow).where(ProposalFollow.person_id == person.id))
    await session.execute(
        update(Proposal)
        .where(Proposal.author_id == person.id)
        .values(author_id=None)
        .execution_options(synchronize_session=False)
    )


def register_personal_data(registry: PersonalDataRegistry) -> None:
    registry.register(
        PersonalDataProvider(
            domain="participation",
            description=N_(
                "the proposals you wrote (kept, signed “deleted participant” after erasure), supported and followed"
            ),
            export=_export,
            erase=_erase,
        )
    )
