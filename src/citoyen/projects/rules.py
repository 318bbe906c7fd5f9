"""The rules of a project's life: creating and editing it (its place checked against the city, its neighbourhoods
derived, its phases dated, its links to participation checked), its documents, the staff's updates, citizens'
questions and the departments' answers, feedback and its moderation, follows; and who hears of what (followers are
told in the transaction of the update or answer, through the domain events this module announces)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.events import EventHub, FollowedNewsTold, ProjectQuestionAnswered, ProjectUpdatePosted, announce
from citoyen.i18n import N_, localized
from citoyen.images import PhotoError, prepare_photo
from citoyen.notifications import service as notifications
from citoyen.participation import service as participation
from citoyen.people import service as people
from citoyen.people.service import Person, Role
from citoyen.projects.errors import ProjectError
from citoyen.projects.geometry import Place, place_of
from citoyen.projects.mapcache import bump_map_version
from citoyen.projects.models import (
    FeedbackKind,
    Phase,
    Project,
    ProjectDocument,
    ProjectFeedback,
    ProjectFeedbackFlag,
    ProjectFollow,
    ProjectNeighbourhood,
    ProjectPhase,
    ProjectQuestion,
    ProjectUpdate,
    Theme,
)
from citoyen.territory import service as territory

STAFF_ROLES = (Role.STAFF, Role.ADMIN)
MODERATOR_ROLES = (Role.MODERATOR, Role.STAFF, Role.ADMIN)
MAX_TITLE = 200
MAX_TEXT = 20_000
MAX_QUESTION = 2_000
MAX_FEEDBACK = 500
MAX_REASON = 300
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
MAX_BUDGET_CENTS = 10**15
PDF_MAGIC = b"%PDF-"

PHASE_LABELS: dict[str, str] = {
    Phase.STUDY: N_("Study"),
    Phase.CONSULTATION: N_("Consultation"),
    Phase.WORKS: N_("Works"),
    Phase.DELIVERED: N_("Delivered"),
}
THEME_LABELS: dict[str, str] = {
    Theme.CYCLING: N_("Cycling"),
    Theme.MOBILITY: N_("Streets and mobility"),
    Theme.GREENERY: N_("Greenery"),
    Theme.PUBLIC_SPACE: N_("Squares and public space"),
    Theme.SCHOOL: N_("Schools"),
    Theme.SPORT: N_("Sport"),
    Theme.CULTURE: N_("Culture"),
    Theme.WATER: N_("Water"),
    Theme.ENERGY: N_("Energy"),
    Theme.HOUSING: N_("Housing"),
}
FEEDBACK_LABELS: dict[str, str] = {FeedbackKind.USEFUL: N_("Useful"), FeedbackKind.WORRIED: N_("Worried about…")}

OUTSIDE_CITY = N_("This place is not within the city: draw it inside the city's limits.")
NOT_A_PDF = N_("This file claims to be a PDF but is not one.")
DOCUMENT_TOO_LARGE = N_("A document may be at most 20 MB.")
NOT_A_DOCUMENT = N_("A document is a PDF or an image (JPEG, PNG, WebP or HEIC).")
UNKNOWN_PROJECT = N_("Unknown project.")


def is_staff(person: Person | None) -> bool:
    return person is not None and person.role in STAFF_ROLES


def is_moderator(person: Person | None) -> bool:
    return person is not None and person.role in MODERATOR_ROLES


def _require_staff(person: Person) -> None:
    if not is_staff(person):
        raise ProjectError(N_("Only the city's staff may do this."), kind="forbidden")


def _text(value: str, limit: int, field_name: str, required: bool = True) -> str:
    value = value.strip()
    if required and not value:
        raise ProjectError(N_("This field is required."), field=field_name)
    if len(value) > limit:
        raise ProjectError(N_("This text is too long (at most %(limit)d characters)."), field=field_name, limit=limit)
    return value


# --- creating and editing -------------------------------------------------------------------------


@dataclass(frozen=True)
class PhaseInput:
    kind: str
    starts_on: date
    ends_on: date | None = None


@dataclass
class ProjectInput:
    title: str
    theme: str
    phase: str
    geometry: str | dict[str, Any]
    title_en: str = ""
    description: str = ""
    description_en: str = ""
    phases: list[PhaseInput] = field(default_factory=list)
    budget_cents: int | None = None
    department_id: int | None = None
    process_id: int | None = None
    proposal_ids: list[int] = field(default_factory=list)
    demo: bool = False


@dataclass(frozen=True)
class Checked:
    """A project's input once every rule passed: nothing is written before."""

    data: ProjectInput
    place: Place
    neighbourhood_ids: list[int]


async def check_input(session: AsyncSession, cache: territory.TerritoryIndexCache, data: ProjectInput) -> Checked:
    """Every rule of a project's input, before anything is stored."""
    data.title = _text(data.title, MAX_TITLE, "title")
    data.title_en = _text(data.title_en, MAX_TITLE, "title_en", required=False)
    data.description = _text(data.description, MAX_TEXT, "description", required=False)
    data.description_en = _text(data.description_en, MAX_TEXT, "description_en", required=False)
    if data.theme not in THEME_LABELS:
        raise ProjectError(N_("Choose a theme from the list."), field="theme")
    if data.phase not in PHASE_LABELS:
        raise ProjectError(N_("Choose a phase from the list."), field="phase")
    for item in data.phases:
        if item.kind not in PHASE_LABELS:
            raise ProjectError(N_("Choose a phase from the list."), field="phases")
        if item.ends_on is not None and item.ends_on < item.starts_on:
            raise ProjectError(N_("A phase cannot end before it starts."), field="phases")
    if data.budget_cents is not None and not 0 <= data.budget_cents <= MAX_BUDGET_CENTS:
        raise ProjectError(N_("The budget is a positive amount in euros."), field="budget")
    if data.department_id is not None and data.department_id not in await people.department_names(session):
        raise ProjectError(N_("Unknown department."), field="department")
    if data.process_id is not None:
        await participation.get_process(session, data.process_id)
    data.proposal_ids = sorted(set(data.proposal_ids))
    for proposal_id in data.proposal_ids:
        await participation.get_proposal(session, proposal_id)
    place = place_of(data.geometry)
    neighbourhood_ids = await territory.neighbourhoods_of(session, cache, place.geometry)
    if neighbourhood_ids is None:
        raise ProjectError(OUTSIDE_CITY, field="geometry")
    return Checked(data, place, neighbourhood_ids)


def _fill(project: Project, checked: Checked) -> None:
    data, place = checked.data, checked.place
    project.title, project.title_en = data.title, data.title_en
    project.description, project.description_en = data.description, data.description_en
    project.theme, project.phase = data.theme, data.phase
    project.geometry = place.geojson
    project.geometry_simple = place.simple
    project.min_lon, project.min_lat, project.max_lon, project.max_lat = place.bounds
    project.lon, project.lat = place.lon, place.lat
    project.budget_cents = data.budget_cents
    project.department_id = data.department_id
    project.process_id = data.process_id
    project.proposal_ids = data.proposal_ids
    project.demo = data.demo
    project.starts_on = min((item.starts_on for item in data.phases), default=None)
    ends = [item.ends_on for item in data.phases]
    project.ends_on = None if not ends or None in ends else max(end for end in ends if end is not None)
    project.updated_at = utcnow()


async def store_checked(session: AsyncSession, checked: Checked, project: Project | None = None) -> Project:
    """Writes a checked input: a new project, or over `project` (its phases and neighbourhoods replaced)."""
    if project is None:
        project = Project()
        _fill(project, checked)
        session.add(project)
        await session.flush()
    else:
        _fill(project, checked)
        await session.execute(delete(ProjectPhase).where(ProjectPhase.project_id == project.id))
        await session.execute(delete(ProjectNeighbourhood).where(ProjectNeighbourhood.project_id == project.id))
    for position, item in enumerate(sorted(checked.data.phases, key=lambda phase: phase.starts_on)):
        session.add(
            ProjectPhase(
                project_id=project.id, kind=item.kind, starts_on=item.starts_on, ends_on=item.ends_on, position=position
            )
        )
    for neighbourhood_id in checked.neighbourhood_ids:
        session.add(ProjectNeighbourhood(project_id=project.id, neighbourhood_id=neighbourhood_id))
    await session.flush()
    await bump_map_version(session)
    return project


async def create_project(
    session: AsyncSession, cache: territory.TerritoryIndexCache, staff: Person, data: ProjectInput
) -> Project:
    _require_staff(staff)
    return await store_checked(session, await check_input(session, cache, data))


async def edit_project(
    session: AsyncSession, cache: territory.TerritoryIndexCache, staff: Person, project_id: int, data: ProjectInput
) -> Project:
    _require_staff(staff)
    project = await get_project(session, project_id)
    return await store_checked(session, await check_input(session, cache, data), project)


async def get_project(session: AsyncSession, project_id: int) -> Project:
    project = await session.get(Project, project_id)
    if project is None:
        raise ProjectError(UNKNOWN_PROJECT, kind="not_found")
    return project


async def phases_of(session: AsyncSession, project_id: int) -> list[ProjectPhase]:
    query = select(ProjectPhase).where(ProjectPhase.project_id == project_id).order_by(ProjectPhase.position)
    return list((await session.execute(query)).scalars())


async def neighbourhood_ids_of(session: AsyncSession, project_id: int) -> tuple[int, ...]:
    query = select(ProjectNeighbourhood.neighbourhood_id).where(ProjectNeighbourhood.project_id == project_id)
    return tuple(sorted(int(row) for row in (await session.execute(query)).scalars()))


# --- documents ----------------------------------------------------------------------------------


def prepare_document(data: bytes, filename: str, content_type: str) -> tuple[bytes, str]:
    """The bytes to store and their media type: a PDF as sent (it must be one), an image re-encoded without
    metadata. What the file says it is never decides alone: a "PDF" is read for its signature."""
    if not data:
        raise ProjectError(NOT_A_DOCUMENT, field="document")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ProjectError(DOCUMENT_TOO_LARGE, field="document")
    claims_pdf = filename.lower().endswith(".pdf") or content_type.lower().startswith("application/pdf")
    if data.startswith(PDF_MAGIC):
        return data, "application/pdf"
    if claims_pdf:
        raise ProjectError(NOT_A_PDF, field="document")
    try:
        photo = prepare_photo(data)
    except PhotoError as error:
        if error.message == N_("This file is not a photo (JPEG, PNG, WebP or HEIC)."):
            raise ProjectError(NOT_A_DOCUMENT, field="document") from error
        raise ProjectError(error.message, field="document") from error
    return photo.content, photo.media_type


async def add_document(
    session: AsyncSession, staff: Person, project_id: int, title: str, data: bytes, filename: str, content_type: str
) -> ProjectDocument:
    """A document checked and stored (`prepare_document`, then `store_document`)."""
    return await store_document(
        session, staff, project_id, title or filename, prepare_document(data, filename, content_type)
    )


async def store_document(
    session: AsyncSession, staff: Person, project_id: int, title: str, prepared: tuple[bytes, str]
) -> ProjectDocument:
    """Stores what `prepare_document` made (pages prepare it in a thread: re-encoding an image takes time)."""
    _require_staff(staff)
    await get_project(session, project_id)
    content, media_type = prepared
    document = ProjectDocument(
        project_id=project_id,
        title=_text(title, MAX_TITLE, "title"),
        media_type=media_type,
        size=len(content),
        content=content,
    )
    session.add(document)
    await session.flush()
    return document


@dataclass(frozen=True)
class DocumentInfo:
    id: int
    title: str
    media_type: str
    size: int

    @property
    def is_pdf(self) -> bool:
        return self.media_type == "application/pdf"


async def documents_of(session: AsyncSession, project_id: int) -> list[DocumentInfo]:
    """A project's documents without their content."""
    query = (
        select(ProjectDocument.id, ProjectDocument.title, ProjectDocument.media_type, ProjectDocument.size)
        .where(ProjectDocument.project_id == project_id)
        .order_by(ProjectDocument.id)
    )
    return [DocumentInfo(row.id, row.title, row.media_type, row.size) for row in (await session.execute(query)).all()]


async def get_document(session: AsyncSession, project_id: int, document_id: int) -> ProjectDocument:
    document = await session.get(ProjectDocument, document_id)
    if document is None or document.project_id != project_id:
        raise ProjectError(N_("Unknown document."), kind="not_found")
    return document


# --- updates, questions and answers -------------------------------------------------------------


async def post_update(
    session: AsyncSession, staff: Person, project_id: int, body: str, body_en: str = ""
) -> ProjectUpdate:
    """Staff news on a project; its followers (and, through the event, its neighbourhoods') are told."""
    _require_staff(staff)
    project = await get_project(session, project_id)
    item = ProjectUpdate(
        project_id=project.id,
        body=_text(body, MAX_TEXT, "body"),
        body_en=_text(body_en, MAX_TEXT, "body_en", required=False),
        author_id=staff.id,
    )
    session.add(item)
    project.updated_at = utcnow()
    await session.flush()
    neighbourhoods = await neighbourhood_ids_of(session, project.id)
    await announce(
        session, ProjectUpdatePosted(project_id=project.id, update_id=item.id, neighbourhood_ids=neighbourhoods)
    )
    return item


async def updates_of(session: AsyncSession, project_id: int) -> list[ProjectUpdate]:
    query = (
        select(ProjectUpdate)
        .where(ProjectUpdate.project_id == project_id)
        .order_by(ProjectUpdate.created_at.desc(), ProjectUpdate.id.desc())
    )
    return list((await session.execute(query)).scalars())


async def ask_question(session: AsyncSession, person: Person, project_id: int, body: str) -> ProjectQuestion:
    """A citizen's public question; the asker follows the project from then on (to hear the answer)."""
    await get_project(session, project_id)
    question = ProjectQuestion(project_id=project_id, author_id=person.id, body=_text(body, MAX_QUESTION, "question"))
    session.add(question)
    await session.flush()
    await follow(session, person, project_id)
    return question


async def answer_question(session: AsyncSession, staff: Person, question_id: int, answer: str) -> ProjectQuestion:
    """The department's public answer; the asker and the project's followers are told."""
    _require_staff(staff)
    question = await session.get(ProjectQuestion, question_id)
    if question is None:
        raise ProjectError(N_("Unknown question."), kind="not_found")
    question.answer = _text(answer, MAX_TEXT, "answer")
    question.answered_at = utcnow()
    question.answered_by_id = staff.id
    await session.flush()
    neighbourhoods = await neighbourhood_ids_of(session, question.project_id)
    event = ProjectQuestionAnswered(
        project_id=question.project_id, question_id=question.id, neighbourhood_ids=neighbourhoods
    )
    await announce(session, event)
    return question


async def questions_of(session: AsyncSession, project_id: int, unanswered_only: bool = False) -> list[ProjectQuestion]:
    query = select(ProjectQuestion).where(ProjectQuestion.project_id == project_id)
    if unanswered_only:
        query = query.where(ProjectQuestion.answered_at.is_(None))
    return list((await session.execute(query.order_by(ProjectQuestion.created_at, ProjectQuestion.id))).scalars())


async def unanswered_questions(session: AsyncSession, limit: int = 200) -> list[tuple[ProjectQuestion, Project]]:
    """The staff's queue: questions waiting for an answer, oldest first."""
    query = (
        select(ProjectQuestion, Project)
        .join(Project, Project.id == ProjectQuestion.project_id)
        .where(ProjectQuestion.answered_at.is_(None))
        .order_by(ProjectQuestion.created_at, ProjectQuestion.id)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]


# --- feedback and its moderation ----------------------------------------------------------------


async def give_feedback(
    session: AsyncSession, person: Person, project_id: int, kind: str, body: str
) -> ProjectFeedback:
    """ "Useful", or "worried about…" with what worries (required); shown at once, moderated after flags."""
    await get_project(session, project_id)
    if kind not in FEEDBACK_LABELS:
        raise ProjectError(N_("Choose useful or worried."), field="kind")
    text = _text(body, MAX_FEEDBACK, "body", required=kind == FeedbackKind.WORRIED)
    item = ProjectFeedback(project_id=project_id, author_id=person.id, kind=kind, body=text)
    session.add(item)
    await session.flush()
    return item


async def flag_feedback(session: AsyncSession, person: Person, feedback_id: int) -> ProjectFeedback:
    """One flag per person; the moderators' queue lists flagged feedback."""
    item = await session.get(ProjectFeedback, feedback_id)
    if item is None or item.hidden_at is not None:
        raise ProjectError(N_("Unknown feedback."), kind="not_found")
    try:
        async with session.begin_nested():
            session.add(ProjectFeedbackFlag(feedback_id=item.id, person_id=person.id))
    except IntegrityError:
        return item  # flagged already: once is enough
    await session.execute(
        update(ProjectFeedback).where(ProjectFeedback.id == item.id).values(flag_count=ProjectFeedback.flag_count + 1)
    )
    await session.refresh(item)
    return item


async def hide_feedback(session: AsyncSession, moderator: Person, feedback_id: int, reason: str) -> ProjectFeedback:
    """Hidden with a public reason that replaces the text (as comments are)."""
    if not is_moderator(moderator):
        raise ProjectError(N_("Only moderators may do this."), kind="forbidden")
    item = await session.get(ProjectFeedback, feedback_id)
    if item is None:
        raise ProjectError(N_("Unknown feedback."), kind="not_found")
    item.hidden_reason = _text(reason, MAX_REASON, "reason")
    item.hidden_at = utcnow()
    item.hidden_by_id = moderator.id
    await session.flush()
    return item


async def feedback_of(session: AsyncSession, project_id: int) -> list[ProjectFeedback]:
    query = (
        select(ProjectFeedback)
        .where(ProjectFeedback.project_id == project_id)
        .order_by(ProjectFeedback.created_at.desc(), ProjectFeedback.id.desc())
    )
    return list((await session.execute(query)).scalars())


async def flagged_feedback(session: AsyncSession, limit: int = 200) -> list[ProjectFeedback]:
    query = (
        select(ProjectFeedback)
        .where(ProjectFeedback.flag_count > 0, ProjectFeedback.hidden_at.is_(None))
        .order_by(ProjectFeedback.flag_count.desc(), ProjectFeedback.id)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


# --- follows and who is told --------------------------------------------------------------------


async def follow(session: AsyncSession, person: Person, project_id: int) -> None:
    await get_project(session, project_id)
    if not await is_following(session, person.id, project_id):
        session.add(ProjectFollow(project_id=project_id, person_id=person.id))
        await session.flush()


async def unfollow(session: AsyncSession, person: Person, project_id: int) -> None:
    await session.execute(
        delete(ProjectFollow).where(ProjectFollow.project_id == project_id, ProjectFollow.person_id == person.id)
    )


async def is_following(session: AsyncSession, person_id: int, project_id: int) -> bool:
    query = select(ProjectFollow.id).where(ProjectFollow.project_id == project_id, ProjectFollow.person_id == person_id)
    return (await session.execute(query)).first() is not None


async def followers(session: AsyncSession, project_id: int) -> set[int]:
    query = select(ProjectFollow.person_id).where(ProjectFollow.project_id == project_id)
    return {int(row) for row in (await session.execute(query)).scalars()}


async def follower_count(session: AsyncSession, project_id: int) -> int:
    query = select(func.count()).where(ProjectFollow.project_id == project_id)
    return int((await session.execute(query)).scalar_one())


def _quoted(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def _tell(
    session: AsyncSession,
    person_ids: set[int],
    wording: Callable[[Callable[[str], str], str], str],
    link: str,
    body: Callable[[str], str],
) -> None:
    """Each active person told in the app, in French and English (`wording(gettext, locale)`): the notification
    page shows the title in its own language; `body(locale)` in the person's language. Those who consented
    also find it in their daily e-mail."""
    french, english = notifications.in_both_languages(wording)
    recipients = await people.active_recipients(session, sorted(person_ids))
    for recipient in recipients:
        await notifications.notify(session, recipient.id, french, body(recipient.locale), link, title_en=english)
    # Following puts it in the daily e-mail of those who consented, as every followed thing's news.
    await announce(session, FollowedNewsTold(tuple(recipient.id for recipient in recipients), french, english, link))


async def _on_update_posted(session: AsyncSession, event: ProjectUpdatePosted) -> None:
    project = await session.get(Project, event.project_id)
    item = await session.get(ProjectUpdate, event.update_id)
    if project is None or item is None:
        return
    told = await followers(session, project.id)
    told.discard(item.author_id or 0)

    def wording(_: Callable[[str], str], locale: str) -> str:
        return _("News of the project “%(title)s”") % {"title": _quoted(project.label(locale))}

    def body(locale: str) -> str:
        # The update in the reader's language when staff wrote it in English too.
        return _quoted(localized(locale, item.body, item.body_en), 300)

    await _tell(session, told, wording, f"/projects/{project.id}#updates", body)


async def _on_question_answered(session: AsyncSession, event: ProjectQuestionAnswered) -> None:
    project = await session.get(Project, event.project_id)
    question = await session.get(ProjectQuestion, event.question_id)
    if project is None or question is None:
        return
    told = await followers(session, project.id)
    if question.author_id is not None:
        told.add(question.author_id)
    told.discard(question.answered_by_id or 0)

    def wording(_: Callable[[str], str], locale: str) -> str:
        return _("A question on the project “%(title)s” was answered") % {"title": _quoted(project.label(locale))}

    link = f"/projects/{project.id}#question-{question.id}"
    await _tell(session, told, wording, link, lambda _locale: _quoted(question.answer, 300))


def register_subscribers(hub: EventHub) -> None:
    """Followers of a project hear its updates and answers in the transaction that posts them (app build)."""
    hub.subscribe_in_transaction(ProjectUpdatePosted, _on_update_posted)
    hub.subscribe_in_transaction(ProjectQuestionAnswered, _on_question_answered)
